"""The README is executed, so it cannot drift from the code.

Every fenced ```bash block runs as shell commands (``bash -e -o pipefail``) and every ```python
block as a Python program, as written, in document order, in one temporary working folder;
```console and ```text blocks (installs, the test command itself, GPU or hour-long jobs) are not
run. The harness adapts only that folder: it holds the placeholder paths of the README
conventions, made from the built-in sample release and synthetic weights:

    data/Adobe               the sample release (Combined_Dataset/{Test_set,Training_set})
    data/VOCdevkit           VOCdevkit/VOC2012/JPEGImages: the sample's VOC-named backgrounds
                             (and the SIM split's, once data/SIMD is made)
    data/coco/train2014      the sample's COCO-named backgrounds
    data/dim_stage3.pth      DIM stage 3 in the published layout (golden dim/make_weights.py, seed 5)
    data/vgg16.pth           a torchvision-layout VGG16 state dict of random tensors
    data/SIMD, data/SIMD_composition_test_filelist.txt   the sample's SIM split
                             (``matbench.datasets.sample_sim.make_sample_sim``)

A placeholder is made when a block first names it; a block that names one that cannot be made
here (no torch) is skipped with the reason. The sample is small (64 px; 1
background per test foreground, 2 per training one) so that the README's commands, which build,
predict and score on it, take seconds; they need no `--bgs-per-fg` (the default comes from the
release's lists), so the same commands work on the real release.
"""
import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
GOLDEN_DIM = REPO / "tests" / "data" / "golden" / "dim"
FENCE = re.compile(r"^```([\w+-]*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
RUN = ("bash", "python")
SKIP = ("console", "text")
PLACEHOLDER = re.compile(r"(?<![\w/.~-])data/[\w.-]+(?:/[\w.-]+)*")  # data/... not inside another path
SAMPLE = {"size": 64, "bgs_per_fg": 1, "train_bgs_per_fg": 2}
TIMEOUT = 600


def readme_blocks(text: str | None = None) -> list[tuple[str, int, str]]:
    """``(language, first line number, code)`` of every fenced block of the README."""
    text = README.read_text(encoding="utf-8") if text is None else text
    return [(m.group(1), text.count("\n", 0, m.start()) + 1, m.group(2)) for m in FENCE.finditer(text)]


def _runnable():
    return [(lang, line, code) for lang, line, code in readme_blocks() if lang in RUN]


# ----------------------------------------------------------------------------- placeholder paths

def _torch(why):
    try:
        import torch
    except ImportError:
        pytest.skip(f"{why} needs torch, which is not installed (pip install -e '.[dim]')")
    return torch


def _make_sample(data: Path) -> None:
    from matbench.datasets.sample import make_sample_release

    rel = make_sample_release(data.parent / "sample-release", **SAMPLE)
    (data / "Adobe").symlink_to(rel.adobe_root, target_is_directory=True)
    _link_files(rel.voc_root / "JPEGImages", data / VOC_JPEGS)
    (data / "coco").mkdir()
    (data / "coco" / "train2014").symlink_to(rel.coco_root, target_is_directory=True)


def _make_dim_stage3(data: Path) -> None:
    torch = _torch("data/dim_stage3.pth")
    spec = importlib.util.spec_from_file_location("make_weights", GOLDEN_DIM / "make_weights.py")
    mw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mw)
    sd = mw.make_state_dict(str(GOLDEN_DIM / "keys_stage3.tsv"), 5)
    torch.save({"state_dict": sd, "meta": {}}, data / "dim_stage3.pth")


VGG16_FEATURES = ((0, 3, 64), (2, 64, 64), (5, 64, 128), (7, 128, 128), (10, 128, 256), (12, 256, 256),
                  (14, 256, 256), (17, 256, 512), (19, 512, 512), (21, 512, 512), (24, 512, 512),
                  (26, 512, 512), (28, 512, 512))
VGG16_CLASSIFIER = ((0, 25088, 4096), (3, 4096, 4096), (6, 4096, 1000))


