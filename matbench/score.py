"""Score prediction folders against a reference set: one row per model × image.

The reference image set is the dataset's manifest (``dataset=``) or the trimap folder
(``alpha_dir=`` + ``trimap_dir=``); predictions are matched to it by file stem
(``PRED_DIR/<image>.png``, or any image suffix). Every number comes from
:func:`matbench.metrics.evaluate`, i.e. the DIM MATLAB evaluation code's definitions, on
the prediction as given (``mask_known`` applies the usual post-processing first).

Strictness, because a benchmark must never be silently wrong (the whole rule:
:mod:`matbench.mattes` and the README's "Strictness" section):

- every file is read by the one matte rule (:func:`matbench.mattes.read_matte`): gray,
  equal-channel colour and gray-identity palette files are read as the MATLAB driver reads
  them; colour, cut-out (RGBA), non-gray palette, 1/16-bit and float files are refused unless
  ``matte_channel`` says which channel holds the matte;
- the reference set is complete: every trimap has its alpha and every alpha a trimap (or,
  from a manifest, every listed file exists); all missing files are listed in one error;
- a prediction missing for any reference image is an error listing all of them (or, with
  ``allow_missing``, the image is skipped and the coverage reported in ``df.attrs``);
- the headers of every alpha, trimap and prediction (size, mode, bit depth) are checked
  before any metric is computed, and problems found while decoding (ambiguous colour,
  truncated data) are collected over all images; either way every problem is reported in
  one ``MatbenchError`` and no table is returned;
- extra files in a prediction folder, trimap values other than 0/128/255 (only 128 is
  "unknown" in the reference) and lossy (JPEG/WebP) mattes are reported as warnings.

Work is done per reference image (alpha and trimap decoded once for all models). With one
job a reader thread decodes the next images while this process computes the metrics of the
current one (a bounded read-ahead); with ``jobs > 1`` (joblib processes) or a dask cluster
(``scheduler``) in chunks of a few images, each worker overlapping likewise. Results stream
back in order, so memory does not grow with the number of images and the table is identical
for any ``jobs`` and on a cluster.
"""
from __future__ import annotations

import json
import re
import sys
import warnings
from functools import partial
from pathlib import Path


from matbench.errors import MatbenchError, capped_list
from matbench.io import check_folder, index_images
from matbench.mattes import (InputCheck, Notes, colour_mode, decode_problems, exif_note, raise_grouped,
                              raise_problems, try_read_matte)
from matbench.parallel import imap, prefetch, resolve_jobs, scheduler_address, workers
from matbench.scorefiles import score_provenance
from matbench.trimap import per_foreground_hint

__all__ = ["score", "parse_pred_dirs", "split_label", "reference_items", "read_run_info"]

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
    out, seen, folders = [], {}, {}
    for name, path in items:
        path = Path(path)
        name = str(name) or path.resolve().name
        check_folder(path, "prediction")
        if name in seen:
            raise MatbenchError(f"two prediction folders named {name!r} ({seen[name]}, {path}); "
                                f"rename one with NAME=PATH")
        seen[name] = path
        same = folders.setdefault(path.resolve(), name)
        if same != name:
            warnings.warn(f"{path}: models {same!r} and {name!r} are the same folder ({path.resolve()}), scored "
                          f"twice under two names; give each folder once", stacklevel=3)
        out.append((name, path))
    return out


def split_label(text: str, what: str = "NAME") -> tuple[str | None, str]:
    """``"LABEL=PATH"`` -> ``("LABEL", "PATH")``; a plain path, or an existing file or folder
    whose name has ``=`` in it, -> ``(None, PATH)``. The one rule for the command line's
    ``NAME=PATH`` (prediction folders), ``WIDTH=PATH`` (report scores) and ``MODEL=DIR``.
    MatbenchError (``expected PATH or <what>=PATH``) for an empty label or path."""
    if "=" in text and not Path(text).exists():
        label, _, path = text.partition("=")
        if not label or not path:
            raise MatbenchError(f"{text!r}: expected PATH or {what}=PATH")
        return label, path
    return None, text


