"""Score prediction folders against a reference set: one row per model × image.

The reference image set is the dataset's manifest (``dataset=``) or the trimap folder
(``alpha_dir=`` + ``trimap_dir=``); predictions are matched to it by file stem
(``PRED_DIR/<image>.png``, or any image suffix). Every number comes from
:func:`matbench.metrics.evaluate`, i.e. the DIM MATLAB evaluation code's definitions, on
the prediction as given (``mask_known`` applies the usual post-processing first).

Strictness, because a benchmark must never be silently wrong:

- a prediction missing for any reference image is an error listing all of them (or, with
  ``allow_missing``, the image is skipped and the coverage reported in ``df.attrs``);
- a missing alpha or trimap is an error naming the file; nothing is substituted;
- size mismatches, unreadable/truncated files and non-8-bit data are one-line errors
  naming the file (``MatbenchError``);
- extra files in a prediction folder, and trimap values other than 0/128/255 (only 128 is
  "unknown" in the reference), are counted and reported as warnings.

Work is done per reference image (alpha and trimap decoded once for all models), in
chunks, with joblib processes when ``jobs > 1``; results stream back in order, so memory
does not grow with the number of images and the table is identical for any ``jobs``.
"""
from __future__ import annotations

import json
import re
import warnings
from functools import partial
from pathlib import Path

import numpy as np

from matbench.errors import MatbenchError
from matbench.io import index_images
from matbench.mattes import read_matte
from matbench.parallel import imap, resolve_jobs
from matbench.scorefiles import score_provenance

__all__ = ["score", "parse_pred_dirs", "reference_items", "read_run_info"]

RUN_JSON = "run.json"
METRIC_KEYS = ("sad", "mse", "grad", "conn")
_SUFFIX_K = re.compile(r"^(?P<stem>.+)_(?P<k>\d+)$")


# --------------------------------------------------------------------------- inputs

def parse_pred_dirs(pred_dirs) -> list[tuple[str, Path]]:
    """``[(model name, folder)]`` from paths, ``name=path`` strings or a dict name -> path.

    A bare path's name is its folder name. Names must be unique; folders must exist.
    """
    if isinstance(pred_dirs, (str, Path)):
        pred_dirs = [pred_dirs]
    items = list(pred_dirs.items()) if isinstance(pred_dirs, dict) else [_split_name(p) for p in pred_dirs]
    if not items:
        raise MatbenchError("no prediction folder given")
    out, seen = [], {}
    for name, path in items:
        path = Path(path)
        name = str(name) or path.resolve().name
        if not path.is_dir():
            raise MatbenchError(f"{path}: prediction folder not found")
        if name in seen:
            raise MatbenchError(f"two prediction folders named {name!r} ({seen[name]}, {path}); "
                                f"rename one with NAME=PATH")
        seen[name] = path
        out.append((name, path))
    return out


def _split_name(item) -> tuple[str, Path]:
    if isinstance(item, Path):
        return item.resolve().name, item
    text = str(item)
    # NAME=PATH, unless the whole thing is an existing folder whose name has "=" in it
    if "=" in text and not Path(text).is_dir():
        name, _, path = text.partition("=")
        if not name or not path:
            raise MatbenchError(f"{text!r}: expected PATH or NAME=PATH")
        return name, Path(path)
    return Path(text).resolve().name, Path(text)


