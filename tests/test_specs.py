"""The specs the code cites ship with the repository (docs/specs/), and every citation names one
of them by its repository path."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "docs" / "specs"
CITING = ["matbench", "tests", "benchmarks", "notebooks", "manifests", "README.md", "CONTRIBUTING.md"]
SUFFIXES = {".py", ".md", ".csv", ".txt", ".ipynb", ".sh", ".toml"}


def _texts():
    for name in CITING:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES)
        for f in files:
            if f.is_file() and f != Path(__file__).resolve():
                yield f.relative_to(ROOT), f.read_text(encoding="utf-8", errors="replace")


def test_specs_ship_with_the_repository():
    assert sorted(p.name for p in SPECS.glob("*.md")) == [
        "README.md", "composition.md", "metrics.md", "sim.md", "training.md"]


def test_every_spec_citation_names_a_file_in_docs_specs():
    cited, bad = set(), []
    for rel, text in _texts():
        for m in re.finditer(r"[\w./-]*specs/[\w.-]+", text):
            ref = m.group(0)
            if not ref.startswith("docs/specs/"):
                bad.append(f"{rel}: {ref}")
            elif not (ROOT / ref).is_file():
                bad.append(f"{rel}: {ref} (no such file)")
            else:
                cited.add(ref)
    assert not bad, bad
    assert {"docs/specs/metrics.md", "docs/specs/composition.md", "docs/specs/sim.md",
            "docs/specs/training.md"} <= cited


def test_specs_are_the_shared_specs_unchanged():
    shared = ROOT.parent / "shared" / "specs"
    if not shared.is_dir():
        pytest.skip(f"{shared} absent (a clone alone): nothing to compare the copies with")
    for src in sorted(shared.glob("*.md")):
        assert (SPECS / src.name).read_bytes() == src.read_bytes(), src.name
