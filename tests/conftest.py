"""Shared test fixtures: where the golden data lives.

The golden data and the real Adobe name lists are in ``../shared`` beside the checkout (in CI
too); ``MATBENCH_SHARED`` overrides that. Tests read them there and never copy them into the
project.
"""
import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("MATBENCH_SHARED", Path(__file__).resolve().parents[2] / "shared"))
GOLDEN = SHARED / "golden"
ADOBE_LISTS = SHARED / "adobe-lists"


@pytest.fixture(scope="session")
def golden() -> Path:
    if not GOLDEN.is_dir():
        pytest.fail(f"golden data not found at {GOLDEN} (set MATBENCH_SHARED)")
    return GOLDEN


@pytest.fixture(scope="session")
def adobe_lists() -> Path:
    if not ADOBE_LISTS.is_dir():
        pytest.fail(f"Adobe name lists not found at {ADOBE_LISTS} (set MATBENCH_SHARED)")
    return ADOBE_LISTS