def _split_name(item) -> tuple[str, Path]:
    """``(model name, folder)`` of a Path or a ``NAME=PATH`` string; a bare path is named after
    its folder."""
    if isinstance(item, Path):
        return item.resolve().name, item
    name, path = split_label(str(item))
    return name or Path(path).resolve().name, Path(path)


def reference_items(*, dataset=None, alpha_dir=None, trimap_dir=None) -> list[dict]:
    """The reference images: dicts with ``image``, ``alpha``, ``trimap`` (paths) and, from a
    manifest, ``fg``, ``bg``, ``class``, ``merged``.

    ``dataset`` with ``trimap_dir``: the dataset's images and alphas with the trimaps of that
    folder (``<image>.png``, e.g. one set of ``matbench trimap --dataset``), matched by name.

    Checked, every problem listed in one MatbenchError: every alpha and trimap file exists;
    with folders, every trimap has an alpha (``STEM`` or, for ``STEM_K``, the Adobe layout's
    one alpha per foreground ``STEM``) and every alpha at least one trimap.
    """
    if dataset is not None:
        if alpha_dir is not None:
            raise MatbenchError("give either --dataset (its alphas; --trimap-dir may replace its trimaps) or the "
                                "folders --alpha-dir and --trimap-dir, not both")
        items = _manifest_items(Path(dataset), trimap_dir)
    else:
        if alpha_dir is None or trimap_dir is None:
            raise MatbenchError(reference_mode_advice(alpha_dir, trimap_dir))
        items = _folder_items(Path(alpha_dir), Path(trimap_dir))
    problems = [f"{it[col]}: {col} file not found (image {it['image']})"
                for it in items for col in ("alpha", "trimap") if not Path(it[col]).is_file()]
    if problems and trimap_dir is not None:
        lacking = [it["image"] for it in items if not Path(it["trimap"]).is_file()]
        problems[0] += per_foreground_hint(lacking, index_images(trimap_dir, "trimap"), dataset)
    raise_problems(problems, "reference set")
    return items


def reference_mode_advice(alpha_dir, trimap_dir) -> str:
    """The one-line error for an incomplete reference without ``--dataset``, tailored to the
    folder given: ``--alpha-dir`` alone needs ``--trimap-dir``; ``--trimap-dir`` alone needs
    ``--alpha-dir`` (folder mode) or ``--dataset``; nothing given: either mode."""
    if alpha_dir is not None:
        return (f"--alpha-dir {alpha_dir} needs --trimap-dir DIR, the trimaps to score with (<image>.png, e.g. "
                f"made by matbench trimap {alpha_dir} DIR)")
    if trimap_dir is not None:
        return (f"--trimap-dir {trimap_dir} needs the alphas: --alpha-dir DIR (folders), or --dataset DIR "
                f"(its alphas with these trimaps)")
    return "give --dataset DIR, or both --alpha-dir and --trimap-dir"


def _manifest_items(root: Path, trimap_dir=None) -> list[dict]:
    """The manifest's images; their trimaps from ``trimap_dir`` (``<image>.png``) when given."""
    from matbench.manifest import expected_sha256, read_manifest

    trimaps = index_images(trimap_dir, "trimap") if trimap_dir is not None else None
    items, seen, problems = [], set(), []
    for row in read_manifest(root):
        image = row["image"]
        if image in seen:
            raise MatbenchError(f"{root / 'manifest.csv'}: image {image!r} listed twice")
        seen.add(image)
        empty = [col for col in (("alpha",) if trimaps is not None else ("alpha", "trimap")) if not row.get(col)]
        if empty:
            problems.append(f"{root / 'manifest.csv'}: image {image!r} has no {' and no '.join(empty)} "
                            f"(a training set? scoring needs a test set with trimaps)")
            continue
        trimap = root / row["trimap"] if trimaps is None else trimaps.get(image, Path(trimap_dir) / f"{image}.png")
        items.append({"image": image, "alpha": root / row["alpha"], "trimap": trimap,
                      "fg": row.get("fg", ""), "bg": row.get("bg", ""), "class": row.get("class", ""),
                      "merged": root / row["merged"] if row.get("merged") else None,
                      # the manifest's sha256 of the reference files read (the dataset's own trimaps only)
                      "expected": expected_sha256(root, [row], ("alpha",) if trimaps is not None else
                                                  ("alpha", "trimap"))})
    raise_problems(problems, "reference set")
    if not items:
        raise MatbenchError(f"{root / 'manifest.csv'}: no images")
    return items


