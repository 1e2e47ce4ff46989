"""Build the SIM test set (SIMD composites, trimaps and alphas), pixel-identical to the authors'
generation script (``matbench.sim_compose``; spec ``docs/specs/sim.md``).

``build_sim`` validates every input first (:func:`matbench.datasets.sim.load_sim`: all problems
in one message, nothing written), then works foreground by foreground with the Adobe builders'
machinery (:mod:`matbench.build`): each worker reads one fg and its alpha once, normalises their
size, derives the trimap, and composites the fg's backgrounds; every file is written atomically
(the composite last), so a rerun after an interruption removes stray temporary files, skips
what is complete and ends with the same files as an uninterrupted build, for any ``jobs``.

Output folder ``out``, the authors' layout (``<image>`` = ``<fg name[:-4]>_<bg name[:-4]>``)::

    <class>/merged/<image>.png    the composite (8-bit RGB PNG)
    <class>/alpha/<image>.png     the normalised alpha (8-bit gray; one per composite, as the
                                  script writes it, identical across a fg's composites)
    <class>/trimap/<image>.png    the trimap, 0/128/255 (likewise)
    manifest.csv                  matbench.manifest; ``class`` from the file list, ``sha256`` of the
                                  decoded composite, ``alpha_sha256``/``trimap_sha256`` of those
    dataset.json                  build parameters (a rerun with other ones is refused)
    test_list.json                mmagic-style list (alpha_path, merged_path, trimap_path)

Pixels are the script's; file bytes are not (PNG level ``compress_level``, as the Adobe builds:
lossless, so ``verify`` and the manifest hash decoded pixels).
"""
from __future__ import annotations

import time
from pathlib import Path

from matbench import sim_compose
from matbench.build import (DEFAULT_COMPRESS_LEVEL, _old_rows, _write_mmagic_list, check_out_folder,
                            REUSED, pop_reused, prepare_out, reuse_row, run_tasks)
from matbench.compose import pixels_sha256
from matbench.datasets.sim import load_sim
from matbench.errors import MatbenchError
from matbench.io import encode_png, file_sha256, out_lock, write_bytes_atomic
from matbench.manifest import decoded_sha256, write_manifest

RECIPE = ("SIM dataset/generate_testset.py (nowsyn/SIM): cv2.imread with EXIF orientation; size rule 1920/800 on "
          "the alpha; cv2.resize bilinear (the script's INTER_LANCZOS4 is passed as dst); bg upscaled to "
          "int(b*ratio + 1.0), top-left crop; float64 truncating blend; trimap: 3x3 ellipse, 5 iterations")
OUTPUT_KINDS = ("merged", "alpha", "trimap")
# Columns that must agree for an old manifest row to describe a finished composite.
_SAME = ("fg", "bg", "k", "class", "merged", "alpha", "trimap")


def _paths(klass: str, image: str) -> dict:
    return {kind: f"{klass}/{kind}/{image}.png" for kind in OUTPUT_KINDS}


def _build_sim_foreground(task: dict) -> tuple[list[dict], list]:
    """Composite one (class, fg) pair onto its backgrounds; returns its manifest rows (and no
    problems: its inputs were decoded before anything was written, see ``load_sim``). Runs in
    a worker; skips composites whose three files exist (reusing the old manifest row when it
    matches, else hashing the decoded files)."""
    out = Path(task["out"])
    rows, todo = [], []
    for k, line, bg_name, bg_path in task["bgs"]:
        image = f"{task['fg'][:-4]}_{bg_name[:-4]}"
        p = _paths(task["class"], image)
        row = {"split": "test", "image": image, "fg": task["fg"], "fg_folder": task["class"], "bg": bg_name,
               "k": k, "merged": p["merged"], "alpha": p["alpha"], "trimap": p["trimap"], "class": task["class"],
               "line": line}
        reused, finished = reuse_row(row, p.values(), task["old_rows"].get(image), out, _SAME)
        if reused is not None:
            rows.append(reused)
        else:
            todo.append((row, bg_path, finished))
    if not todo:
        return rows, []

    fg = sim_compose.read_color(task["fg_path"])
    alpha = sim_compose.read_alpha(task["alpha_path"])
    if fg.shape[:2] != alpha.shape:
        raise MatbenchError(f"{task['alpha_path']}: alpha is {alpha.shape[1]}x{alpha.shape[0]} but its foreground "
                            f"is {fg.shape[1]}x{fg.shape[0]} as OpenCV decodes them")
    fg, alpha = sim_compose.normalise(fg, alpha)
    h, w = alpha.shape
    trimap = sim_compose.trimap(alpha)
    level = task["compress_level"]
    files = {"alpha": encode_png(alpha, level), "trimap": encode_png(trimap, level)}
    hashes = {"alpha_sha256": pixels_sha256(alpha), "trimap_sha256": pixels_sha256(trimap)}
    for row, bg_path, finished in todo:
        if finished:  # files of an interrupted run: describe what is on disk
            row = dict(row, **{REUSED: True})
            bw, bh = sim_compose.opencv_size(bg_path)
            ratio, _ = sim_compose.bg_size((h, w), (bh, bw))
            sha = decoded_sha256(out / row["merged"], "rgb")
            row_hashes = {f"{kind}_sha256": decoded_sha256(out / row[kind], "matte") for kind in ("alpha", "trimap")}
        else:
            bg = sim_compose.read_color(bg_path)
            bh, bw = bg.shape[:2]
            merged, _, ratio = sim_compose.composite(fg, alpha, bg)
            del bg
            for kind, data in files.items():
                if not (out / row[kind]).is_file():
                    write_bytes_atomic(out / row[kind], data)
            rgb = merged[..., ::-1]  # the script's BGR array, which cv2.imwrite stores as RGB
            sha = pixels_sha256(rgb)
            write_bytes_atomic(out / row["merged"], encode_png(rgb, level))  # last: marks the composite done
            row_hashes = hashes
        row.update(width=w, height=h, bg_width=bw, bg_height=bh, ratio=repr(float(ratio)), sha256=sha, **row_hashes)
        rows.append(row)
    rows.sort(key=lambda r: int(r["k"]))
    return rows, []


