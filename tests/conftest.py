"""Shared test fixtures: where the test data lives.

- ``golden``: the project's own golden data, ``tests/data/golden`` (in the repository; see its
  README for provenance). Always present.
- ``adobe_lists``: the Adobe release's real name lists. They are the release's own files and are
  not in the repository: ``MATBENCH_ADOBE_LISTS``, else ``../shared/adobe-lists`` beside the
  checkout (present in CI). Tests that need them skip with the reason when absent.
- ``sim_lists``: the SIM authors' test file list, likewise (``MATBENCH_SIM_LISTS``, else
  ``../shared/sim-lists``).
- ``small_dataset``: a Composition-style dataset built from the built-in sample release (10
  foregrounds × 1 background, 128 px; the sample's official trimaps), made once per session.

Tests write only in temporary folders: the session compares the repository's
``git status --porcelain --ignored`` before and after (caches excepted, see
:func:`repository_entries`) and fails when a test, the demo, the notebook or a README block
left anything new inside the repository.
"""
import os
import subprocess
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "data" / "golden"
SHARED = REPO.parent / "shared"
ADOBE_LISTS = Path(os.environ.get("MATBENCH_ADOBE_LISTS") or SHARED / "adobe-lists")
SIM_LISTS = Path(os.environ.get("MATBENCH_SIM_LISTS") or SHARED / "sim-lists")


@pytest.fixture(scope="session")
def golden() -> Path:
    return GOLDEN


def _external(folder: Path, what: str, env: str, probe: str) -> Path:
    if not (folder / probe).is_file():
        pytest.skip(f"{what} not found at {folder} (not in the repository: set {env} to the folder "
                    f"holding {probe})")
    return folder


@pytest.fixture(scope="session")
def adobe_lists() -> Path:
    return _external(ADOBE_LISTS, "the Adobe release's name lists", "MATBENCH_ADOBE_LISTS", "training_bg_names.txt")


@pytest.fixture(scope="session")
def sim_lists() -> Path:
    return _external(SIM_LISTS, "the SIM test file list", "MATBENCH_SIM_LISTS", "SIMD_composition_test_filelist.txt")


# ----------------------------------------------------------------------------- nothing written in the repository

CACHES = {"__pycache__", ".pytest_cache", ".venv", "venv"}  # numba's cache lives in __pycache__


def repository_entries() -> set[str] | None:
    """``git status --porcelain --ignored`` lines of the repository (untracked, ignored and
    modified paths), without caches: ``__pycache__`` (Python's and numba's), ``.pytest_cache``,
    ``.venv``/``venv`` and ``*.egg-info``. None when this is not a git checkout or git is missing."""
    try:
        p = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--ignored"],
                           capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    if p.returncode != 0:
        return None
    entries = set()
    for line in p.stdout.splitlines():
        parts = line[3:].strip('"').rstrip("/").split("/")
        if CACHES.isdisjoint(parts) and not any(part.endswith(".egg-info") for part in parts):
            entries.add(line)
    return entries


@pytest.fixture
def repo_entries():
    """:func:`repository_entries`, for tests that check a writer themselves."""
    return repository_entries


_BEFORE = pytest.StashKey()
_WRITTEN = pytest.StashKey()


def pytest_sessionstart(session):
    session.config.stash[_BEFORE] = repository_entries()


def pytest_sessionfinish(session, exitstatus):
    before = session.config.stash.get(_BEFORE, None)
    after = repository_entries() if before is not None else None
    if after is not None and after - before:
        session.config.stash[_WRITTEN] = sorted(after - before)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    written = config.stash.get(_WRITTEN, None)
    if written:
        terminalreporter.section("written inside the repository", red=True)
        terminalreporter.line("the test session left these new entries in the repository (tests must write "
                              "under tmp_path; git status --porcelain --ignored):", red=True)
        for line in written:
            terminalreporter.line(f"  {line}", red=True)


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    from matbench.build import build_comp1k
    from matbench.datasets.sample import make_sample_release

    root = tmp_path_factory.mktemp("small-dataset")
    rel = make_sample_release(root / "release", size=128, bgs_per_fg=1, progress=False)
    build_comp1k(rel.adobe_root, rel.voc_root, root / "dataset", bgs_per_fg=1, trimaps="official", jobs=1,
                 progress=False)
    return root / "dataset"


@pytest.fixture(scope="session")
def golden_train_set(golden, tmp_path_factory) -> Path:
    """The DIM training set built from the golden fake release: 3 foregrounds × 5 COCO backgrounds
    (images under 200 px), with bg/."""
    from matbench.build import build_train

    src = golden / "composition" / "input"
    out = tmp_path_factory.mktemp("golden_train") / "train"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fake release's JPEG alphas, as Adobe's (tested in test_build)
        build_train(src / "adobe", src / "coco", out, bgs_per_fg=5, progress=False)
    return out