def _folder_items(alpha_dir: Path, trimap_dir: Path) -> list[dict]:
    trimaps = index_images(trimap_dir, "trimap")
    alphas = index_images(alpha_dir, "alpha")
    if not trimaps:
        raise MatbenchError(f"{trimap_dir}: no trimap images")
    items, used, problems = [], set(), []
    for stem, trimap in trimaps.items():
        m = _SUFFIX_K.match(stem)
        # exact name first, else the Adobe layout: one alpha per foreground, composites STEM_K
        key = stem if stem in alphas else (m["stem"] if m and m["stem"] in alphas else None)
        if key is None:
            also = f" (or {m['stem']}.png)" if m else ""
            problems.append(f"{alpha_dir / (stem + '.png')}: alpha not found{also} for trimap {trimap.name}")
            continue
        used.add(key)
        items.append({"image": stem, "alpha": alphas[key], "trimap": trimap})
    problems += [f"{trimap_dir / (stem + '.png')}: trimap not found (nor any {stem}_K) for alpha {alpha.name}"
                 for stem, alpha in alphas.items() if stem not in used]
    raise_problems(problems, "reference set")
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

def _read_image(work_item, matte_channel) -> tuple:
    """Decode one reference image's alpha, trimap and predictions by the matte rule:
    ``(gt, trimap, [(model, path, pred)], problems, changed)`` (arrays None where a problem was
    met; ``changed``: the reference files whose decoded pixels differ from the sha256 the
    dataset's manifest records, :func:`matbench.manifest.changed_since_build`)."""
    from matbench.manifest import changed_since_build

    item, preds = work_item
    problems = []
    gt = try_read_matte(item["alpha"], matte_channel, problems)
    trimap = try_read_matte(item["trimap"], matte_channel, problems)
    changed = [str(item[col]) for col, arr in (("alpha", gt), ("trimap", trimap))
               if arr is not None and changed_since_build(item[col], arr, item.get("expected"))]
    pred_arrays = [(model, path, try_read_matte(path, matte_channel, problems)) for model, path in preds]
    return gt, trimap, pred_arrays, problems, changed


def _score_decoded(item: dict, decoded: tuple, mask_known: bool) -> tuple[list[dict], int, list[str], list[str]]:
    """Rows for one reference image and every model that has a prediction for it, the trimap's
    count of values other than 0/128/255, the problems met while decoding and the reference
    files changed since the dataset was built (either: no rows)."""
    from matbench.metrics import evaluate, trimap_counts

    gt, trimap, pred_arrays, problems, changed = decoded
    if problems or changed:
        return [], 0, problems, changed
    if gt.shape != trimap.shape:  # headers were checked; a file changed since
        problems.append(f"{item['trimap']}: trimap is {_wh(trimap)} but alpha {Path(item['alpha']).name} is {_wh(gt)}"
                        f"{exif_note(item['trimap'], item['alpha'])}")
    problems += [f"{path}: prediction is {_wh(pred)} but alpha {Path(item['alpha']).name} is {_wh(gt)}"
                 f"{exif_note(path, item['alpha'])}" for _, path, pred in pred_arrays if pred.shape != gt.shape]
    if problems:
        return [], 0, problems, []
    unknown_px, other = trimap_counts(trimap)  # one pass for both
    known = (trimap == 0, trimap == 255) if mask_known else None
    rows = []
    alpha_max = int(gt.max())
    for model, _, pred in pred_arrays:
        zero_one = alpha_max > 1 and int(pred.max()) == 1  # all 0/1: saved without × 255?
        if known is not None:
            pred = pred.copy()
            pred[known[0]] = 0
            pred[known[1]] = 255
        row = {"model": model, "image": item["image"]}
        row.update(evaluate(pred, gt, trimap), unknown_px=unknown_px, zero_one=zero_one)
        rows.append(row)
    # pixels that are none of 0/128/255: belong to no region in the reference
    return rows, other, [], []


