"""Build Composition-1K and the DIM training set from the Adobe release, pixel-identical
to Adobe's composition script, and verify a built dataset.

``build_comp1k`` / ``build_train`` validate every input first: the release's layout and
every listed file (``matbench.datasets.adobe``), the headers of every foreground, alpha and
official trimap, then the pixels of every alpha and official trimap by the one matte rule
(:mod:`matbench.mattes`); all problems in one message, before anything is written. Then they
composite foreground by foreground (``matbench.compose``), in joblib worker processes
(``jobs``) or on a dask cluster (``scheduler``); each worker encodes and writes in a writer
thread while it composites the next background. A file that turns out unreadable while compositing (a truncated background) is
collected with the others and reported at the end, without a manifest, so a rerun resumes. Each worker loads one foreground and its alpha once and composites its N
backgrounds; memory is one foreground's worth per worker. Every file is written
atomically, so a file under its final name is complete: a rerun after an interruption
(even ``kill -9``) removes stray temporary files, skips the composites whose files all
exist, and ends with the same files as an uninterrupted build, for any ``jobs``.

Output folder ``out``::

    merged/<fg stem>_<k>.png    the composites (8-bit RGB PNG)
    alpha/<fg stem>.png         one alpha per foreground (8-bit gray PNG)
    fg/<fg stem>.png            one foreground per foreground (8-bit RGB PNG)
    bg/<fg stem>_<k>.png        resized + cropped background (training; optional)
    trimaps/<fg stem>_<k>.png   one trimap per composite (test; an official 8-bit gray PNG is
                                copied as released, any other official file is written as the
                                8-bit gray PNG of the values the matte rule reads)
    manifest.csv                see matbench.manifest (with the sha256 of every file's pixels)
    dataset.json                build parameters
    training_list.json | test_list.json   mmagic annotation lists (paths relative to out)

PNG encoding (:func:`matbench.io.encode_png`): OpenCV's libpng, zlib level ``DEFAULT_COMPRESS_LEVEL`` = 1
with the fixed "Up" row filter. PNG is lossless, so this changes file sizes and build time,
never pixels. On 1500×1000 photos, level 1 + Up encodes ~1.6× faster than level 1 with
libpng's adaptive filters, ~2.5× faster than level 3, ~7× faster than level 6, for files
~3 % larger than level 1 adaptive and ~20 % larger than level 6.
"""
from __future__ import annotations

import json
import os
import time
from functools import partial
from pathlib import Path

from matbench import compose
from matbench.datasets.adobe import load_split
from matbench.errors import MatbenchError, capped_list
from matbench.io import (encode_png, file_sha256, open_image, out_lock, write_bytes_atomic, write_png_atomic,
                         write_text_atomic)
from matbench.manifest import (HASH_COLUMNS, MANIFEST_NAME, decoded_sha256, read_dataset_json, read_manifest,
                               write_manifest)
from matbench.mattes import Notes, raise_problems, read_matte, read_matte_info, trimap_odd_count, try_read_matte
from matbench.parallel import imap, imap_unordered
from matbench.trimap import DEFAULT_TEST_KERNEL, generate

DEFAULT_COMPRESS_LEVEL = 1
OUTPUT_DIRS = ("merged", "alpha", "fg", "bg", "trimaps")


# ----------------------------------------------------------------------------- helpers

def check_out_folder(out, sources, subdirs=OUTPUT_DIRS) -> Path:
    """Refuse an output folder inside (or equal to) a source folder, one that contains a source
    folder, or one inside a matbench-built dataset (:func:`matbench.io.check_out_dir`); one
    whose output subfolders (``subdirs``, relative to ``out``) would be a source or contain one;
    and a non-empty folder that is not a matbench build (no ``dataset.json``, which a build
    writes before anything else, so an interrupted build resumes): its files would be
    overwritten. Hidden files (``.DS_Store``, stray ``.tmp``) do not count."""
    from matbench.io import check_out_dir, is_within

    out = check_out_dir(out, [("source folder", src) for src in sources], contain=True, own_dataset=True)
    for src in sources:
        src = Path(src).resolve()
        for sub in subdirs:
            if is_within(src, out / sub):
                raise MatbenchError(f"{out}: output subfolder {sub}/ would hold the source folder {src}")
    if out.exists() and not out.is_dir():
        raise MatbenchError(f"{out}: exists and is not a folder; choose another --out")
    if out.is_dir() and not (out / "dataset.json").is_file():
        found = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        if found:
            raise MatbenchError(f"{out}: not empty and not a matbench build (no dataset.json; holds "
                                f"{capped_list(found)}); choose a new or empty --out (a build would overwrite "
                                f"these files)")
    return out


