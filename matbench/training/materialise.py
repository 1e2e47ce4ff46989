"""A fixed, materialised DIM training set: ``matbench build-train-samples`` (no torch).

``build_train_samples(dataset, out, per_composite=P, seed=S)`` writes P samples of every
composite of a built training set as PNGs: sample j of composite c is exactly sample
(S, epoch j, c) of :class:`matbench.training.dataset.CompositeSamples` (the recipe of
``docs/specs/training.md``), i.e. the first P epochs of the on-the-fly stream, as files. One
sample per composite of the full release gives 43,100 samples (the paper's "100 samples per
foreground" over 431 foregrounds; 49,300 with the paper's 493).

Output folder ``out``::

    merged/<composite>_s<j>.png   the sample's composite (RGB, out_size²)
    alpha/, fg/, bg/              its alpha (gray), foreground and background (RGB)
    trimaps/<composite>_s<j>.png  its random trimap (0/128/255)
    manifest.csv                  one row per sample (``SAMPLE_COLUMNS``)
    dataset.json                  kind "dim-train-samples", seed, P, recipe, source hash

Manifest columns: ``image`` (the sample's name), ``composite``, ``fg``, ``bg``, ``class``
(from the source manifest), ``epoch`` (= j), the recipe's draws (``crop_size``,
``rescue_height``/``rescue_width`` (empty: no rescue resize), ``top``, ``left`` (px in the
rescued image), ``flip`` (0/1), ``erode_kernel``, ``dilate_kernel``, ``erode_iterations``,
``dilate_iterations``), ``width``/``height`` (the sample size), the file paths (``merged``,
``alpha``, ``fg_path``, ``bg_path``, ``trimap``) and the sha256 of every file's decoded pixels
(H×W[×3] uint8, row-major): ``sha256`` (the composite), ``alpha_sha256``, ``fg_sha256``,
``bg_sha256``, ``trimap_sha256``.

Resumable like the builders: every file is written atomically (the composite last), so a
sample whose five files exist is complete; a rerun skips it (its row comes from the previous
manifest, or is recomputed from the composite's alpha and the decoded files) and ends with
the same files and manifest as an uninterrupted run, for any ``jobs``.
"""
from __future__ import annotations

import time
from pathlib import Path

from matbench.errors import MatbenchError
from matbench.io import file_sha256, out_lock
from matbench.manifest import HASH_COLUMNS, decoded_sha256
from matbench.training import samples
from matbench.training.samples import Recipe

SAMPLES_KIND = "dim-train-samples"
FILES = {"merged": "merged", "alpha": "alpha", "fg_path": "fg", "bg_path": "bg", "trimap": "trimaps"}
KEYS = {"merged": "merged", "alpha": "alpha", "fg_path": "fg", "bg_path": "bg", "trimap": "trimap"}
HASHES = {col: hash_col for col, (hash_col, _) in HASH_COLUMNS.items()}  # the project's hash columns
PARAM_COLUMNS = ["crop_size", "rescue_height", "rescue_width", "top", "left", "flip", "erode_kernel",
                 "dilate_kernel", "erode_iterations", "dilate_iterations"]
SAMPLE_COLUMNS = (["split", "image", "composite", "fg", "bg", "class", "epoch", *PARAM_COLUMNS, "width", "height",
                   *FILES, *HASHES.values()])


def _param_cells(p: samples.SampleParams) -> dict:
    rh, rw = p.rescue if p.rescue is not None else ("", "")
    return {"crop_size": p.crop_size, "rescue_height": rh, "rescue_width": rw, "top": p.top, "left": p.left,
            "flip": int(p.flip), "erode_kernel": p.erode_kernel, "dilate_kernel": p.dilate_kernel,
            "erode_iterations": p.erode_iterations, "dilate_iterations": p.dilate_iterations}


def _materialise_foreground(task: dict) -> tuple[list[dict], list[str]]:
    """The ``per_composite`` samples of each composite of one foreground (``task["bgs"]``: its
    manifest rows): write the missing ones, return the rows (and no problems, the shape of
    :func:`matbench.build.run_tasks`). Runs in a worker; the foreground's alpha and fg files
    are decoded once."""
    src, recipe, cache = Path(task["source"]), Recipe(**task["recipe"]), {}
    rows = []
    for row in task["bgs"]:
        rows += _materialise_composite(task, src, row, recipe, cache)
    return rows, []