def _scored(work, mask_known, matte_channel, ahead: int):
    """``_score_decoded`` of every work item, in order; a reader thread decodes ``ahead`` images
    in advance (started at once), so decoding overlaps with computing the metrics."""
    decoded = prefetch(partial(_read_image, matte_channel=matte_channel), work, ahead)
    return (_score_decoded(item, d, mask_known) for (item, _), d in zip(work, decoded))


def _score_chunk(chunk, mask_known, matte_channel, ahead=2):
    return list(_scored(chunk, mask_known, matte_channel, ahead))


def _wh(a) -> str:
    return f"{a.shape[1]}×{a.shape[0]}"


def score(pred_dirs, *, dataset=None, alpha_dir=None, trimap_dir=None, jobs: int = 1, mask_known: bool = False,
          allow_missing: bool = False, matte_channel: str | None = None, progress: bool = True, scheduler=None):
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
    images that have predictions instead of failing. ``jobs``: worker processes (one job: this
    process, with a reader thread decoding ahead). ``scheduler``: the address of a dask
    cluster to run on instead (default ``$MATBENCH_SCHEDULER``; :mod:`matbench.parallel`).
    ``matte_channel``: ``None`` (refuse ambiguous files), ``"red"`` or ``"alpha"``: which
    channel of an otherwise refused colour file (prediction, alpha or trimap) is the matte
    (:mod:`matbench.mattes`). ``progress``: a progress bar on stderr, preceded, when numba's
    cache is cold, by a line announcing the one-off compilation of the metric kernels.

    Missing predictions are listed per model (the first 10, then the count), saying so when the
    folder's ``run.json`` records an unfinished run and the command that resumes it. With
    folders, a prediction named after an alpha (``STEM`` or ``STEM_K``) whose trimap is missing
    is an error (skipped with a warning under ``allow_missing``). A ``run.json`` recording
    another dataset or other trimaps than the reference is warned about.

    Raises MatbenchError listing every problem (missing files, refused or mismatched files)
    before any metric is computed, or, for problems found while decoding, after all images
    were read; nothing is returned then.

    ``df.attrs`` holds ``mask_known``, ``matte_channel``, ``n_reference`` (reference image
    count), ``coverage`` (model -> images scored), ``runs`` (model -> its ``run.json`` or
    None), ``trimap_other`` (image -> pixels not 0/128/255), ``pred_dirs`` (model -> folder)
    and ``provenance`` (matbench version, UTC date, reference set:
    :func:`matbench.scorefiles.score_provenance`), ``warnings`` (every warning issued while
    scoring, one line each: run.json made from other trimaps or another dataset, 0/1
    predictions, lossy mattes, trimap values other than 0/128/255, a folder scored twice,
    ignored files, partial coverage; they are also shown as usual). Every score file states
    them (:mod:`matbench.leaderboard` notes, ``per_image.json``).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            df = _score(pred_dirs, dataset=dataset, alpha_dir=alpha_dir, trimap_dir=trimap_dir, jobs=jobs,
                        mask_known=mask_known, allow_missing=allow_missing, matte_channel=matte_channel,
                        progress=progress, scheduler=scheduler)
        finally:
            caught_now = list(caught)
    for w in caught_now:  # shown as usual (the caller's filters apply), and recorded with the scores
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    df.attrs["warnings"] = list(dict.fromkeys(str(w.message) for w in caught_now))
    return df


