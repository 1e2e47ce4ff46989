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
alpha_sha256, fg_sha256, bg_sha256, trimap_sha256
            sha256 of the decoded pixels of ``alpha``, ``fg_path``, ``bg_path``,
            ``trimap`` (empty when the path is)
=========== ===================================================================

The SIM test set (``matbench.build_sim``) uses the same columns: ``image`` is
``<fg stem>_<bg stem>``, ``fg_folder`` and ``class`` the class of the file list, ``k`` the
composite's index among its foreground's lines, ``width``/``height`` the size after the
script's size normalisation, and ``alpha``/``trimap`` one file per composite.

Hashes (the convention every builder follows, and what ``matbench verify`` checks):
:data:`HASH_COLUMNS` maps each path column to its hash column and to how the file's pixels
are read before hashing: ``"rgb"`` as H×W×3 uint8 RGB (:func:`matbench.io.read_rgb8`),
``"matte"`` as H×W uint8 by the one matte rule (:func:`matbench.mattes.read_matte`). The
hash is sha256 of those bytes, row-major (:func:`decoded_sha256`), so it does not depend on
the PNG encoder. The composite keeps its historical column ``sha256``; every other path
column ``X`` has ``<X without _path>_sha256``. A builder that adds a path column adds its
entry here, and ``verify`` checks it with no other change. Manifests written before the
per-file hashes (matbench 0.1.0 before issue 11) have only ``sha256``: ``verify`` refuses
them with a one-line message; rerunning the same build command resumes, hashes the files
as they are on disk and adds the columns.

``<dataset>/dataset.json`` holds the build's parameters (kind, bgs per fg, trimap
source, ``matte_channel``, matbench version).
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from matbench.errors import MatbenchError
from matbench.io import write_text_atomic

MANIFEST_NAME = "manifest.csv"
# path column -> (its hash column, how its pixels are read: "rgb" or "matte")
HASH_COLUMNS = {
    "merged": ("sha256", "rgb"),
    "alpha": ("alpha_sha256", "matte"),
    "fg_path": ("fg_sha256", "rgb"),
    "bg_path": ("bg_sha256", "rgb"),
    "trimap": ("trimap_sha256", "matte"),
}
COLUMNS = [
    "split", "image", "fg", "fg_folder", "bg", "k", "width", "height", "bg_width",
    "bg_height", "ratio", "merged", "alpha", "fg_path", "bg_path", "trimap", "class", "sha256",
    "alpha_sha256", "fg_sha256", "bg_sha256", "trimap_sha256",
]


def pixels_of(path, kind: str):
    """The pixels of ``path`` as hashed for a column of ``kind`` (see :data:`HASH_COLUMNS`)."""
    if kind == "rgb":
        from matbench.io import read_rgb8

        return read_rgb8(path)
    from matbench.mattes import read_matte

    return read_matte(path)


def decoded_sha256(path, kind: str) -> str:
    """sha256 of the decoded pixels of ``path`` read as ``kind`` (``"rgb"`` or ``"matte"``);
    MatbenchError when the file cannot be read so."""
    from matbench.compose import pixels_sha256

    return pixels_sha256(pixels_of(path, kind))


def expected_sha256(root, rows, columns) -> dict[str, str]:
    """``{str(root / path): recorded sha256}`` of the files of ``columns`` (path columns of
    :data:`HASH_COLUMNS`) in the manifest ``rows`` of the dataset ``root``; files without a
    recorded hash (a manifest of an older matbench) are left out. What ``score --dataset``
    and ``run --dataset`` check every reference file they decode against
    (:func:`changed_since_build`)."""
    out = {}
    for row in rows:
        for col in columns:
            sha = row.get(HASH_COLUMNS[col][0])
            if row.get(col) and sha:
                out[str(Path(root) / row[col])] = sha
    return out


def changed_since_build(path, pixels, expected: dict | None) -> bool:
    """Whether ``pixels`` (the array already decoded from ``path``: H×W uint8 matte or H×W×3
    uint8 RGB, read as :func:`pixels_of` reads its column) differ from the sha256 the manifest
    records for ``path`` in ``expected`` (:func:`expected_sha256`); False when none is
    recorded. The hash is :func:`decoded_sha256`'s, on the array given: nothing is decoded
    again."""
    sha = (expected or {}).get(str(path))
    if not sha:
        return False
    from matbench.compose import pixels_sha256

    try:  # a file already found intact in this process (e.g. an alpha shared by 20 composites)
        st = os.stat(path)
        key = (str(path), st.st_mtime_ns, st.st_size, sha)
    except OSError:
        key = None
    if key is not None and key in _INTACT:
        return False
    changed = pixels_sha256(pixels) != sha
    if key is not None and not changed:
        _INTACT.add(key)
    return changed


# (path, mtime_ns, size, sha256) of reference files whose pixels matched their manifest hash in
# this process: Composition-1K reads each alpha for 20 composites; hashing it once is enough
# while the file is unchanged (a rewrite changes its mtime or size)
_INTACT: set = set()


def changed_advice(root, changed) -> str:
    """The end of the one-line error for reference files of the dataset ``root`` that differ from
    its manifest (:func:`changed_since_build`): how to check the whole dataset and repair it."""
    from matbench.build import repair_advice

    return f"matbench verify {root} checks every file of the dataset; {repair_advice(Path(root), [], list(changed))}"


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


def read_dataset_json(root) -> dict | None:
    """The build record ``root/dataset.json`` (kind, counts, trimap source, ``matte_channel``,
    ...) as a dict; None when it is absent, unreadable or not a JSON object. The one reader of
    that file (score's provenance, the resume check of the builders, the training data's kind)."""
    try:
        data = json.loads((Path(root) / "dataset.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def manifest_sha256(root) -> str | None:
    """The identity of the dataset ``root``: sha256 of its ``manifest.csv`` file (which holds the
    decoded-pixel hashes of every file), None when there is none or it is unreadable. Every check
    that two datasets are the same compares this (``run`` resuming, ``score`` against a
    ``run.json``, ``report --dataset``, ``trimap`` resuming); a path is only informative, so a
    copied or moved dataset is the same dataset."""
    from matbench.io import file_sha256

    try:
        return file_sha256(Path(root) / MANIFEST_NAME)
    except OSError:
        return None


def read_manifest(root) -> list[dict]:
    """Rows of ``root/manifest.csv`` as dicts of strings, in file order."""
    path = Path(root) / MANIFEST_NAME
    if Path(root).is_file():
        raise MatbenchError(f"{root}: is a file, not a dataset folder (give the folder that holds {MANIFEST_NAME})")
    if not Path(root).is_dir():
        raise MatbenchError(f"{root}: dataset folder not found")
    if not path.is_file():
        raise MatbenchError(f"{path}: no manifest; is {root} a dataset built by matbench (matbench build-comp1k, "
                            f"build-train or build-sim --out {root})?")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("image", "merged", "alpha", "trimap") if c not in (reader.fieldnames or [])]
        if missing:
            raise MatbenchError(f"{path}: not a matbench manifest (missing columns {', '.join(missing)})")
        return list(reader)