def reference_items(*, dataset=None, alpha_dir=None, trimap_dir=None) -> list[dict]:
    """The reference images: dicts with ``image``, ``alpha``, ``trimap`` (paths) and, from a
    manifest, ``fg``, ``bg``, ``class``, ``merged``. Checked: every alpha and trimap file exists.

    ``dataset`` with ``trimap_dir``: the dataset's images and alphas with the trimaps of that
    folder (``<image>.png``, e.g. one set of ``matbench trimap --dataset``), matched by name.
    """
    if dataset is not None:
        if alpha_dir is not None:
            raise MatbenchError("give either --dataset or --alpha-dir/--trimap-dir, not both")
        from matbench.manifest import read_manifest

        root = Path(dataset)
        trimaps = index_images(trimap_dir, "trimap") if trimap_dir is not None else None
        items, seen = [], set()
        for row in read_manifest(root):
            image = row["image"]
            if image in seen:
                raise MatbenchError(f"{root / 'manifest.csv'}: image {image!r} listed twice")
            seen.add(image)
            for col in ("alpha",) if trimaps is not None else ("alpha", "trimap"):
                if not row.get(col):
                    raise MatbenchError(f"{root / 'manifest.csv'}: image {image!r} has no {col} "
                                        f"(a training set? scoring needs a test set with trimaps)")
            trimap = root / row["trimap"] if trimaps is None else trimaps.get(image, Path(trimap_dir) / f"{image}.png")
            items.append({"image": image, "alpha": root / row["alpha"], "trimap": trimap,
                          "fg": row.get("fg", ""), "bg": row.get("bg", ""), "class": row.get("class", ""),
                          "merged": root / row["merged"] if row.get("merged") else None})
        if not items:
            raise MatbenchError(f"{root / 'manifest.csv'}: no images")
    else:
        if alpha_dir is None or trimap_dir is None:
            raise MatbenchError("give --dataset DIR, or both --alpha-dir and --trimap-dir")
        trimaps = index_images(trimap_dir, "trimap")
        alphas = index_images(alpha_dir, "alpha")
        if not trimaps:
            raise MatbenchError(f"{trimap_dir}: no trimap images")
        items = []
        for stem, trimap in trimaps.items():
            alpha = alphas.get(stem)
            if alpha is None:  # Adobe layout: one alpha per foreground, composites STEM_K
                m = _SUFFIX_K.match(stem)
                alpha = alphas.get(m["stem"]) if m else None
            if alpha is None:
                raise MatbenchError(f"{Path(alpha_dir) / (stem + '.png')}: alpha not found for trimap {trimap.name}")
            items.append({"image": stem, "alpha": alpha, "trimap": trimap})
    for it in items:
        for col in ("alpha", "trimap"):
            if not Path(it[col]).is_file():
                raise MatbenchError(f"{it[col]}: {col} file not found (image {it['image']})")
    return items


def read_run_info(folder) -> dict | None:
    """The ``run.json`` that ``matbench run`` leaves in a prediction folder, or None."""
    path = Path(folder) / RUN_JSON
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        warnings.warn(f"{path}: unreadable run.json, ignored", stacklevel=3)
        return None
    return info if isinstance(info, dict) else None


# --------------------------------------------------------------------------- work

def _score_image(item: dict, preds: list, mask_known: bool) -> tuple[list[dict], int]:
    """Rows for one reference image and every model that has a prediction for it."""
    from matbench.metrics import evaluate, trimap_other_count

    gt = read_matte(item["alpha"])
    trimap = read_matte(item["trimap"])
    if gt.shape != trimap.shape:
        raise MatbenchError(f"{item['trimap']}: trimap is {_wh(trimap)} but alpha {Path(item['alpha']).name} "
                            f"is {_wh(gt)}")
    # pixels that are none of 0/128/255: belong to no region in the reference
    other = trimap_other_count(trimap)
    unknown_px = int(np.count_nonzero(trimap == 128))
    known = (trimap == 0, trimap == 255) if mask_known else None
    rows = []
    for model, pred_path in preds:
        pred = read_matte(pred_path)
        if pred.shape != gt.shape:
            raise MatbenchError(f"{pred_path}: prediction is {_wh(pred)} but alpha {Path(item['alpha']).name} "
                                f"is {_wh(gt)}")
        if known is not None:
            pred = pred.copy()
            pred[known[0]] = 0
            pred[known[1]] = 255
        row = {"model": model, "image": item["image"]}
        row.update(evaluate(pred, gt, trimap), unknown_px=unknown_px)
        rows.append(row)
    return rows, other


def _score_chunk(chunk, mask_known):
    return [_score_image(item, preds, mask_known) for item, preds in chunk]


def _wh(a) -> str:
    return f"{a.shape[1]}×{a.shape[0]}"