def _remove_stray_temps(out: Path, subdirs=OUTPUT_DIRS) -> None:
    """Delete temporary files left by an interrupted run (``.<name>.<random>.tmp``) in ``out``
    and its ``subdirs``."""
    for folder in (out, *(out / d for d in subdirs)):
        try:
            entries = os.scandir(folder)
        except FileNotFoundError:
            continue
        with entries:
            for e in entries:
                if e.name.startswith(".") and e.name.endswith(".tmp") and e.is_file(follow_symlinks=False):
                    os.unlink(e.path)


def _old_rows(out: Path) -> dict[str, dict]:
    """Rows of a previous manifest in ``out`` (to skip re-hashing finished composites)."""

    if not (out / MANIFEST_NAME).is_file():
        return {}
    try:
        return {r["image"]: r for r in read_manifest(out)}
    except (MatbenchError, KeyError, ValueError, OSError):
        return {}


# ----------------------------------------------------------------------------- one foreground

_SIZES = ("width", "height", "bg_width", "bg_height", "ratio")
_SAME = ("fg", "bg", "k", "merged", "bg_path", "trimap")


def reuse_row(row: dict, needed, old: dict | None, out: Path, same=_SAME) -> tuple[dict | None, bool]:
    """Whether a composite of an earlier run can be skipped: ``(row completed from the old
    manifest row, or None when it must be redone or re-hashed; whether its ``needed`` files
    all exist)``. Reused when every needed file exists, the old row agrees with ``row`` on the
    ``same`` columns and holds the sizes and every hash of ``row``'s files
    (:data:`matbench.manifest.HASH_COLUMNS`). Shared by the Adobe and SIM builds, whose
    layouts decide ``needed`` and ``same``."""
    finished = all((out / p).is_file() for p in needed)
    hashes = [h for c, (h, _) in HASH_COLUMNS.items() if row.get(c)]
    keep = (*_SIZES, *hashes)
    if finished and old and all(str(old.get(c, "")) == str(row[c]) for c in same) and all(old.get(c) for c in keep):
        return dict(row, **{c: old[c] for c in keep}, **{REUSED: True}), True
    return None, finished


REUSED = "_reused"  # key of a manifest row kept from an earlier run (popped by pop_reused before writing)


def pop_reused(rows) -> int:
    """How many of ``rows`` (manifest rows, dicts) an earlier run had written (marked
    :data:`REUSED` by :func:`reuse_row`); removes the mark. The rest were written now."""
    return sum(bool(r.pop(REUSED, False)) for r in rows)


def _build_foreground(task: dict) -> tuple[list[dict], list[str]]:
    """Composite one foreground onto its N backgrounds; returns its manifest rows and the
    problems met while decoding (then its rows are incomplete and no manifest is written).

    Runs in a worker. Skips what :func:`_plan` found done (``task["plan"]``, planned in the
    parent); otherwise the files found are hashed as they are (an interrupted build, or a
    manifest of an older matbench). Files written now are hashed from the pixels written
    (:data:`matbench.manifest.HASH_COLUMNS`).
    """
    rows, todo = list(task["plan"][0]), task["plan"][1]
    if todo is None:
        return rows, []
    try:
        rows += _composite_foreground(task, todo, Path(task["out"]))
    except MatbenchError as e:  # a file unreadable in its pixels: collected with the others'
        return rows, [str(e)]
    return sorted(rows, key=lambda r: int(r["k"])), []


