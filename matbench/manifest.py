"""The manifest of a built dataset: one row per composite, the contract between the
builders (``matbench.build``) and everything downstream (``run``, ``score``, ``verify``).

``<dataset>/manifest.csv`` columns (paths are POSIX, relative to the dataset folder; an
empty cell means "not written"):

=========== ===================================================================
split       ``test`` (Composition-style) or ``train``
image       the composite's name without extension, ``<fg stem>_<k>``; predictions
            are named ``<image>.png``
fg          foreground file name as in the release's name list
fg_folder   release folder it came from (``Adobe-licensed images`` or ``Other``)
bg          background file name as in the release's bg list
k           composite index 0..N-1 for this foreground
width       composite width (= fg width)
height      composite height
bg_width    background's original width
bg_height   background's original height
ratio       max(w/bw, h/bh) of the recipe; the bg was upscaled when > 1
merged      path of the composite PNG
alpha       path of the foreground's alpha PNG
fg_path     path of the foreground's RGB PNG
bg_path     path of the resized-and-cropped background PNG (training sets)
trimap      path of the composite's trimap PNG (test sets)
class       matting class of the foreground (empty when the release has none)
sha256      sha256 of the decoded merged pixels (H×W×3 uint8, row-major)
=========== ===================================================================

``<dataset>/dataset.json`` holds the build's parameters (kind, bgs per fg, trimap
source, matbench version).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from matbench.errors import MatbenchError
from matbench.io import write_text_atomic

MANIFEST_NAME = "manifest.csv"
COLUMNS = [
    "split", "image", "fg", "fg_folder", "bg", "k", "width", "height", "bg_width",
    "bg_height", "ratio", "merged", "alpha", "fg_path", "bg_path", "trimap", "class", "sha256",
]


def write_manifest(root, rows, columns=COLUMNS) -> Path:
    """Write ``rows`` (dicts with the ``columns`` keys) to ``root/manifest.csv`` atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    path = Path(root) / MANIFEST_NAME
    write_text_atomic(path, buf.getvalue())
    return path


def read_manifest(root) -> list[dict]:
    """Rows of ``root/manifest.csv`` as dicts of strings, in file order."""
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        raise MatbenchError(f"{path}: no manifest; is {root} a dataset built by matbench?")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("image", "merged", "alpha", "trimap") if c not in (reader.fieldnames or [])]
        if missing:
            raise MatbenchError(f"{path}: not a matbench manifest (missing columns {', '.join(missing)})")
        return list(reader)