def _score(pred_dirs, *, dataset, alpha_dir, trimap_dir, jobs, mask_known, allow_missing, matte_channel, progress,
           scheduler):
    """:func:`score` without recording its warnings."""
    check = InputCheck(matte_channel)  # validates matte_channel first
    warm = _warm_up(progress)  # meanwhile: pairing, header checks, the first decodes
    models = parse_pred_dirs(pred_dirs)
    items = reference_items(dataset=dataset, alpha_dir=alpha_dir, trimap_dir=trimap_dir)
    names = [it["image"] for it in items]
    reference = set(names)

    found: dict[str, dict[str, Path]] = {}
    duplicates, missing_msgs, no_trimap = [], [], []
    coverage = {}
    runs = {model: read_run_info(folder) for model, folder in models}
    reference_ids = _reference_ids(runs.values(), dataset, trimap_dir)
    alphas = set(index_images(alpha_dir, "alpha")) if alpha_dir is not None and dataset is None else set()
    trimap_names = {Path(it["trimap"]).stem for it in items}
    for model, folder in models:
        preds = index_images(folder, "prediction", duplicates)
        extra = sorted(set(preds) - reference)
        if alphas:  # folders: named after an alpha (STEM or STEM_K) whose trimap is missing
            lacking = [n for n in extra if n in alphas or (_SUFFIX_K.match(n) and _SUFFIX_K.match(n)["stem"] in alphas)]
            if lacking:
                no_trimap.append(f"trimap missing: {folder} ({model}): {len(lacking)} prediction(s) whose alpha is in {alpha_dir} "
                                 f"but whose trimap is not in {trimap_dir}: {capped_list(lacking)}"
                                 f"{per_foreground_hint(lacking, trimap_names)}")
            extra = [n for n in extra if n not in lacking]
        if extra:
            warnings.warn(f"{folder}: {len(extra)} file(s) not in the reference set ignored: "
                          f"{capped_list(extra)}", stacklevel=2)
        _warn_other_reference(model, folder, runs[model], reference_ids, dataset=dataset, trimap_dir=trimap_dir)
        missing = [n for n in names if n not in preds]
        if missing:
            missing_msgs.append(f"missing predictions: {folder} ({model}): {len(missing)} of {len(names)} missing: "
                                f"{capped_list(missing)}{_unfinished(folder, runs[model], len(names))}"
                                f"{_misplaced_hint(folder, missing)}")
        found[model] = {n: p for n, p in preds.items() if n in reference}
        coverage[model] = len(names) - len(missing)
    if allow_missing:
        if no_trimap:
            warnings.warn("not scored, trimap missing: " + "; ".join(no_trimap), stacklevel=2)
        for model, n in coverage.items():
            if n < len(names):
                warnings.warn(f"{model}: {n} of {len(names)} images scored ({100 * n / len(names):.1f}% coverage)",
                              stacklevel=2)
        no_trimap, missing_msgs = [], []
    if no_trimap:
        no_trimap[-1] += " (add the trimaps; --allow-missing scores the images that have one)"
    if missing_msgs:
        missing_msgs[-1] += " (--allow-missing scores the rest)"

    work = []
    for it in items:
        preds = [(model, found[model][it["image"]]) for model, _ in models if it["image"] in found[model]]
        if preds:
            work.append((it, preds))
    total = sum(len(p) for _, p in work)
    if not total and not (duplicates or no_trimap or missing_msgs):
        raise MatbenchError("no predictions to score: none of the prediction folders has an image of the reference set")
    image_bytes = _check_headers(check, work, [("duplicate names", duplicates), ("trimap missing", no_trimap),
                                               ("missing predictions", missing_msgs)], matte_channel)

    rows_by_model: dict[str, list] = {model: [] for model, _ in models}
    trimap_other: dict[str, int] = {}
    odd = Notes()
    problems, changed = [], []
    # the reader thread starts decoding now, while the metric kernels are being loaded
    results = _run(work, jobs, mask_known, matte_channel, scheduler, image_bytes)
    warm.result()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="pred", desc="score", smoothing=0.05)
    try:
        for (it, preds), (rows, other, bad, diff) in zip(work, results):
            problems += bad
            changed += diff
            if other:
                trimap_other[it["image"]] = other
                odd.trimap(it["trimap"], other)
            for row in rows:
                rows_by_model[row["model"]].append(row)
            if bar is not None:
                bar.update(len(preds))
    finally:
        if bar is not None:
            bar.close()
    _raise_changed(dataset, changed)
    raise_problems(problems)
    odd.warn()
    _warn_zero_one(rows_by_model)

    import pandas as pd

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
        "matte_channel": matte_channel,
        "n_reference": len(names),
        "coverage": coverage,
        "runs": runs,
        "pred_dirs": {model: str(folder) for model, folder in models},
        "trimap_other": trimap_other,
        "provenance": score_provenance(dataset=dataset, alpha_dir=alpha_dir, trimap_dir=trimap_dir),
    })
    return df