def _plan(task: dict):
    """``(rows reused, todo)`` of one foreground: a composite whose files all exist and whose old
    manifest row matches and holds every hash is reused (marked :data:`REUSED`); the others are to do, as ``(row, bg
    path, official trimap or "", its files all exist)``. ``todo`` is None when nothing is left
    (nor the per-foreground alpha and fg)."""
    out = Path(task["out"])
    stem = task["stem"]
    rows, todo = [], []
    base = {"split": task["split"], "fg": task["fg"], "fg_folder": task["fg_folder"],
            "alpha": f"alpha/{stem}.png", "fg_path": f"fg/{stem}.png", "class": task["class"]}
    for k, bg_name, bg_path, trimap_src in task["bgs"]:
        image = f"{stem}_{k}"
        row = dict(base, image=image, bg=bg_name, k=k, merged=f"merged/{image}.png",
                   bg_path=f"bg/{image}.png" if task["write_bg"] else "",
                   trimap=f"trimaps/{image}.png" if task["trimaps"] else "")
        needed = [row["merged"]] + [row[c] for c in ("bg_path", "trimap") if row[c]]
        reused, finished = reuse_row(row, needed, task["old_rows"].get(image), out)
        if reused is not None:
            rows.append(reused)
        else:
            todo.append((row, bg_path, trimap_src, finished))
    if not todo and (out / base["alpha"]).is_file() and (out / base["fg_path"]).is_file():
        return rows, None
    return rows, todo


def _composite_foreground(task: dict, todo, out: Path) -> list[dict]:
    """The rows of ``todo`` (``(row, bg path, official trimap or "", finished)``), writing the
    files of the unfinished ones and the per-foreground alpha and fg when missing.

    A writer thread encodes, hashes and writes each composite's files while this thread decodes,
    resizes and blends the next one (PNG encoding, the largest cost, releases the GIL); at most
    two composites wait for it, so memory stays one foreground's worth."""
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    level = task["compress_level"]
    fg = compose.load_fg(task["fg_path"])
    alpha = compose.load_alpha(task["alpha_path"], task["matte_channel"])
    compose.check_sizes(fg, alpha, task["alpha_path"])
    h, w = alpha.shape
    generated = {}
    rows, written = [], []
    with ThreadPoolExecutor(1, thread_name_prefix="matbench-writer") as writer:
        per_fg = {HASH_COLUMNS[col][0]: writer.submit(_write_or_hash, out / path, array, HASH_COLUMNS[col][1], level)
                  for col, path, array in (("alpha", f"alpha/{task['stem']}.png", alpha),
                                           ("fg_path", f"fg/{task['stem']}.png", fg))}
        for row, bg_path, trimap_src, finished in todo:
            hashes = {}
            if finished:  # files of an interrupted run: kept, hashed as they are
                row = dict(row, **{REUSED: True})
                with Image.open(bg_path) as im:  # header only: sizes for the row
                    bw, bh = im.size
                ratio, _ = compose.bg_resize_size((w, h), (bw, bh))
                for col in ("merged", "bg_path", "trimap"):
                    if row[col]:
                        hashes[HASH_COLUMNS[col][0]] = decoded_sha256(out / row[col], HASH_COLUMNS[col][1])
            else:
                bg_im = open_image(bg_path)
                bw, bh = bg_im.size
                merged, bg_crop, ratio = compose.composite(fg, alpha, bg_im)
                del bg_im
                trimap = None
                if row["trimap"] and (out / row["trimap"]).is_file():
                    hashes["trimap_sha256"] = decoded_sha256(out / row["trimap"], "matte")
                elif row["trimap"]:
                    trimap = _trimap_file(task, trimap_src, alpha, generated)
                if len(written) >= 2:
                    written[-2][1].result()  # at most two composites wait for the writer
                written.append((row, writer.submit(_write_composite, out, row, merged,
                                                   bg_crop if row["bg_path"] else None, trimap, level)))
            row.update(width=w, height=h, bg_width=bw, bg_height=bh, ratio=repr(float(ratio)), **hashes)
            rows.append(row)
    for row, future in written:
        row.update(future.result())
    for col, future in per_fg.items():
        digest = future.result()
        for row in rows:
            row[col] = digest
    return rows


