"""Shared test fixtures: where the test data lives.

- ``golden``: the project's own golden data, ``tests/data/golden`` (in the repository; see its
  README for provenance). Always present.
- ``adobe_lists``: the Adobe release's real name lists. They are the release's own files and are
  not in the repository: ``MATBENCH_ADOBE_LISTS``, else ``../shared/adobe-lists`` beside the
  checkout (present in CI). Tests that need them skip with the reason when absent.
- ``sim_lists``: the SIM authors' test file list, likewise (``MATBENCH_SIM_LISTS``, else
  ``../shared/sim-lists``).
"""
import os
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