def _raise_changed(dataset, changed) -> None:
    """One MatbenchError listing the reference files (alphas, the dataset's trimaps) whose decoded
    pixels differ from the sha256 in ``dataset``'s manifest: scores against them would not be
    the dataset's; says how to check and repair it. Nothing when there is none."""
    if not changed:
        return
    from matbench.manifest import changed_advice

    changed = list(dict.fromkeys(changed))
    raise MatbenchError(f"{dataset}: {len(changed)} reference file(s) changed since the dataset was built (their "
                        f"decoded pixels differ from the sha256 in its manifest.csv), nothing scored: "
                        f"{capped_list(changed)}; {changed_advice(dataset, changed)}")


def _warn_zero_one(rows_by_model) -> None:
    """Warn (one line per model) about predictions whose largest value is 1 (only 0 and 1) while
    their alphas are not 0/1: most likely a 0..1 matte saved as uint8 without × 255, which the
    reference reads as 1/255 and scores as nearly all background."""
    for model, rows in rows_by_model.items():
        flagged = [r["image"] for r in rows if r.get("zero_one")]
        if flagged:
            warnings.warn(f"{model}: {len(flagged)} of {len(rows)} prediction(s) hold only the values 0 and 1 while "
                          f"their alphas do not (e.g. {capped_list(flagged, 3)}): saved as 0..1 without × 255? "
                          f"They are scored as 0..255 mattes (1 = 1/255)", stacklevel=3)


# files matbench does not read as mattes, named in the missing-predictions hint
OTHER_SUFFIXES = (".npy", ".npz", ".exr", ".pfm", ".mat", ".gif", ".hdr", ".pgm", ".ppm", ".pt", ".pth")


def _misplaced_hint(folder: Path, missing: list[str]) -> str:
    """`` (...)`` when files named after ``missing`` images sit where matbench does not read them:
    in immediate subfolders of ``folder`` (``part0/fur-ball.png``), or directly in it with a
    suffix that is not an image matbench reads (``.npy``, ``.exr``, ...); what was found and what
    to do. File names only (no file is opened); '' when nothing is found."""
    from matbench.io import IMAGE_SUFFIXES

    wanted, subs, other = set(missing), {}, {}
    try:
        entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        for p in entries:
            if p.is_dir():
                n = sum(1 for q in p.iterdir() if q.stem in wanted and q.suffix.lower() in IMAGE_SUFFIXES)
                if n:
                    subs[f"{p.name}/"] = n
            elif p.stem in wanted and p.suffix.lower() not in IMAGE_SUFFIXES:
                key = p.suffix.lower() or "(no suffix)"
                other[key] = other.get(key, 0) + 1
    except OSError:
        return ""
    hints = []
    if subs:
        hints.append(f"{sum(subs.values())} are image files in subfolders "
                     f"({capped_list([f'{k} {v}' for k, v in subs.items()], 5)}): matbench reads only the files "
                     f"directly in {folder}; move them there")
    if other:
        hints.append(f"{sum(other.values())} are {'/'.join(other)} files, which matbench does not read: save each "
                     f"prediction as an 8-bit gray PNG <image>.png (a float matte a in 0..1: round(a·255) as uint8)")
    return f" (of the missing: {'; '.join(hints)})" if hints else ""