def _write_composite(out: Path, row: dict, merged, bg_crop, trimap, level: int) -> dict:
    """Write one composite's files (background crop, trimap ``(PNG bytes, sha256)``, then the
    composite, whose presence marks it done); the sha256 of each one's pixels by hash column."""
    hashes = {}
    if bg_crop is not None:
        write_png_atomic(out / row["bg_path"], bg_crop, level)
        hashes["bg_sha256"] = compose.pixels_sha256(bg_crop)
    if trimap is not None:
        write_bytes_atomic(out / row["trimap"], trimap[0])
        hashes["trimap_sha256"] = trimap[1]
    hashes["sha256"] = compose.pixels_sha256(merged)
    write_png_atomic(out / row["merged"], merged, level)  # last: its presence marks the composite done
    return hashes


def _write_or_hash(path: Path, array, kind: str, level: int) -> str:
    """Write ``array`` to ``path`` unless the file exists (then hash the file as found, see
    :func:`_build_foreground`); the sha256 of the pixels now in the file."""
    if path.is_file():
        return decoded_sha256(path, kind)
    write_png_atomic(path, array, level)
    return compose.pixels_sha256(array)


def _trimap_file(task: dict, trimap_src: str, alpha, generated: dict) -> tuple[bytes, str]:
    """``(PNG bytes, sha256 of its pixels)`` of one composite's trimap. An official 8-bit gray PNG
    is copied as released (decoded and hashed by :func:`_check_pixels` before the build); any
    other official file is written as the gray PNG of the values the matte rule reads; the
    generated trimap is made and encoded once per foreground (``generated`` caches it)."""
    if trimap_src and task["trimap_sha"].get(trimap_src):
        return Path(trimap_src).read_bytes(), task["trimap_sha"][trimap_src]
    if trimap_src:
        trimap = read_matte(trimap_src, task["matte_channel"])
        return encode_png(trimap, task["compress_level"]), compose.pixels_sha256(trimap)
    if not generated:
        trimap = generate(alpha, "erode-dilate", kernel=task["trimap_kernel"])
        generated["trimap"] = (encode_png(trimap, task["compress_level"]), compose.pixels_sha256(trimap))
    return generated["trimap"]


# ----------------------------------------------------------------------------- builds

def _check_pixels(tasks, matte_channel, jobs: int, scheduler=None) -> None:
    """Decode the alpha (and official trimaps) of every foreground task by the matte rule before
    anything is written: problems only visible in the pixels (ambiguous colour, non-gray
    palette, truncation) of all of them in one MatbenchError; official trimap values other than
    0/128/255 warned about. Cheap next to the build: one alpha per foreground, small trimaps."""
    sources = [(t["alpha_path"], [src for _, _, _, src in t["bgs"] if src]) for t in tasks]
    problems, notes = [], Notes()
    for task, (bad, odd, shas) in zip(tasks, imap(partial(_read_sources, matte_channel), sources, jobs=jobs,
                                                  scheduler=scheduler)):
        problems += bad
        for path, count in odd.items():
            notes.trimap(path, count)
        task["trimap_sha"] = shas
    raise_problems(problems)
    notes.warn(stacklevel=4)


def _read_sources(matte_channel, task) -> tuple[list[str], dict[str, int], dict[str, str]]:
    """``(problems, {official trimap: pixels not 0/128/255}, {official trimap that is an 8-bit
    gray PNG: sha256 of its pixels})`` of one foreground's alpha and official trimaps."""
    alpha_path, trimap_paths = task
    problems, odd, shas = [], {}, {}
    try_read_matte(alpha_path, matte_channel, problems)
    for path in trimap_paths:
        try:
            trimap, info = read_matte_info(path, matte_channel)
        except MatbenchError as e:
            problems.append(str(e))
            continue
        odd[path] = trimap_odd_count(trimap)
        if (info.format, info.mode) == ("PNG", "L"):
            shas[path] = compose.pixels_sha256(trimap)
    return problems, odd, shas