def score(pred_dirs, *, dataset=None, alpha_dir=None, trimap_dir=None, jobs: int = 1, mask_known: bool = False,
          allow_missing: bool = False, progress: bool = True):
    """Per-image reference metrics of every model: a ``pandas.DataFrame``, one row per model × image.

    ``pred_dirs``: prediction folders (a path, ``"name=path"`` strings, or a dict name -> path);
    each is one model, named after its folder unless renamed. Reference: ``dataset`` (a
    matbench dataset folder; its manifest gives each image's alpha, trimap, fg, bg, class) or
    ``alpha_dir`` + ``trimap_dir`` (matched by stem; ``STEM_K`` maps to alpha ``STEM`` when
    there is no exact match, the Adobe one-alpha-per-foreground layout).

    Columns: ``model, image, sad, mse, grad, conn`` in the reference units of
    :mod:`matbench.metrics` (SAD, Grad, Conn ÷ 1000; raw MSE, NaN for an image without unknown
    pixels), the extras ``mad, sad_image, sad_unknown, sad_fg, sad_bg``, ``unknown_px`` (pixels
    with trimap == 128), then ``fg, bg, class`` from a manifest. Rows are ordered by model (as given), then reference image order.

    ``mask_known``: set the prediction to 0 where trimap == 0 and 255 where trimap == 255
    before scoring (the reference scores predictions as given). ``allow_missing``: score the
    images that have predictions instead of failing. ``jobs``: worker processes.

    ``df.attrs`` holds ``mask_known``, ``n_reference`` (reference image count), ``coverage``
    (model -> images scored), ``runs`` (model -> its ``run.json`` or None), ``trimap_other``
    (image -> pixels not 0/128/255), ``pred_dirs`` (model -> folder) and ``provenance``
    (matbench version, UTC date, reference set: :func:`matbench.scorefiles.score_provenance`).
    """
    import pandas as pd

    models = parse_pred_dirs(pred_dirs)
    items = reference_items(dataset=dataset, alpha_dir=alpha_dir, trimap_dir=trimap_dir)
    names = [it["image"] for it in items]
    reference = set(names)

    found: dict[str, dict[str, Path]] = {}
    missing_msgs = []
    coverage = {}
    for model, folder in models:
        preds = index_images(folder, "prediction")
        extra = sorted(set(preds) - reference)
        if extra:
            warnings.warn(f"{folder}: {len(extra)} file(s) not in the reference set ignored: "
                          f"{_listing(extra)}", stacklevel=2)
        missing = [n for n in names if n not in preds]
        if missing:
            missing_msgs.append(f"{folder} ({model}): {len(missing)} of {len(names)} missing: {_listing(missing, 0)}")
        found[model] = {n: p for n, p in preds.items() if n in reference}
        coverage[model] = len(names) - len(missing)
    if missing_msgs:
        if not allow_missing:
            raise MatbenchError("missing predictions: " + "; ".join(missing_msgs) + " (--allow-missing scores the rest)")
        for model, n in coverage.items():
            if n < len(names):
                warnings.warn(f"{model}: {n} of {len(names)} images scored ({100 * n / len(names):.1f}% coverage)",
                              stacklevel=2)

    work = []
    for it in items:
        preds = [(model, found[model][it["image"]]) for model, _ in models if it["image"] in found[model]]
        if preds:
            work.append((it, preds))
    total = sum(len(p) for _, p in work)
    if not total:
        raise MatbenchError("no predictions to score: none of the prediction folders has an image of the reference set")

    rows_by_model: dict[str, list] = {model: [] for model, _ in models}
    trimap_other: dict[str, int] = {}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="pred", desc="score", smoothing=0.05)
    try:
        for rows, other in _run(work, jobs, mask_known):
            if other:
                trimap_other[rows[0]["image"]] = other
            for row in rows:
                rows_by_model[row["model"]].append(row)
            if bar is not None:
                bar.update(len(rows))
    finally:
        if bar is not None:
            bar.close()

    if trimap_other:
        worst = max(trimap_other, key=trimap_other.get)
        warnings.warn(f"{len(trimap_other)} trimap(s) have values other than 0/128/255 "
                      f"({sum(trimap_other.values())} pixels; most in {worst}: {trimap_other[worst]}); "
                      f"they count as neither unknown nor known, as in the reference", stacklevel=2)

    from matbench.metrics import EXTRA_KEYS

    columns = ["model", "image", *METRIC_KEYS, *EXTRA_KEYS, "unknown_px"]
    df = pd.DataFrame([r for model, _ in models for r in rows_by_model[model]], columns=columns)
    if dataset is not None:
        meta = pd.DataFrame([{"image": it["image"], "fg": it["fg"], "bg": it["bg"], "class": it["class"]}
                             for it in items])
        df = df.merge(meta, on="image", how="left", sort=False)
    for key in (*METRIC_KEYS, *EXTRA_KEYS):
        df[key] = df[key].astype(float)
    df.attrs.update({
        "mask_known": bool(mask_known),
        "n_reference": len(names),
        "coverage": coverage,
        "runs": {model: read_run_info(folder) for model, folder in models},
        "pred_dirs": {model: str(folder) for model, folder in models},
        "trimap_other": trimap_other,
        "provenance": score_provenance(dataset=dataset, alpha_dir=alpha_dir, trimap_dir=trimap_dir),
    })
    return df


def _run(work, jobs, mask_known):
    """Yield ``(rows, trimap_other)`` per image, in order, streaming from the workers."""
    jobs = resolve_jobs(jobs)
    # chunks of a few images: amortise the task overhead, keep the progress bar moving
    size = max(1, min(8, len(work) // (4 * jobs)))
    chunks = [work[i:i + size] for i in range(0, len(work), size)]
    for chunk in imap(partial(_score_chunk, mask_known=mask_known), chunks, jobs=jobs):
        yield from chunk


def _listing(names, limit: int = 10) -> str:
    """Comma list of names; the first ``limit`` of them when ``limit`` > 0."""
    if limit and len(names) > limit:
        return ", ".join(names[:limit]) + f", … ({len(names) - limit} more)"
    return ", ".join(names)