def build_sim(simd_root, voc_root, file_list, out, *, jobs: int = 1, progress: bool = True,
              matte_channel: str | None = None, compress_level: int = DEFAULT_COMPRESS_LEVEL, scheduler=None) -> dict:
    """Build the SIM test set in ``out`` (layout in the module docstring) from the SIMD folder,
    the VOC JPEG folder and the authors' file list.

    ``matte_channel``: None (refuse alphas whose channels differ) or ``"luma"`` (read them as the
    script does, OpenCV's gray conversion); anything else is refused first, by :func:`load_sim`. ``jobs``: worker processes (by foreground), or the
    dask cluster at ``scheduler`` (default ``$MATBENCH_SCHEDULER``; same files as ``jobs=1``).
    ``compress_level``: PNG zlib level (pixels are the same at any level). Raises MatbenchError
    listing every input problem before anything is written. Returns a summary dict
    (out, composites, classes, seconds).
    """
    t0 = time.perf_counter()
    split = load_sim(simd_root, voc_root, file_list, matte_channel=matte_channel, jobs=jobs, scheduler=scheduler)
    subdirs = [f"{klass}/{kind}" for klass in split.classes for kind in OUTPUT_KINDS]
    out = check_out_folder(out, [simd_root, voc_root, *split.sources], subdirs)
    params = {
        "kind": "sim-test",
        "split": "test",
        "foregrounds": len(split.foregrounds),
        "composites": split.n_composites,
        "classes": split.classes,
        "file_list_sha256": file_sha256(split.file_list),
        "matte_channel": matte_channel or "",
        "png_compress_level": int(compress_level),
        "trimaps": f"generated (SIM script: ellipse {sim_compose.TRIMAP_KSIZE}x{sim_compose.TRIMAP_KSIZE}, "
                   f"{sim_compose.TRIMAP_ITERATIONS} iterations)",
        "size_rule": {"max_size": sim_compose.MAX_SIZE, "min_size": sim_compose.MIN_SIZE},
        "recipe": RECIPE,
    }
    with out_lock(out):  # one matbench command writes into out at a time
        prepare_out(out, params, subdirs)
        old_rows = _old_rows(out)
        tasks = [{"out": str(out), "class": fg.klass, "fg": fg.name, "fg_path": str(fg.fg_path),
                  "alpha_path": str(fg.alpha_path), "compress_level": int(compress_level),
                  "bgs": [(k, c.line, c.bg, str(bg_path)) for k, c, bg_path in fg.composites],
                  "old_rows": {c.image: old_rows[c.image] for _, c, _ in fg.composites if c.image in old_rows}}
                 for fg in split.foregrounds]
        del old_rows
        results, _ = run_tasks(_build_sim_foreground, tasks, jobs=jobs, progress=progress, desc="build sim",
                               scheduler=scheduler)
        rows = sorted((r for rows in results for r in rows), key=lambda r: r["line"])  # file-list order
        reused = pop_reused(rows)
        write_manifest(out, rows)
        _write_mmagic_list(out, "test", rows)
        return {"out": str(out), "composites": len(rows), "reused": reused, "written": len(rows) - reused,
                "classes": len(split.classes),
                "seconds": time.perf_counter() - t0}