def _run_build(split, out: Path, *, trimaps: str | None, trimap_kernel: int, jobs: int, write_bg: bool,
               progress: bool, compress_level: int, sources, matte_channel: str | None, scheduler=None) -> dict:

    t0 = time.perf_counter()
    out = check_out_folder(out, sources)
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
        "matte_channel": matte_channel,
        "fg_list_sha256": file_sha256(split.fg_list),
        "bg_list_sha256": file_sha256(split.bg_list),
        "recipe": "Adobe Deep Image Matting Composition_code.py (Pillow BICUBIC upscale, top-left crop, "
                  "float64 truncating blend)",
    }
    with out_lock(out):  # one matbench command writes into out at a time
        check_resume(out, params)
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
                "compress_level": int(compress_level), "matte_channel": matte_channel, "trimap_sha": {},
                "old_rows": {f"{fg.stem}_{k}": old_rows[f"{fg.stem}_{k}"] for k in range(split.bgs_per_fg)
                             if f"{fg.stem}_{k}" in old_rows},
            })
        del old_rows
        for task in tasks:  # once, here: the workers get the plan, not the old rows
            task["plan"] = _plan(task)
            del task["old_rows"]
        # the sources of every foreground with work left, before anything is written
        _check_pixels([t for t in tasks if t["plan"][1] is not None], matte_channel, jobs, scheduler)
        prepare_out(out, params, check=False)  # checked above, before the sources were decoded

        results, problems = run_tasks(_build_foreground, tasks, jobs=jobs, progress=progress,
                                      desc=f"build {params['kind']}", scheduler=scheduler)
        raise_problems(problems, "input", done="the composites of the other foregrounds were written, no manifest: "
                                               "fix these files and rerun the same command to resume")
        rows = [r for rows in results for r in rows]
        reused = pop_reused(rows)
        write_manifest(out, rows)
        _write_mmagic_list(out, split.kind, rows)
        return {"out": str(out), "composites": len(rows), "reused": reused, "written": len(rows) - reused,
                "foregrounds": len(tasks), "bgs_per_fg": split.bgs_per_fg,
                "seconds": time.perf_counter() - t0, "trimaps": trimaps or ""}


# dataset.json entries that describe the build in words (they may be reworded between versions)
# rather than parameterise it: not compared when resuming
DESCRIPTIVE = frozenset({"definition"})


def check_resume(out: Path, params: dict) -> None:
    """Refuse to resume in ``out`` when its ``dataset.json`` records other values of ``params``
    (except the wording of :data:`DESCRIPTIVE` entries)."""
    old = read_dataset_json(out) or {}
    diff = sorted(k for k in params if k in old and old[k] != params[k] and k not in DESCRIPTIVE)
    if diff:
        raise MatbenchError(f"{out}: holds a different build ({', '.join(diff)} differ); use a new --out folder")


def prepare_out(out: Path, params: dict, subdirs=OUTPUT_DIRS, *, check: bool = True) -> None:
    """Start or resume a build in ``out``: :func:`check_resume` (unless the caller did,
    ``check=False``), write ``params`` to its ``dataset.json``, remove stray temporary files."""
    if check:
        check_resume(out, params)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "dataset.json", json.dumps(params, indent=2) + "\n")
    _remove_stray_temps(out, subdirs)