def make_vgg16_state_dict(torch, seed: int = 0) -> dict:
    """torchvision's VGG16 keys and shapes (``features.{0,2,...,28}``, ``classifier.{0,3,6}``),
    random He-scaled conv weights. The classifier (123.6 M values, unused by matting encoders) is
    a constant stored once per tensor (stride-0 views), so the file stays ~59 MB."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for i, cin, cout in VGG16_FEATURES:
        sd[f"features.{i}.weight"] = torch.randn(cout, cin, 3, 3, generator=g) * (2 / (9 * cin)) ** 0.5
        sd[f"features.{i}.bias"] = 0.01 * torch.randn(cout, generator=g)
    for i, fin, fout in VGG16_CLASSIFIER:
        sd[f"classifier.{i}.weight"] = torch.full((1, 1), 0.01).expand(fout, fin)
        sd[f"classifier.{i}.bias"] = torch.zeros(fout)
    return sd


def _make_vgg16(data: Path) -> None:
    torch = _torch("data/vgg16.pth")
    torch.save(make_vgg16_state_dict(torch), data / "vgg16.pth")


def _make_sim(data: Path) -> None:
    """The sample's SIM split; its VOC backgrounds (2008_*.jpg) join the Adobe sample's in
    data/VOCdevkit, as both test sets draw from one VOC folder."""
    from matbench.datasets.sample_sim import make_sample_sim

    sim = make_sample_sim(data.parent / "sample-sim")
    (data / "SIMD").symlink_to(sim.simd_root.resolve(), target_is_directory=True)
    (data / "SIMD_composition_test_filelist.txt").symlink_to(sim.file_list.resolve())
    _link_files(sim.voc_root / "VOC2012" / "JPEGImages", data / VOC_JPEGS)


def _link_files(src: Path, dst: Path) -> None:
    """Symlink every file of ``src`` into the folder ``dst`` (made when missing)."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.iterdir()):
        (dst / f.name).symlink_to(f.resolve())


VOC_JPEGS = Path("VOCdevkit") / "VOC2012" / "JPEGImages"
MAKERS = {
    "data/Adobe": _make_sample, "data/VOCdevkit": _make_sample, "data/coco": _make_sample,
    "data/dim_stage3.pth": _make_dim_stage3, "data/vgg16.pth": _make_vgg16,
    "data/SIMD": _make_sim, "data/SIMD_composition_test_filelist.txt": _make_sim,
}


def _placeholder(path: str) -> str | None:
    """The placeholder a ``data/...`` path of the README lies in (``data/Adobe/Combined_Dataset``
    -> ``data/Adobe``), or None for a path the README conventions do not provide."""
    parts = path.split("/")
    for n in (2, 3):
        if "/".join(parts[:n]) in MAKERS:
            return "/".join(parts[:n])
    return None