def _materialise_composite(task: dict, src: Path, row: dict, recipe: Recipe, cache: dict) -> list[dict]:
    from matbench.build import REUSED
    from matbench.compose import pixels_sha256
    from matbench.io import write_png_atomic

    out = Path(task["out"])
    arrays = None
    rows = []
    for j in range(task["per_composite"]):
        name = f"{row['image']}_s{j}"
        cells = {"split": "train", "image": name, "composite": row["image"], "fg": row.get("fg", ""),
                 "bg": row.get("bg", ""), "class": row.get("class", ""), "epoch": j,
                 "width": recipe.out_size, "height": recipe.out_size,
                 **{col: f"{folder}/{name}.png" for col, folder in FILES.items()}}
        rng = samples.sample_rng(task["seed"], j, row["image"])
        if all((out / cells[col]).is_file() for col in FILES):
            old = task["old_rows"].get(name)
            if old and all(old.get(c) == str(v) for c, v in cells.items()):
                rows.append(dict(old, **{REUSED: True}))
                continue
            cells[REUSED] = True  # files of an interrupted run: kept, hashed as they are
            alpha = samples.read_composite(src, row, ("alpha",), cache)["alpha"]
            cells.update(_param_cells(samples.draw_params(alpha, rng, recipe)))
            cells.update({HASHES[col]: decoded_sha256(out / cells[col], HASH_COLUMNS[col][1]) for col in FILES})
        else:
            if arrays is None:
                arrays = samples.read_composite(src, row, samples.IMAGE_KEYS, cache)
            sample, params = samples.make_sample(arrays, rng, recipe)
            cells.update(_param_cells(params))
            for col in ("alpha", "fg_path", "bg_path", "trimap", "merged"):  # composite last: marks the sample done
                cells[HASHES[col]] = pixels_sha256(sample[KEYS[col]])
                write_png_atomic(out / cells[col], sample[KEYS[col]], task["compress_level"])
        rows.append({c: str(v) for c, v in cells.items()})
    return rows


def build_train_samples(dataset, out, *, per_composite: int = 1, seed: int = 0, recipe: Recipe = Recipe(),
                        jobs: int = 1, scheduler=None, progress: bool = True, compress_level: int = 1) -> dict:
    """Materialise ``per_composite`` samples of every composite of the built training set
    ``dataset`` into ``out`` (see the module doc). ``recipe``: :class:`samples.Recipe` (not
    the online merge: samples are stored as 8-bit PNGs). ``jobs`` workers, or the dask cluster
    at ``scheduler`` (:mod:`matbench.parallel`): the same files either way. Returns {out,
    samples, seconds}.
    Raises MatbenchError (one line) for a dataset that is not a training set with backgrounds,
    an ``out`` inside it, or an ``out`` that holds a different sample set.
    """
    from matbench.build import (
        _old_rows,
        check_out_folder,
        pop_reused,
        prepare_out,
        run_tasks,
    )
    from matbench.manifest import write_manifest

    t0 = time.perf_counter()
    if recipe.online_merge:
        raise MatbenchError("the online merge makes float composites; materialised samples store the built "
                            "8-bit composites (train with --online-merge on the training set instead)")
    if int(per_composite) < 1:
        raise MatbenchError(f"--per-composite {per_composite}: must be >= 1")
    per_composite = int(per_composite)
    src = Path(dataset)
    rows = samples.composite_rows(src)
    out = check_out_folder(out, [src])
    with out_lock(out):  # one matbench command writes into out at a time
        prepare_out(out, {
            "kind": SAMPLES_KIND, "source": str(src.resolve()), "source_manifest_sha256": file_sha256(src / "manifest.csv"),
            "composites": len(rows), "per_composite": per_composite, "samples": len(rows) * per_composite,
            "seed": int(seed), "recipe": recipe.to_dict(), "png_compress_level": int(compress_level),
            "definition": "sample j of composite c = sample (seed, epoch j, c) of the DIM recipe in docs/specs/training.md "
                          "(matbench.training.samples)",
        })
        old_rows = _old_rows(out)
        by_fg: dict[str, list[dict]] = {}
        for row in rows:  # one task per foreground: its alpha and fg files are shared by its composites
            by_fg.setdefault(row["alpha"], []).append(row)
        tasks = [{"source": str(src), "out": str(out), "bgs": fg_rows, "seed": int(seed), "per_composite": per_composite,
                  "recipe": recipe.to_dict(), "compress_level": int(compress_level),
                  "old_rows": {f"{r['image']}_s{j}": old_rows[f"{r['image']}_s{j}"] for r in fg_rows
                               for j in range(per_composite) if f"{r['image']}_s{j}" in old_rows}}
                 for fg_rows in by_fg.values()]
        del old_rows
        results, _ = run_tasks(_materialise_foreground, tasks, jobs=jobs, progress=progress, desc="build-train-samples",
                               scheduler=scheduler)
        rows = [r for task_rows in results for r in task_rows]
        reused = pop_reused(rows)
        write_manifest(out, rows, SAMPLE_COLUMNS)
        return {"out": str(out), "samples": len(rows), "reused": reused, "written": len(rows) - reused,
                "seconds": time.perf_counter() - t0}