def run_tasks(fn, tasks: list, *, jobs: int, progress: bool, desc: str, scheduler=None) -> tuple[list, list]:
    """Run ``fn`` on every task with ``jobs`` workers, or on the dask cluster at ``scheduler``
    (``matbench.parallel``), with a progress bar
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
        for i, (rows, bad) in imap_unordered(fn, tasks, jobs=jobs, scheduler=scheduler):
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
        d = {"alpha_path": r["alpha"]}
        if r.get("fg_path"):
            d["fg_path"] = r["fg_path"]
        if r.get("bg_path"):
            d["bg_path"] = r["bg_path"]
        d["merged_path"] = r["merged"]
        if kind == "test":
            d["trimap_path"] = r["trimap"]
        items.append(d)
    name = "test_list.json" if kind == "test" else "training_list.json"
    write_text_atomic(out / name, json.dumps(items, indent=1) + "\n")


def build_comp1k(adobe_root, voc_root, out, *, bgs_per_fg: int | None = None, trimaps: str = "official",
                 jobs: int = 1, progress: bool = True, write_bg: bool = False, trimap_kernel: int | None = None,
                 compress_level: int = DEFAULT_COMPRESS_LEVEL, matte_channel: str | None = None,
                 scheduler=None) -> dict:
    """Build Composition-1K (the test split, ``bgs_per_fg`` VOC backgrounds per fg) in ``out``.

    ``bgs_per_fg``: None (default) takes the release's lists' ratio, len(test_bg_names) /
    len(test_fg_names) = 20 on the real release; a number must agree with the lists.

    ``trimaps``: ``"official"`` takes the release's ``Test_set/Adobe-licensed images/trimaps``
    (a release without that folder is an error naming ``"generate"``: results on other trimaps
    are not comparable with published ones); ``"generate"`` generates them from the alphas
    (``matbench.trimap.erode_dilate`` with ``trimap_kernel``, default ``DEFAULT_TEST_KERNEL``).
    Alphas and official trimaps are read by the one matte rule (:mod:`matbench.mattes`;
    ``matte_channel`` picks the channel of colour files, recorded in ``dataset.json``); alphas
    are written as 8-bit gray PNGs of those values, official trimaps copied when they already
    are 8-bit gray PNGs, else written so. Returns a summary dict (out, composites, foregrounds,
    bgs_per_fg, seconds, trimaps). Raises MatbenchError listing every input problem before
    anything is written, or, for files unreadable while compositing, at the end (no manifest;
    a rerun resumes).

    ``jobs``: worker processes (by foreground; each also encodes in a writer thread).
    ``scheduler``: the address of a dask cluster to build on instead (default
    ``$MATBENCH_SCHEDULER``; the workers must see ``adobe_root``, ``voc_root`` and ``out`` at the
    same paths): the same files, hashes and manifest as with ``jobs=1``, resumable the same way.
    """

    if trimaps not in ("official", "generate"):
        raise MatbenchError(f"--trimaps {trimaps!r}: expected official or generate")
    split = load_split(adobe_root, "test", voc_root, bgs_per_fg, official_trimaps=(trimaps == "official"),
                       matte_channel=matte_channel)
    kernel = DEFAULT_TEST_KERNEL if trimap_kernel is None else int(trimap_kernel)
    source = "official" if split.trimap_dir is not None else f"generated (erode-dilate, kernel {kernel})"
    return _run_build(split, out, trimaps=source, trimap_kernel=kernel, jobs=jobs, write_bg=write_bg,
                      progress=progress, compress_level=compress_level,
                      sources=[adobe_root, voc_root, *split.sources], matte_channel=matte_channel, scheduler=scheduler)


def build_train(adobe_root, coco_root, out, *, bgs_per_fg: int | None = None, jobs: int = 1,
                write_bg: bool = True, progress: bool = True, compress_level: int = DEFAULT_COMPRESS_LEVEL,
                matte_channel: str | None = None, scheduler=None) -> dict:
    """Build the DIM training set (``bgs_per_fg`` COCO backgrounds per fg) in ``out``.

    ``bgs_per_fg``: None (default) takes the release's lists' ratio, len(training_bg_names) /
    len(training_fg_names) = 100 on the real release; a number must agree with the lists.
    Writes the resized and cropped background of every composite to ``bg/`` unless
    ``write_bg`` is False. The release's JPEG alphas are read as decoded (as Adobe's script
    does; one warning says so) by the one matte rule (``matte_channel`` as in
    :func:`build_comp1k`). ``jobs`` and ``scheduler`` as in :func:`build_comp1k`. Returns a
    summary dict (out, composites, foregrounds, bgs_per_fg, seconds).
    """

    split = load_split(adobe_root, "train", coco_root, bgs_per_fg, matte_channel=matte_channel)
    return _run_build(split, out, trimaps=None, trimap_kernel=0, jobs=jobs, write_bg=write_bg,
                      progress=progress, compress_level=compress_level,
                      sources=[adobe_root, coco_root, *split.sources], matte_channel=matte_channel, scheduler=scheduler)


# ----------------------------------------------------------------------------- verify

def _verify_file(out: Path, task) -> tuple[str, str]:
    """``(path, "missing" | "changed" | "ok")`` for one manifest file ``(path, sha256, kind)``."""
    path, sha, kind = task
    if not (out / path).is_file():
        return path, "missing"
    try:
        found = decoded_sha256(out / path, kind)
    except MatbenchError:  # unreadable, or no longer a matte by the rule
        found = None
    return path, "ok" if found == sha else "changed"


def _verify_tasks(out: Path, rows: list[dict]) -> list[tuple[str, str, str]]:
    """One ``(path, expected sha256, kind)`` per distinct file of :data:`HASH_COLUMNS`; a one-line
    MatbenchError when the manifest lacks hashes (written by an older matbench)."""
    columns = set(rows[0]) if rows else set()
    tasks, unhashed = {}, {}
    for col, (hash_col, kind) in HASH_COLUMNS.items():
        if col not in columns:
            continue
        for row in rows:
            path = row.get(col) or ""
            if not path:
                continue
            if not row.get(hash_col):
                unhashed.setdefault(hash_col, 0)
                unhashed[hash_col] += 1
                continue
            # a file shared by rows (one alpha per foreground) is hashed once; rows that
            # disagree on its hash make it "changed"
            if tasks.setdefault(path, (path, row[hash_col], kind))[1] != row[hash_col]:
                tasks[path] = (path, "", kind)
    if unhashed:
        what = ", ".join(f"{h} ({n} rows)" for h, n in unhashed.items())
        raise MatbenchError(f"{out / MANIFEST_NAME}: no pixel hashes for some files ({what}): the dataset was built "
                            f"by an older matbench, so they cannot be checked; rerun the same build command (it "
                            f"resumes, hashes the files as they are and adds the hashes), then verify")
    return list(tasks.values())


# dataset.json "kind" -> the command that builds (and resumes) that kind of dataset
BUILD_COMMANDS = {"composition-1k": "build-comp1k", "dim-train": "build-train", "sim-test": "build-sim",
                  "dim-train-samples": "build-train-samples"}


def repair_advice(out, missing, changed) -> str:
    """One line saying how to repair a dataset that :func:`verify` found missing or changed
    files in (empty when there are none): delete the changed files and rerun the command that
    built ``out`` (named from its ``dataset.json`` kind), which resumes and makes only the
    composites (or samples) with missing files again, then verify again."""
    if not missing and not changed:
        return ""
    info = read_dataset_json(out) or {}
    cmd = BUILD_COMMANDS.get(info.get("kind"))
    cmd = (f"matbench {cmd}" if cmd else
           "build (build-comp1k, build-train, build-sim or build-train-samples)")
    delete = f"delete the {len(changed)} changed file(s) listed and " if changed else ""
    return (f"to repair {out}: {delete}rerun the same {cmd} command that built it, with the same options and "
            f"--out (it resumes and writes only what is missing), then run "
            f"matbench verify again")


def verify(out, *, jobs: int = 1, progress: bool = False, scheduler=None) -> dict:
    """Check every file the manifest lists (composites, alphas, foregrounds, backgrounds,
    trimaps: every path column of :data:`matbench.manifest.HASH_COLUMNS`) against the sha256
    of its decoded pixels recorded at build time.

    Returns ``{"checked": rows, "files": n, "missing": [paths], "changed": [paths], "ok": bool,
    "repair": str}`` (paths relative to ``out``; an unreadable file counts as changed;
    ``repair``: :func:`repair_advice`, empty when ``ok``). A manifest without the
    per-file hashes (an older matbench) is a one-line MatbenchError saying how to add them.
    ``jobs`` worker processes, or the dask cluster at ``scheduler`` (default ``$MATBENCH_SCHEDULER``).
    """

    out = Path(out)
    rows = read_manifest(out)
    tasks = _verify_tasks(out, rows)
    it = imap(partial(_verify_file, out), tasks, jobs=jobs, batch_size=16, scheduler=scheduler)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, total=len(tasks), unit="file", desc="verify")
    missing, changed = [], []
    for path, status in it:
        if status == "missing":
            missing.append(path)
        elif status == "changed":
            changed.append(path)
    return {"checked": len(rows), "files": len(tasks), "missing": missing, "changed": changed,
            "ok": not missing and not changed, "repair": repair_advice(out, missing, changed)}