def _unfinished(folder: Path, run: dict | None, n_reference: int) -> str:
    """`` (...)`` telling that ``folder``'s ``run.json`` records an unfinished run, or a run over
    fewer images than the reference set, and how to resume; '' otherwise."""
    if not run:
        return ""
    images = run.get("images")
    if run.get("complete") is False:
        return (f" (its run.json records an unfinished run of {run.get('method', '?')}: rerun the same matbench "
                f"run command to resume, e.g. {_run_command(folder, run)})")
    if isinstance(images, int) and images < n_reference:
        return f" (its run.json records a run over {images} images, the reference set has {n_reference})"
    return ""


def _run_command(folder: Path, run: dict) -> str:
    """The ``matbench run`` command line a ``run.json`` was written by (method, inputs, --out;
    other options as recorded: checkpoint, stage, max-side, tile, matte-channel)."""
    import shlex

    flags = {"dataset": "--dataset", "images": "--images", "trimaps": "--trimaps"}
    parts = ["matbench", "run", str(run.get("method", "?"))]
    for key, value in (run.get("input") or {}).items():
        if key in flags:
            parts += [flags[key], shlex.quote(str(value))]
    opts = run.get("options") or {}
    for key in ("checkpoint", "stage", "max_side", "tile", "matte_channel", "threads"):
        if opts.get(key) is not None:
            parts += ["--" + key.replace("_", "-"), shlex.quote(str(opts[key]))]
    return " ".join(parts + ["--out", shlex.quote(str(folder))])


def _reference_ids(runs, dataset, trimap_dir) -> dict:
    """What identifies the scoring reference, as a ``run.json`` ``input`` records it
    (``dataset_manifest_sha256``, ``trimaps_sha256``), computed once for all models and only
    when some model's ``run.json`` records that hash to compare with."""
    recorded = {k for run in runs if isinstance((run or {}).get("input"), dict) for k in run["input"]}
    ids = {}
    if dataset is not None and "dataset_manifest_sha256" in recorded:
        from matbench.manifest import manifest_sha256

        ids["dataset_manifest_sha256"] = manifest_sha256(dataset)
    if trimap_dir is not None and "trimaps_sha256" in recorded:
        from matbench.trimap import trimaps_sha256

        ids["trimaps_sha256"] = trimaps_sha256(trimap_dir)
    return ids


def _warn_other_reference(model: str, folder: Path, run: dict | None, reference_ids: dict, *, dataset=None,
                          trimap_dir=None) -> None:
    """Warn (one line) when ``folder``'s ``run.json`` records predictions made from another
    dataset, or with other trimaps, than the reference they are scored against (e.g. ``run
    --trimaps T/w12`` scored against the dataset's official trimaps), or with trimaps that have
    changed since (``matbench trimap`` rewrote the folder with another seed). A dataset counts
    by its ``manifest.csv`` sha256 and a trimap folder by :func:`matbench.trimap.trimaps_sha256`
    when the run.json records them (a copy is the same; a path is only informative), else by path;
    ``reference_ids``: those hashes of the reference (:func:`_reference_ids`)."""
    given = (run or {}).get("input")
    if not isinstance(given, dict):
        return
    same = lambda a, b: a is not None and b is not None and Path(a).resolve() == Path(b).resolve()  # noqa: E731
    what = []
    run_trimaps = given.get("trimaps")  # None: the dataset's own trimaps
    if dataset is not None and given.get("dataset"):
        recorded = given.get("dataset_manifest_sha256")
        if (recorded and recorded != reference_ids["dataset_manifest_sha256"]) or (not recorded and not same(given["dataset"], dataset)):
            what.append(f"dataset {given['dataset']}, scored against {dataset}"
                        + (" (another manifest.csv)" if recorded else ""))
        if (run_trimaps is None) != (trimap_dir is None):
            what.append(f"{'trimaps ' + run_trimaps if run_trimaps else 'the dataset trimaps'}, scored against "
                        f"{'trimaps ' + str(trimap_dir) if trimap_dir else 'the dataset trimaps'}")
    if run_trimaps and trimap_dir is not None:
        recorded = given.get("trimaps_sha256")
        if recorded and recorded != reference_ids["trimaps_sha256"]:
            what.append(f"trimaps {run_trimaps}, " + ("which have changed since (other trimap files)"
                                                      if same(run_trimaps, trimap_dir) else
                                                      f"scored against other trimaps, {trimap_dir}"))
        elif not recorded and not same(run_trimaps, trimap_dir):
            what.append(f"trimaps {run_trimaps}, scored against trimaps {trimap_dir}")
    if what:
        warnings.warn(f"{folder} ({model}): its run.json says the predictions were made from "
                      f"{'; '.join(what)}", stacklevel=3)