class Workspace:
    """The temporary working folder; blocks run there in README order, each at most once."""

    def __init__(self, root: Path):
        self.root = root
        (root / "data").mkdir()
        self.made: dict[str, str | None] = {}  # maker name -> skip reason (None: made)
        self.results: dict[int, tuple] = {}  # block line -> ("passed" | "skipped" | "failed", text)
        self.env = dict(os.environ)
        bindir = Path(sys.executable).parent
        path = [str(bindir)]
        if shutil.which("matbench", path=str(bindir)) is None:  # an interpreter without the entry point
            shim = root / ".bin"
            shim.mkdir()
            (shim / "matbench").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m matbench.cli "$@"\n')
            (shim / "matbench").chmod(0o755)
            path.insert(0, str(shim))
        self.env["PATH"] = os.pathsep.join(path + [self.env.get("PATH", "")])
        self.env.pop("PYTHONPATH", None)

    def need(self, code: str) -> str | None:
        """Make the placeholders ``code`` names; the reason to skip it, or None."""
        for path in sorted(set(PLACEHOLDER.findall(code))):
            name = _placeholder(path)
            if name is None:
                continue
            maker = MAKERS[name]
            if maker.__name__ not in self.made:
                try:
                    maker(self.root / "data")
                    self.made[maker.__name__] = None
                except pytest.skip.Exception as e:
                    self.made[maker.__name__] = str(e.msg)
            if self.made[maker.__name__]:
                return self.made[maker.__name__]
        if re.search(r"\bmatbench run dim\b", code):
            try:
                import torch  # noqa: F401
            except ImportError:
                return "matbench run dim needs torch, which is not installed (pip install -e '.[dim]')"
        return None

    def run(self, lang: str, line: int, code: str) -> str | None:
        """Run one block, after the blocks above it (as a reader would); None when it passed,
        else the reason it was skipped. Raises AssertionError with its output when it failed."""
        for block in _runnable():
            if block[1] >= line:
                break
            if block[1] not in self.results:
                self._run_one(*block)
        if line not in self.results:
            self._run_one(lang, line, code)
        outcome, text = self.results[line]
        if outcome == "failed":
            raise AssertionError(text)
        return text

    def _run_one(self, lang: str, line: int, code: str) -> None:
        reason = self.need(code)
        if reason:
            self.results[line] = ("skipped", reason)
            return
        argv = ["bash", "-e", "-o", "pipefail", "-c", code] if lang == "bash" else [sys.executable, "-c", code]
        p = subprocess.run(argv, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=TIMEOUT)
        if p.returncode == 0:
            self.results[line] = ("passed", None)
        else:
            self.results[line] = ("failed", f"README.md line {line} ({lang} block) exited {p.returncode} in "
                                            f"{self.root}:\n{code}\n--- stdout (tail)\n{p.stdout[-3000:]}\n"
                                            f"--- stderr (tail)\n{p.stderr[-3000:]}")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return Workspace(tmp_path_factory.mktemp("readme"))


@pytest.mark.parametrize("lang,line,code", _runnable(), ids=[f"line{b[1]}-{b[0]}" for b in _runnable()])
def test_readme_block_runs_as_written(workspace, lang, line, code):
    reason = workspace.run(lang, line, code)
    if reason:
        pytest.skip(f"README line {line}: {reason}")


# ----------------------------------------------------------------------------- the README's promises

def test_quick_start_and_ci_run_the_same_test_command():
    """The quick start is two commands on a fresh clone; `.ci/run` runs exactly the second."""
    blocks = [code.strip() for lang, _, code in readme_blocks() if lang == "console"]
    demo, tests = "pip install -e . && matbench demo", "pip install -e '.[test]' && python -m pytest -q"
    assert demo in blocks and tests in blocks
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    assert ci[-1] == tests


def test_every_block_is_run_or_marked_not_to_run():
    langs = {lang for lang, _, _ in readme_blocks()}
    assert langs <= set(RUN) | set(SKIP) | {""}, langs - set(RUN) - set(SKIP)
    assert {"bash", "python"} <= langs


def test_readme_paths_are_the_conventions():
    """Every data/... path the runnable blocks use is one the harness provides."""
    unknown = {p for _, _, code in _runnable() for p in PLACEHOLDER.findall(code) if _placeholder(p) is None}
    assert not unknown, f"README uses data/ paths the conventions do not provide: {sorted(unknown)}"


def test_the_harness_reads_fences_as_github_does():
    text = "a\n```bash\nmatbench verify x\n```\n```console\npip install -e .\n```\n```python\nprint(1)\n```\n"
    assert readme_blocks(text) == [("bash", 2, "matbench verify x\n"), ("console", 5, "pip install -e .\n"),
                                   ("python", 8, "print(1)\n")]


def test_vgg16_placeholder_has_torchvisions_layout():
    torch = _torch("the VGG16 placeholder")
    sd = make_vgg16_state_dict(torch)
    # torchvision.models.vgg16(): 13 convs and 3 linear layers, 138,357,544 parameters
    assert len(sd) == 32 and sum(v.numel() for v in sd.values()) == 138_357_544
    assert sd["features.0.weight"].shape == (64, 3, 3, 3) and sd["classifier.6.weight"].shape == (1000, 4096)
