"""Build Composition-1K and the DIM training set from the Adobe release, pixel-identical
to Adobe's composition script, and verify a built dataset.

``build_comp1k`` / ``build_train`` validate every input first (``matbench.datasets.adobe``),
then composite foreground by foreground (``matbench.compose``), optionally in parallel
with joblib. Each worker loads one foreground and its alpha once and composites its N
backgrounds; memory is one foreground's worth per worker. Every file is written
atomically, so a file under its final name is complete: a rerun after an interruption
(even ``kill -9``) removes stray temporary files, skips the composites whose files all
exist, and ends with the same files as an uninterrupted build, for any ``jobs``.

Output folder ``out``::

    merged/<fg stem>_<k>.png    the composites (8-bit RGB PNG)
    alpha/<fg stem>.png         one alpha per foreground (8-bit gray PNG)
    fg/<fg stem>.png            one foreground per foreground (8-bit RGB PNG)
    bg/<fg stem>_<k>.png        resized + cropped background (training; optional)
    trimaps/<fg stem>_<k>.png   one trimap per composite (test)
    manifest.csv                see matbench.manifest
    dataset.json                build parameters
    training_list.json | test_list.json   mmagic annotation lists (paths relative to out)

PNG encoding (:func:`matbench.io.encode_png`): OpenCV's libpng, zlib level ``DEFAULT_COMPRESS_LEVEL`` = 1
with the fixed "Up" row filter. PNG is lossless, so this changes file sizes and build time,
never pixels. On 1500×1000 photos, level 1 + Up encodes ~1.6× faster than level 1 with
libpng's adaptive filters, ~2.5× faster than level 3, ~7× faster than level 6, for files
~3 % larger than level 1 adaptive and ~20 % larger than level 6.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from functools import partial
from pathlib import Path

import numpy as np

from matbench import compose
from matbench.datasets.adobe import load_split
from matbench.errors import MatbenchError
from matbench.io import encode_png, open_image, read_rgb8, write_bytes_atomic, write_png_atomic, write_text_atomic
from matbench.manifest import MANIFEST_NAME, read_manifest, write_manifest
from matbench.parallel import imap, imap_unordered
from matbench.trimap import DEFAULT_TEST_KERNEL, generate

DEFAULT_COMPRESS_LEVEL = 1
OUTPUT_DIRS = ("merged", "alpha", "fg", "bg", "trimaps")


# ----------------------------------------------------------------------------- helpers

def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def check_out_folder(out, sources) -> Path:
    """Refuse an output folder inside (or equal to) a source folder, or one whose output
    subfolders would be a source or contain one."""
    out = Path(out).resolve()
    for src in sources:
        src = Path(src).resolve()
        if _is_within(out, src):
            raise MatbenchError(f"{out}: output folder is inside the source folder {src}; choose another --out")
        for sub in OUTPUT_DIRS:
            if _is_within(src, out / sub):
                raise MatbenchError(f"{out}: output subfolder {sub}/ would hold the source folder {src}")
    return out


def _remove_stray_temps(out: Path) -> None:
    """Delete temporary files left by an interrupted run (``.<name>.<random>.tmp``)."""
    for folder in (out, *(out / d for d in OUTPUT_DIRS)):
        try:
            entries = os.scandir(folder)
        except FileNotFoundError:
            continue
        with entries:
            for e in entries:
                if e.name.startswith(".") and e.name.endswith(".tmp") and e.is_file(follow_symlinks=False):
                    os.unlink(e.path)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _decoded_sha256(path: Path) -> str:

    return compose.pixels_sha256(read_rgb8(path))


def _old_rows(out: Path) -> dict[str, dict]:
    """Rows of a previous manifest in ``out`` (to skip re-hashing finished composites)."""

    if not (out / MANIFEST_NAME).is_file():
        return {}
    try:
        return {r["image"]: r for r in read_manifest(out)}
    except (MatbenchError, KeyError, ValueError, OSError):
        return {}


# ----------------------------------------------------------------------------- one foreground

def _build_foreground(task: dict) -> tuple[list[dict], list[str]]:
    """Composite one foreground onto its N backgrounds; returns its manifest rows (and no
    problems: the shape :func:`run_tasks` takes).

    Runs in a worker. Skips composites whose files all exist (reusing the old manifest
    row when it matches, else hashing the decoded merged file).
    """
    from PIL import Image


    out = Path(task["out"])
    level = task["compress_level"]
    stem = task["stem"]
    rows = []
    todo = []
    base = {"split": task["split"], "fg": task["fg"], "fg_folder": task["fg_folder"],
            "alpha": f"alpha/{stem}.png", "fg_path": f"fg/{stem}.png", "class": task["class"]}
    per_fg_done = (out / base["alpha"]).is_file() and (out / base["fg_path"]).is_file()
    for k, bg_name, bg_path, trimap_src in task["bgs"]:
        image = f"{stem}_{k}"
        row = dict(base, image=image, bg=bg_name, k=k, merged=f"merged/{image}.png",
                   bg_path=f"bg/{image}.png" if task["write_bg"] else "",
                   trimap=f"trimaps/{image}.png" if task["trimaps"] else "")
        needed = [row["merged"]] + [row[c] for c in ("bg_path", "trimap") if row[c]]
        if all((out / p).is_file() for p in needed):
            old = task["old_rows"].get(image)
            if old and all(str(old.get(c, "")) == str(row[c]) for c in ("fg", "bg", "k", "merged", "bg_path", "trimap")):
                row.update({c: old[c] for c in ("width", "height", "bg_width", "bg_height", "ratio", "sha256")})
                rows.append(row)
                continue
            todo.append((row, bg_path, trimap_src, True))
        else:
            todo.append((row, bg_path, trimap_src, False))
    if not todo and per_fg_done:
        return rows, []

    fg = compose.load_fg(task["fg_path"])
    alpha = compose.load_alpha(task["alpha_path"])
    compose.check_sizes(fg, alpha, task["alpha_path"])
    h, w = alpha.shape[:2]
    if not (out / base["alpha"]).is_file():
        write_png_atomic(out / base["alpha"], alpha, level)
    if not (out / base["fg_path"]).is_file():
        write_png_atomic(out / base["fg_path"], fg, level)

    generated_trimap = None
    for row, bg_path, trimap_src, finished in todo:
        if finished:
            with Image.open(bg_path) as im:  # header only: sizes for the row
                bw, bh = im.size
            ratio, _ = compose.bg_resize_size((w, h), (bw, bh))
            sha = _decoded_sha256(out / row["merged"])
        else:
            bg_im = open_image(bg_path)
            bw, bh = bg_im.size
            merged, bg_crop, ratio = compose.composite(fg, alpha, bg_im)
            del bg_im
            if row["bg_path"]:
                write_png_atomic(out / row["bg_path"], bg_crop, level)
            if row["trimap"] and not (out / row["trimap"]).is_file():
                if trimap_src:
                    data = Path(trimap_src).read_bytes()
                else:
                    if generated_trimap is None:
                        generated_trimap = encode_png(
                            generate(alpha if alpha.ndim == 2 else alpha[..., 0], "erode-dilate",
                                     kernel=task["trimap_kernel"]), level)
                    data = generated_trimap
                write_bytes_atomic(out / row["trimap"], data)
            sha = compose.pixels_sha256(merged)
            write_png_atomic(out / row["merged"], merged, level)  # last: its presence marks the composite done
        row.update(width=w, height=h, bg_width=bw, bg_height=bh, ratio=repr(float(ratio)), sha256=sha)
        rows.append(row)
    rows.sort(key=lambda r: int(r["k"]))
    return rows, []


# ----------------------------------------------------------------------------- builds

def _run_build(split, out: Path, *, trimaps: str | None, trimap_kernel: int, jobs: int, write_bg: bool,
               progress: bool, compress_level: int, sources) -> dict:

    t0 = time.perf_counter()
    out = check_out_folder(out, sources)
    out.mkdir(parents=True, exist_ok=True)
    params = {
        "kind": "composition-1k" if split.kind == "test" else "dim-train",
        "split": split.kind,
        "foregrounds": len(split.foregrounds),
        "bgs_per_fg": split.bgs_per_fg,
        "composites": len(split.foregrounds) * split.bgs_per_fg,
        "trimaps": trimaps or "",
        "trimap_kernel": trimap_kernel if trimaps and trimaps.startswith("generated") else None,
        "write_bg": bool(write_bg),
        "png_compress_level": int(compress_level),
        "fg_list_sha256": _file_sha256(split.fg_list),
        "bg_list_sha256": _file_sha256(split.bg_list),
        "recipe": "Adobe Deep Image Matting Composition_code.py (Pillow BICUBIC upscale, top-left crop, "
                  "float64 truncating blend)",
    }
    prepare_out(out, params)
    old_rows = _old_rows(out)

    tasks = []
    for i, fg in enumerate(split.foregrounds):
        bgs = []
        for k, bg_name, bg_path in split.backgrounds(i):
            src = ""
            if trimaps == "official":
                src = str(split.trimap_dir / f"{fg.stem}_{k}.png")
            bgs.append((k, bg_name, str(bg_path), src))
        tasks.append({
            "out": str(out), "split": split.kind, "fg": fg.name, "stem": fg.stem, "fg_folder": fg.folder,
            "class": fg.klass, "fg_path": str(fg.fg_path), "alpha_path": str(fg.alpha_path), "bgs": bgs,
            "write_bg": bool(write_bg), "trimaps": bool(trimaps), "trimap_kernel": trimap_kernel,
            "compress_level": int(compress_level),
            "old_rows": {f"{fg.stem}_{k}": old_rows[f"{fg.stem}_{k}"] for k in range(split.bgs_per_fg)
                         if f"{fg.stem}_{k}" in old_rows},
        })
    del old_rows

    results, _ = run_tasks(_build_foreground, tasks, jobs=jobs, progress=progress, desc=f"build {params['kind']}")
    rows = [r for rows in results for r in rows]
    write_manifest(out, rows)
    _write_mmagic_list(out, split.kind, rows)
    return {"out": str(out), "composites": len(rows), "seconds": time.perf_counter() - t0,
            "trimaps": trimaps or ""}


def check_resume(out: Path, params: dict) -> None:
    """Refuse to resume in ``out`` when its ``dataset.json`` records other values of ``params``."""
    ds_path = out / "dataset.json"
    if ds_path.is_file():
        try:
            old = json.loads(ds_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        if isinstance(old, dict):
            diff = sorted(k for k in params if k in old and old[k] != params[k])
            if diff:
                raise MatbenchError(f"{out}: holds a different build ({', '.join(diff)} differ); "
                                    "use a new --out folder")


def prepare_out(out: Path, params: dict) -> None:
    """Start or resume a build in ``out``: :func:`check_resume`, write ``params`` to its
    ``dataset.json``, remove stray temporary files."""
    check_resume(out, params)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "dataset.json", json.dumps(params, indent=2) + "\n")
    _remove_stray_temps(out)


def run_tasks(fn, tasks: list, *, jobs: int, progress: bool, desc: str) -> tuple[list, list]:
    """Run ``fn`` on every task with ``jobs`` workers (``matbench.parallel``), with a progress bar
    counting composites (a task composites its foreground onto ``task["bgs"]``). ``fn(task)``
    returns ``(manifest rows, problems)``. Returns the rows of each task in task order and all
    the problems (one-line messages)."""
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(len(t["bgs"]) for t in tasks), unit="img", desc=desc, smoothing=0.05)
    results: dict[int, list[dict]] = {}
    problems = []
    try:
        for i, (rows, bad) in imap_unordered(fn, tasks, jobs=jobs):
            results[i] = rows
            problems += bad
            if bar is not None:
                bar.update(len(tasks[i]["bgs"]))
    finally:
        if bar is not None:
            bar.close()
    return [results[i] for i in range(len(tasks))], problems


def _write_mmagic_list(out: Path, kind: str, rows) -> None:

    items = []
    for r in rows:
        d = {"alpha_path": r["alpha"], "fg_path": r["fg_path"]}
        if r.get("bg_path"):
            d["bg_path"] = r["bg_path"]
        d["merged_path"] = r["merged"]
        if kind == "test":
            d["trimap_path"] = r["trimap"]
        items.append(d)
    name = "test_list.json" if kind == "test" else "training_list.json"
    write_text_atomic(out / name, json.dumps(items, indent=1) + "\n")


def build_comp1k(adobe_root, voc_root, out, *, bgs_per_fg: int = 20, trimaps: str = "official", jobs: int = 1,
                 progress: bool = True, write_bg: bool = False, trimap_kernel: int | None = None,
                 compress_level: int = DEFAULT_COMPRESS_LEVEL) -> dict:
    """Build Composition-1K (the test split, ``bgs_per_fg`` VOC backgrounds per fg) in ``out``.

    ``trimaps``: ``"official"`` copies the release's ``Test_set/Adobe-licensed images/trimaps``
    when that folder exists and generates them otherwise; ``"generate"`` always generates them
    (``matbench.trimap.erode_dilate`` with ``trimap_kernel``, default
    ``DEFAULT_TEST_KERNEL``). Returns a summary dict (out, composites, seconds, trimaps).
    """

    if trimaps not in ("official", "generate"):
        raise MatbenchError(f"--trimaps {trimaps!r}: expected official or generate")
    split = load_split(adobe_root, "test", voc_root, bgs_per_fg, official_trimaps=(trimaps == "official"))
    kernel = DEFAULT_TEST_KERNEL if trimap_kernel is None else int(trimap_kernel)
    source = "official" if split.trimap_dir is not None else f"generated (erode-dilate, kernel {kernel})"
    return _run_build(split, out, trimaps=source, trimap_kernel=kernel, jobs=jobs, write_bg=write_bg,
                      progress=progress, compress_level=compress_level,
                      sources=[adobe_root, voc_root, *split.sources])


def build_train(adobe_root, coco_root, out, *, bgs_per_fg: int = 100, jobs: int = 1, write_bg: bool = True,
                progress: bool = True, compress_level: int = DEFAULT_COMPRESS_LEVEL) -> dict:
    """Build the DIM training set (``bgs_per_fg`` COCO backgrounds per fg) in ``out``.

    Writes the resized and cropped background of every composite to ``bg/`` unless
    ``write_bg`` is False. Returns a summary dict (out, composites, seconds).
    """

    split = load_split(adobe_root, "train", coco_root, bgs_per_fg)
    return _run_build(split, out, trimaps=None, trimap_kernel=0, jobs=jobs, write_bg=write_bg,
                      progress=progress, compress_level=compress_level,
                      sources=[adobe_root, coco_root, *split.sources])


# ----------------------------------------------------------------------------- verify

def _verify_row(out: Path, row: dict):
    missing, changed = [], []
    for col in ("merged", "alpha", "fg_path", "bg_path", "trimap"):
        p = row.get(col) or ""
        if p and not (out / p).is_file():
            missing.append(p)
    merged = row.get("merged") or ""
    if merged and merged not in missing:
        try:
            sha = _decoded_sha256(out / merged)
        except MatbenchError:
            sha = None
        if sha != row.get("sha256"):
            changed.append(merged)
    return missing, changed


def verify(out, *, jobs: int = 1, progress: bool = False) -> dict:
    """Recompute the sha256 of every composite's decoded pixels and check that every file
    the manifest names exists.

    Returns ``{"checked": n, "missing": [paths], "changed": [paths], "ok": bool}`` (paths
    relative to ``out``; an unreadable merged file counts as changed).
    """

    out = Path(out)
    rows = read_manifest(out)
    it = imap(partial(_verify_row, out), rows, jobs=jobs, batch_size=16)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, total=len(rows), unit="img", desc="verify")
    missing, changed = [], []
    for m, c in it:
        missing.extend(m)
        changed.extend(c)
    missing = list(dict.fromkeys(missing))
    return {"checked": len(rows), "missing": missing, "changed": changed, "ok": not missing and not changed}