def _check_headers(check: InputCheck, work, earlier=(), matte_channel=None) -> int:
    """Header of every alpha, trimap and prediction; lossy files warned. Returns the bytes of the
    largest reference image's decoded mattes (alpha, trimap, predictions).

    ``earlier``: ``[(kind, problems)]`` of the checks before (duplicate names, missing files).
    When there is any problem, the colour files whose header passed are decoded too (only they
    can still be refused by their pixels: a cut-out, differing channels, a non-gray palette) and
    everything is raised in one MatbenchError, one section per kind; truncated data is found
    while scoring, once these are fixed."""
    largest = 0
    for it, preds in work:
        gt = check.matte(it["alpha"], "ground-truth alpha")
        check.matte(it["trimap"], "trimap", like=gt)
        for _, path in preds:
            check.matte(path, "prediction", like=gt)
        if gt is not None:
            largest = max(largest, gt.width * gt.height * (2 + len(preds)))
    groups = [*earlier, ("file headers (mode, bit depth, size)", check.problems)]
    if any(lines for _, lines in groups):
        pixels = []
        for path in dict.fromkeys(p for it, preds in work for p in (it["alpha"], it["trimap"], *(q for _, q in preds))):
            if colour_mode(check.matte(path, "file")):
                pixels += decode_problems(path, matte_channel)[0]
        raise_grouped([*groups, ("pixels (colour, cut-out, palette)", pixels)])
    check.notes.warn(stacklevel=3)
    return largest


def _warm_up(progress: bool):
    """Load (or compile) the metric kernels and import pandas in a background thread: a future to
    wait on before the progress bar starts (its ETA would count a compilation). When numba's
    cache is cold a line announces the one-off compilation first."""
    from concurrent.futures import ThreadPoolExecutor

    from matbench.metrics import prepare_kernels

    def warm():
        prepare_kernels(announce=(lambda msg: print(f"matbench: {msg}", file=sys.stderr, flush=True))
                        if progress else None)
        import pandas  # noqa: F401 - needed at the end; imported while the work starts

    pool = ThreadPoolExecutor(1, thread_name_prefix="matbench-warm-up")
    future = pool.submit(warm)
    pool.shutdown(wait=False)  # the thread ends with its one task
    return future


READ_AHEAD_BYTES = 192 << 20  # decoded mattes a reader thread may hold in advance (jobs=1)


def _run(work, jobs, mask_known, matte_channel, scheduler, image_bytes):
    """``(rows, trimap_other, problems)`` per image, in order, streaming from the workers.

    One local job: this process computes while a reader thread decodes up to
    ``READ_AHEAD_BYTES`` of images in advance (2 to 64 images: enough to keep decoding while the metric kernels load). Several jobs or a cluster:
    chunks of a few images per task, each worker overlapping its chunk's decoding likewise."""
    address = scheduler_address(scheduler)
    jobs = resolve_jobs(jobs)
    if jobs == 1 and not address:
        return _scored(work, mask_known, matte_channel, ahead=max(2, min(64, READ_AHEAD_BYTES // max(1, image_bytes))))
    # chunks of a few images: amortise the task overhead, keep the progress bar moving
    size = max(1, min(8, len(work) // (4 * workers(jobs, address))))
    chunks = [work[i:i + size] for i in range(0, len(work), size)]
    done = imap(partial(_score_chunk, mask_known=mask_known, matte_channel=matte_channel), chunks, jobs=jobs,
                scheduler=address)
    return (result for chunk in done for result in chunk)

