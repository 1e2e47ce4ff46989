"""Leaderboards from per-image scores: means in paper or raw units, average ranks, bootstrap
intervals, coverage, published rows, and the Markdown/CSV/LaTeX/HTML/JSON renderings.

Input is the table of :func:`matbench.score` (one row per model × image, reference units:
SAD, Grad, Conn ÷ 1000; raw MSE). Conventions, stated in every rendering:

- ``units="paper"`` prints SAD, Grad, Conn as the DIM MATLAB code does (÷ 1000) and MSE × 1e3,
  as Composition-1K tables do; ``units="raw"`` prints MSE unscaled. CSV headers carry the
  scale (``sad/1e3``, ``mse*1e3``; :mod:`matbench.scorefiles`), LaTeX headers too
  (``SAD ($\\div 10^{3}$)``), JSON has a ``units`` object.
- Statistics depend only on the set of (model, image, value) rows: the table is put in
  image-name order first, so the row order, the reference mode and ``jobs`` change nothing.
- Common images: means, intervals and ranks of the measured models are over the images that
  every measured model has (``n_images``). ``n_scored``/``n_reference`` is a model's coverage
  (``--allow-missing``). When the models' image sets differ, ``<metric>_own`` holds each
  model's mean over all its own images: labelled, never ranked, not comparable across models.
- A model's value is the mean over those images of the per-image values. MSE is NaN for an
  image without unknown pixels (0/0); such images are left out of the MSE mean
  (``nanmean``) and of the MSE rank (a plain mean, as MATLAB's ``mean``, would be NaN).
- Average rank (alphamatting.com style): on every common image the models are ranked per
  metric (1 = best, ties share the mean rank); ``rank_<metric>`` is the mean of those ranks
  over images, ``avg_rank`` the mean of the four. With ``by``, within each group.
- 95% intervals of the means: percentile bootstrap over the common images (in name order),
  ``n_boot`` resamples drawn with ``numpy.random.default_rng(seed)`` (seed 0): reproducible.
- Published rows (``with_published="comp1k"``, ``"sim"`` or a CSV path, columns in :func:`published`)
  are appended with ``kind = "published"``, their dataset and source; they take no part in
  ranks or intervals. A warning says when they are not comparable with the measured rows
  (:func:`matbench.scorefiles.comp1k_mismatch`, :func:`matbench.scorefiles.sim_mismatch`) or
  when that cannot be checked.
- ``run``: method, options and speed from each prediction folder's ``run.json``; speed as
  wall-clock throughput of the whole run (``wall_images_per_second``, all workers) and
  per-worker time (``worker_seconds_per_image``, one-off compile costs excluded).
"""
from __future__ import annotations

import html as _html
import json
import math
import warnings
from pathlib import Path

import numpy as np

from matbench.errors import MatbenchError
from matbench.scorefiles import (MSE_SCALE, column_units, comp1k_mismatch, describe_reference, file_column,
                                 jsonable, metric_scales, reference_label, sim_mismatch, warning_lines)

__all__ = ["leaderboard", "published", "average_ranks", "bootstrap_ci", "common_images", "format_leaderboard",
           "write_leaderboard", "run_summary", "run_speed", "METRICS", "FORMATS", "HEADERS", "UNITS_NOTE"]

METRICS = ("sad", "mse", "grad", "conn")
NAMES = {"sad": "SAD", "mse": "MSE", "grad": "Grad", "conn": "Conn"}  # as papers write them
FORMATS = ("md", "csv", "latex", "html", "json")
SUFFIX = {"md": "md", "csv": "csv", "latex": "tex", "html": "html", "json": "json"}
HEADERS = {
    "paper": {"sad": "SAD/1e3", "mse": "MSE×1e3", "grad": "Grad/1e3", "conn": "Conn/1e3"},
    "raw": {"sad": "SAD/1e3", "mse": "MSE", "grad": "Grad/1e3", "conn": "Conn/1e3"},
}
UNITS_NOTE = {
    "paper": "paper units: SAD, Grad, Conn are the DIM MATLAB sums ÷ 1000; MSE × 1e3 (as Composition-1K tables)",
    "raw": "raw units: SAD, Grad, Conn are the DIM MATLAB sums ÷ 1000; MSE unscaled",
}
GROUPS = ("fg", "bg", "class")
PUBLISHED = {"comp1k": "published_comp1k.csv", "sim": "published_sim.csv"}
COMP1K = "Composition-1K"
SIM = "SIM test set (SIMD)"
# Image counts of the datasets the shipped published files report on (their ``dataset`` column).
DATASET_IMAGES = {COMP1K: 1000, SIM: 890}


# --------------------------------------------------------------------------- statistics

def bootstrap_ci(values, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (NaNs ignored).

    ``n_boot`` resamples of the finite values, with replacement, drawn by
    ``numpy.random.default_rng(seed)``; returns the ``(1 − level)/2`` and ``(1 + level)/2``
    quantiles of the resampled means (Efron & Tibshirani 1993, ch. 13). NaNs for < 2 values.
    The draws pick positions, so give the values in a canonical order (the leaderboard uses
    image-name order) for an interval that does not depend on how the data was given.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    step = max(1, 2_000_000 // v.size)  # bounded memory for large image sets
    for i in range(0, n_boot, step):
        k = min(step, n_boot - i)
        means[i:i + k] = v[rng.integers(0, v.size, size=(k, v.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def common_images(df) -> list:
    """The images (sorted by name) for which every model in ``df`` has a row: the set on which
    models are compared."""
    sets = [set(images) for _, images in df.groupby("model", sort=False)["image"]]
    return sorted(set.intersection(*sets)) if sets else []


def average_ranks(df, metrics=METRICS):
    """Per-image ranks of the models, per metric: a DataFrame indexed by ``image`` with one
    column per ``(metric, model)``; NaN where the metric is NaN or a model lacks the image.

    Rank 1 is the lowest error; ties get the mean of their ranks. Only images that every
    model has (and where the metric is finite for all) are ranked, so ranks are comparable.
    """
    import pandas as pd

    out = {}
    for m in metrics:
        table = df.pivot(index="image", columns="model", values=m)
        table = table[table.notna().all(axis=1)]
        ranks = table.rank(axis=1, method="average")
        for model in ranks.columns:
            out[(m, model)] = ranks[model]
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- published

def read_published_table(name_or_path, shipped: dict, required, what: str = "published table", **read_csv):
    """A published-results CSV as a DataFrame: a name of ``shipped`` (name -> file shipped in
    ``matbench.manifests``) or a path; lines starting with ``#`` are comments; ``read_csv``
    goes to :func:`pandas.read_csv`. MatbenchError when the file is missing or lacks a
    ``required`` column."""
    import pandas as pd

    if str(name_or_path) in shipped:
        from importlib.resources import files

        with (files("matbench.manifests") / shipped[str(name_or_path)]).open("r", encoding="utf-8") as f:
            pub = pd.read_csv(f, comment="#", **read_csv)
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise MatbenchError(f"{path}: {what} not found (known: {', '.join(shipped)})")
        pub = pd.read_csv(path, comment="#", **read_csv)
    missing = [c for c in required if c not in pub.columns]
    if missing:
        raise MatbenchError(f"{name_or_path}: {what} lacks columns {', '.join(missing)}")
    return pub


# A published MSE read as paper units (× 1e3) below this is implausible: matting methods report
# paper-unit MSE of about 1..100 (raw 0.001..0.1), so such a value is most likely raw MSE
# entered without a units column (0.002 read as paper units prints as MSE 0.00).
PAPER_MSE_FLOOR = 0.1


def published(name_or_path="comp1k", *, units: str = "paper"):
    """Published results as a DataFrame, MSE converted to ``units``.

    ``name_or_path``: ``"comp1k"`` or ``"sim"`` (``published_comp1k.csv`` / ``published_sim.csv``
    shipped in ``matbench.manifests``) or the path of a CSV (lines starting with ``#`` are comments) with the columns:

    - ``method``, ``sad``, ``mse``, ``grad``, ``conn``, ``source`` (required; an empty metric
      cell is a value the paper does not report);
    - ``units``: ``paper`` (MSE × 1e3, as Composition-1K tables print it) or ``raw`` (MSE
      unscaled); words after the first are ignored (``paper (MSE x1e3)``). SAD, Grad, Conn
      are the DIM MATLAB sums ÷ 1000 in both. **No column, or an empty cell: paper units.**
      A paper-unit MSE below ``PAPER_MSE_FLOOR`` (0.1, i.e. raw 1e-4) is warned about as
      likely raw MSE without its units column.
    - ``dataset``: what the numbers were measured on (``Composition-1K``); names the published
      section and decides the comparability check. Empty when absent.
    - optional: ``venue``, ``year``, ``verified`` (``no`` prints the source as UNVERIFIED),
      ``note`` (the leaderboard's ``note`` column; shown in the published section).

    The result has those columns, ``units`` set to ``units`` (the values are converted).
    Raises MatbenchError for a missing file, a missing column, a non-numeric metric or an
    unknown ``units`` value (naming the row).
    """
    import pandas as pd

    check_units(units)
    pub = read_published_table(name_or_path, PUBLISHED, ("method", *METRICS, "source"),
                               dtype=str, keep_default_na=False)
    pub = pub.copy()
    for m in METRICS:
        text = pub[m].str.strip()
        pub[m] = pd.to_numeric(text.replace("", math.nan), errors="coerce")
        bad = text.ne("") & pub[m].isna()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise MatbenchError(f"{name_or_path}: {pub['method'].iloc[i]}: {m} {text.iloc[i]!r} is not a number")
    given = pub["units"] if "units" in pub.columns else pd.Series([""] * len(pub), index=pub.index)
    factor, tiny = [], []
    for method, u, mse in zip(pub["method"], given, pub["mse"]):
        word = (u.split() or ["paper"])[0].lower()
        if word not in MSE_SCALE:
            raise MatbenchError(f"{name_or_path}: {method}: units {u!r}: expected paper (MSE × 1e3) or raw")
        factor.append(MSE_SCALE[units] / MSE_SCALE[word])
        if word == "paper" and mse < PAPER_MSE_FLOOR:
            tiny.append(f"{method} {mse:g}")
    if tiny:
        warnings.warn(f"{name_or_path}: MSE read as paper units (× 1e3) is below {PAPER_MSE_FLOOR:g} for "
                      f"{', '.join(tiny[:3])}{f' (+{len(tiny) - 3} more)' if len(tiny) > 3 else ''}, smaller than "
                      f"any published matting result: raw MSE? add a units column saying raw", stacklevel=2)
    pub["mse"] = pub["mse"] * np.asarray(factor, dtype=float)
    pub["units"] = units
    pub["dataset"] = pub["dataset"].str.strip() if "dataset" in pub.columns else ""
    return pub


def _published_rows(name, units, by, reference, n_common):
    """Rows of the published table for the leaderboard, and what to say about them (``dataset``
    label, ``not_comparable`` reason or None, the ``note``); warns when not comparable."""
    import pandas as pd

    pub = published(name, units=units)
    datasets = list(dict.fromkeys(d for d in pub["dataset"] if d))
    label = ", ".join(datasets) or None
    if datasets == [COMP1K]:
        why = comp1k_mismatch(reference, n_common)
    elif datasets == [SIM]:
        why = sim_mismatch(reference, n_common)
    else:
        why = (f"whether the measured rows are comparable with the published rows ({label or 'no dataset named'}) "
               f"cannot be checked: matbench recognises Composition-1K and the SIM test set only; "
               f"{_sets_compared(reference, n_common, datasets)}")
    if why:
        warnings.warn(f"--with-published {name}: {why}", stacklevel=3)
    rows = pd.DataFrame({
        "model": pub["method"].astype(str),
        "n_images": [float(DATASET_IMAGES.get(d, math.nan)) for d in pub["dataset"]],
        **{m: pub[m] for m in METRICS},
        "kind": "published",
        "source": pub["source"].astype(str) + _suffix(pub, "verified"),
        "run": "",
        "dataset": pub["dataset"],
        "note": pub["note"].astype(str) if "note" in pub.columns else "",
    })
    if by is not None:
        rows[by] = "(all)"
    note = (f"published rows ({label or 'dataset not named'}, from {name}) are copied from papers and model zoos, "
            f"each paper's own evaluation; they are not measured here and take no part in ranks or intervals"
            + (f"; {why}" if why else ""))
    return rows, {"file": str(name), "dataset": label, "not_comparable": why, "note": note}


def _sets_compared(reference, n_common: int, datasets) -> str:
    """What the measured means and the published rows are over, for a user to compare: ``the
    measured means are over 11 composites (dataset D, sim-test), the published ones over the SIM
    test set (SIMD): 890 composites (its test file list)``."""
    where = (reference or {}).get("dataset") or (reference or {}).get("alpha_dir")
    kind = ((reference or {}).get("dataset_json") or {}).get("kind")
    measured = f"{n_common} composite(s)" + (f" ({where}{', ' + kind if kind else ''})" if where else "")
    known = [f"{d}: {DATASET_IMAGES[d]} composites (its test file list)" for d in datasets if d in DATASET_IMAGES]
    return (f"the measured means are over {measured}, the published ones over "
            + ("; ".join(known) if known else "a set matbench does not know"))


def _suffix(pub, col):
    if col not in pub.columns:
        return ""
    flag = pub[col].fillna("").astype(str).str.lower()
    return np.where(flag.isin(["no", "false", "0", "unverified"]), " (UNVERIFIED)", "")


# --------------------------------------------------------------------------- the table

def leaderboard(df, *, units: str = "paper", by: str | None = None, with_published=None, ci: bool = True,
                n_boot: int = 1000, seed: int = 0, level: float = 0.95):
    """One row per model (per group and model with ``by``): means in the chosen units.

    ``df``: the per-image table of :func:`matbench.score` (reference units). ``units``:
    ``"paper"`` (MSE × 1e3) or ``"raw"``. ``by``: a column of ``df`` to group by (``"fg"``,
    ``"bg"``, ``"class"`` from a ``--dataset`` score); ranks are then within each group, and
    the overall table is another call without ``by``. ``with_published``: ``"comp1k"`` or a
    CSV path (columns in :func:`published`); its rows are appended, marked ``kind = "published"``.

    Columns: ``model, [by], n_images`` (the common images the means are over), ``sad, mse,
    grad, conn``, ``<metric>_lo/_hi`` (bootstrap interval, when ``ci``), ``rank_<metric>``,
    ``avg_rank``, ``n_scored`` (the model's own images), ``n_reference`` (images in the
    reference set; NaN in a group when coverage is partial), ``<metric>_own`` (only when
    the models' image sets differ), ``kind`` (``measured``/``published``), ``source``,
    ``run`` (method, options and speed from ``run.json``), ``wall_images_per_second``,
    ``worker_seconds_per_image``, ``dataset`` (measured rows: the reference set,
    :func:`matbench.scorefiles.reference_label`, e.g. ``Composition-1K (D)`` only when it is
    the official set; published rows: what the paper measured on) and ``note`` (measured rows:
    the warnings recorded while scoring, ``df.attrs["warnings"]``; published rows: the
    published table's note). Measured rows come
    first, ordered by group, ``avg_rank``, SAD and name. See the module docstring for the
    statistics. ``attrs``: ``units``, ``headers``, ``notes``, ``by``, ``ci``, ``provenance``,
    ``published``. Raises MatbenchError for a table without the metric columns or a ``by``
    column the scores lack.
    """
    import pandas as pd

    check_units(units)
    check_input(df, by)
    attrs = dict(df.attrs)
    df = df.sort_values(["image", "model"], kind="mergesort", ignore_index=True)  # order-free statistics
    common = common_images(df)
    if not common:
        warnings.warn("no image is scored for every model: no means or ranks to compare (each model's own-image "
                      "means are in their own section)", stacklevel=2)
    shared = df[df["image"].isin(common)]
    ranks = average_ranks(shared)
    scale = metric_scales(units)
    own = df.groupby("model")["image"].nunique()
    n_reference = int(attrs.get("n_reference") or df["image"].nunique())
    differ = bool((own != len(common)).any())
    complete = bool((own == n_reference).all())
    runs = attrs.get("runs") or {}
    stats = dict(scale=scale, ci=ci, n_boot=n_boot, seed=seed, level=level, differ=differ)

    label = reference_label(((attrs.get("provenance") or {}).get("reference")))
    warned = "; ".join(warning_lines(attrs))
    rows = []
    for g, gdf in _groups(df, by):
        n_ref = n_reference if by is None else (gdf["image"].nunique() if complete else math.nan)
        for model, mine in gdf.groupby("model", sort=True):
            row = {"model": model, **({by: g} if by is not None else {})}
            row.update(_model_row(mine, common, ranks, n_ref, **stats))
            row.update(kind="measured", source="measured here", run=run_summary(runs.get(model)),
                       **run_speed(runs.get(model)), dataset=label, note=warned)
            rows.append(row)
    lb = pd.DataFrame(rows)
    sort_cols = ([by] if by else []) + ["avg_rank", "sad", "model"]
    lb = lb.sort_values(sort_cols, kind="mergesort", na_position="last").reset_index(drop=True)

    notes = _notes(attrs, units, by, ci=ci, n_boot=n_boot, seed=seed, level=level, n_common=len(common),
                   n_reference=n_reference, complete=complete, differ=differ, runs=any(runs.values()))
    provenance = _provenance(attrs, units)
    pub_info = None
    if with_published is not None:
        prow, pub_info = _published_rows(with_published, units, by, provenance["reference"], len(common))
        lb = pd.concat([lb, prow], ignore_index=True)
        notes.append(pub_info["note"])
    lb.attrs.update({"units": units, "headers": HEADERS[units], "notes": notes, "by": by, "ci": ci,
                     "provenance": provenance, "published": pub_info})
    return lb


def check_input(df, by=None, what: str = "leaderboard"):
    """Refuse (one-line MatbenchError, naming ``what``) a per-image table without the columns
    ``model, image`` and the four metrics, or without a non-empty ``by`` column."""
    missing = [c for c in ("model", "image", *METRICS) if c not in df.columns]
    if missing:
        raise MatbenchError(f"{what}: per-image table lacks columns {', '.join(missing)}")
    if by is not None and (by not in df.columns or df[by].fillna("").astype(str).eq("").all()):
        hint = f" ({group_hint(df, by)})" if by in GROUPS else ""
        raise MatbenchError(f"--by {by}: the scores have no {by} column{hint}")


def group_hint(df, by: str) -> str:
    """Why scores have no ``by`` (fg, bg, class) column and what to do, for the reference the
    scores record (``df.attrs["provenance"]["reference"]``): folders (``--alpha-dir/--trimap-dir``)
    carry no groups, score with ``--dataset``; a dataset whose manifest leaves ``by`` empty has
    none to give (rescoring with ``--dataset`` would not help); unknown: where the groups come from."""
    reference = ((getattr(df, "attrs", None) or {}).get("provenance") or {}).get("reference") or {}
    if reference.get("dataset"):
        return (f"the dataset they were scored on, {reference['dataset']}, records no {by} for any image in its "
                f"manifest.csv")
    if reference.get("alpha_dir"):
        return (f"they were scored on --alpha-dir/--trimap-dir folders, which carry no {by}: it comes from a "
                f"dataset's manifest, score with --dataset DIR")
    return "it comes from a dataset's manifest: score with --dataset DIR"


def _groups(df, by):
    if by is None:
        return [(None, df)]
    keys = df[by].fillna("").astype(str)
    order = sorted(keys.unique())
    if by == "class":
        from matbench.classwise import class_order  # the paper's class order

        order = class_order(order)
    return [(g, df[keys == g]) for g in order]


def _model_row(mine, common, ranks, n_reference, *, scale, ci, n_boot, seed, level, differ) -> dict:
    """Statistics of one model's rows ``mine`` (in image-name order): over the common images,
    coverage, and (``differ``) the mean over all its own images."""
    sub = mine[mine["image"].isin(common)]
    row = {"n_images": len(sub), **metric_means(sub, scale)}
    if ci:
        for m in METRICS:
            row[f"{m}_lo"], row[f"{m}_hi"] = bootstrap_ci(sub[m].to_numpy(dtype=float) * scale[m], n_boot=n_boot,
                                                          seed=seed, level=level)
    model = mine["model"].iloc[0]
    for m in METRICS:
        has = m in ranks.columns.get_level_values(0) and model in ranks[m].columns
        rr = ranks[m][model].reindex(sub["image"]).dropna() if has else ()
        row[f"rank_{m}"] = float(np.mean(rr)) if len(rr) else math.nan
    rk = [row[f"rank_{m}"] for m in METRICS if np.isfinite(row[f"rank_{m}"])]
    row["avg_rank"] = float(np.mean(rk)) if rk else math.nan
    row.update(n_scored=len(mine), n_reference=n_reference)
    if differ:
        row.update({f"{m}_own": v for m, v in metric_means(mine, scale).items()})
    return row


def metric_means(sub, scale) -> dict:
    """Metric -> :func:`nanmean` of ``sub``'s values times ``scale[metric]``."""
    return {m: nanmean(sub[m].to_numpy(dtype=float) * scale[m]) for m in METRICS}


def nanmean(values) -> float:
    """Mean of ``values`` without their NaNs (an image without unknown pixels has MSE NaN);
    NaN, without a warning, when none is finite."""
    v = np.asarray(values, dtype=float)
    return float(np.nanmean(v)) if np.isfinite(v).any() else math.nan


def _notes(attrs, units, by, *, ci, n_boot, seed, level, n_common, n_reference, complete, differ, runs) -> list[str]:
    """What every rendering says under the table."""
    notes = [UNITS_NOTE[units],
             "values are means over images of the per-image metrics (DIM MATLAB definitions, "
             "unknown region = trimap 128); images without unknown pixels are left out of the MSE mean"]
    if not complete or differ:
        text = (f"means, intervals and ranks are over the {n_common} images every measured model has "
                f"({n_reference} in the reference set); coverage = images a model has / reference images")
        if differ:
            text += ("; the own-images section gives each model's mean over all its own images: different image "
                     "sets, not comparable across models, not ranked")
        notes.append(text)
    if ci:
        notes.append(f"[lo–hi]: {100 * level:.0f}% percentile bootstrap interval of the mean "
                     f"({n_boot} resamples of the images in name order, seed {seed})")
    notes.append("avg rank: alphamatting.com-style mean over images of each model's per-image rank "
                 "(1 = best), averaged over the four metrics; measured models only")
    if by:
        notes.append(f"ranks (the first column and avg rank) are within each {by}; the overall leaderboard is a "
                     f"separate table")
    if attrs.get("mask_known"):
        notes.append("predictions post-processed with --mask-known: set to 0 where the trimap is 0 and "
                     "255 where it is 255 before scoring")
    channel = attrs.get("matte_channel")
    if channel:
        which = ", ".join(f"{k}: {v}" for k, v in channel.items()) if isinstance(channel, dict) else channel
        notes.append(f"--matte-channel {which}: colour matte files were read from that channel")
    other = attrs.get("trimap_other") or {}
    if other:
        notes.append(f"{len(other)} trimap(s) contain values other than 0/128/255 (not counted as unknown)")
    if runs:
        notes.append("run: method and options from the prediction folder's run.json; img/s = wall-clock throughput "
                     "of the whole run, all workers together; s/img/worker = mean seconds one worker spent per "
                     "image, one-off compile costs excluded")
    return notes


def _provenance(attrs, units) -> dict:
    """Where the numbers come from (see :func:`matbench.scorefiles.score_provenance`)."""
    from matbench import __version__

    base = attrs.get("provenance") or {}
    return {"matbench": base.get("matbench", __version__), "scored": base.get("scored"),
            "reference": base.get("reference"), "reference_text": describe_reference(base.get("reference")),
            "n_reference": attrs.get("n_reference"), "units": units, "mask_known": bool(attrs.get("mask_known")),
            "matte_channel": attrs.get("matte_channel"),
            "prediction_folders": {m: str(Path(p).resolve()) for m, p in (attrs.get("pred_dirs") or {}).items()},
            "runs": attrs.get("runs") or {}, "warnings": list(attrs.get("warnings") or [])}


def _provenance_lines(prov) -> list[str]:
    if not prov:
        return []
    scored = f", scored {prov['scored']}" if prov.get("scored") else ""
    lines = [f"provenance: matbench {prov.get('matbench')}{scored}; reference: {prov.get('reference_text')}"]
    folders = prov.get("prediction_folders") or {}
    if folders:
        lines.append("predictions: " + "; ".join(f"{m} = {p}" for m, p in folders.items()))
    return lines + warning_lines(prov)


def run_speed(info) -> dict:
    """``wall_images_per_second`` and ``worker_seconds_per_image`` of a ``run.json`` (NaN when
    not recorded; run.json files written before ``images_per_second`` have only the latter)."""
    info = info or {}

    def num(key):
        v = info.get(key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan

    return {"wall_images_per_second": num("images_per_second"), "worker_seconds_per_image": num("seconds_per_image")}


def run_summary(info) -> str:
    """A short description of a ``run.json``: method, options, checkpoint hash, speed
    (``3.2 img/s (4 jobs), 1.25 s/img/worker``; see :func:`run_speed`)."""
    if not info:
        return ""
    parts = [str(info.get("method", "?"))]
    opts = info.get("options") or {}
    for k in sorted(opts):
        v = opts[k]
        if "checkpoint" in k or k == "jobs" or v is None or isinstance(v, (dict, list)) or v is False:
            continue
        parts.append(k if v is True else f"{k}={v}")
    sha = info.get("checkpoint_sha256") or opts.get("checkpoint_sha256")
    if sha:
        parts.append(f"ckpt {str(sha)[:8]}")
    speed = run_speed(info)
    if math.isfinite(speed["wall_images_per_second"]):
        jobs = info.get("jobs", opts.get("jobs"))
        parts.append(f"{speed['wall_images_per_second']:.3g} img/s" + (f" ({_count(jobs, 'job')})" if jobs else ""))
    if math.isfinite(speed["worker_seconds_per_image"]):
        parts.append(f"{speed['worker_seconds_per_image']:.3g} s/img/worker")
    return ", ".join(parts)


def _count(n, noun: str) -> str:
    """``"1 job"``, ``"4 jobs"``: ``n`` and ``noun`` in the singular for 1, else the plural."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def check_units(units):
    """Refuse (one-line MatbenchError) units other than ``paper`` and ``raw``."""
    if units not in MSE_SCALE:
        raise MatbenchError(f"--units {units}: expected paper or raw")


# --------------------------------------------------------------------------- renderings

def _fmt(value, metric, units) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if metric == "mse" and units == "raw":
        return f"{value:.5f}"
    return f"{value:.2f}"


def _split(lb):
    kind = lb["kind"] if "kind" in lb.columns else None
    if kind is None:
        return lb, lb.iloc[0:0]
    return lb[kind != "published"], lb[kind == "published"]


def _coverage(r) -> str:
    n, ref = r.get("n_scored"), r.get("n_reference")
    if n is None or not math.isfinite(n):
        return "–"
    return f"{n:.0f}/{ref:.0f}" if ref is not None and math.isfinite(ref) else f"{n:.0f}"


def _show_coverage(measured) -> bool:
    """Coverage is shown when some model lacks images of the reference or of another model."""
    if "n_scored" not in measured.columns:
        return False
    n = measured["n_scored"].astype(float)
    return bool((n != measured["n_images"].astype(float)).any() or (n < measured["n_reference"].astype(float)).any())


def _display(lb, with_ci: bool, units: str, by) -> tuple[list[str], list[list]]:
    """Header and cells of the measured rows; ``#`` counts within each group. A cell is a
    string, or ``(mean, "[lo–hi]")`` for a mean with its interval (HTML keeps the interval on
    one line, :func:`_html_table`)."""
    h = HEADERS[units]
    coverage = _show_coverage(lb)
    cols = (["#", "model"] + ([by] if by else []) + ["n"] + (["coverage"] if coverage else [])
            + [h[m] for m in METRICS] + ["avg rank"])
    has_run = "run" in lb.columns and lb["run"].fillna("").astype(str).ne("").any()
    if has_run:
        cols.append("run")
    body, place, last = [], 0, object()
    for r in lb.to_dict(orient="records"):
        group = r[by] if by else None
        place = place + 1 if group == last else 1
        last = group
        cells = [str(place), str(r["model"])] + ([str(group)] if by else []) + [f"{r['n_images']:.0f}"]
        if coverage:
            cells.append(_coverage(r))
        for m in METRICS:
            s = _fmt(r[m], m, units)
            if with_ci and f"{m}_lo" in r and math.isfinite(r.get(f"{m}_lo", math.nan)):
                s = (s, f"[{_fmt(r[f'{m}_lo'], m, units)}–{_fmt(r[f'{m}_hi'], m, units)}]")
            cells.append(s)
        ar = r.get("avg_rank", math.nan)
        cells.append(f"{ar:.2f}" if isinstance(ar, float) and math.isfinite(ar) else "–")
        if has_run:
            cells.append(str(r.get("run") or ""))
        body.append(cells)
    return cols, body


def _display_own(lb, units: str, by) -> tuple[list[str], list[list[str]]]:
    """Each model's means over all its own images (present when the image sets differ)."""
    h = HEADERS[units]
    cols = ["model"] + ([by] if by else []) + ["coverage"] + [h[m] for m in METRICS]
    body = [[str(r["model"])] + ([str(r[by])] if by else []) + [_coverage(r)]
            + [_fmt(r[f"{m}_own"], m, units) for m in METRICS] for r in lb.to_dict(orient="records")]
    return cols, body


def _display_published(pub, units: str) -> tuple[list[str], list[list[str]]]:
    h = HEADERS[units]
    has_note = "note" in pub.columns and pub["note"].fillna("").astype(str).ne("").any()
    cols = ["method"] + [h[m] for m in METRICS] + ["source"] + (["note"] if has_note else [])
    body = [[str(r["model"])] + [_fmt(r[m], m, units) for m in METRICS] + [str(r["source"])]
            + ([str(r["note"] or "")] if has_note else []) for _, r in pub.iterrows()]
    return cols, body


OWN_HEADING = "Means over each model's own images (different image sets: not comparable across models, not ranked)"


def _published_heading(info) -> str:
    info = info or {}
    what = f"{info['dataset']} results" if info.get("dataset") else f"results ({info.get('file')} names no dataset)"
    return f"Published {what} (copied from papers, not measured here, not ranked)"


def _sections(lb):
    """``(heading, class, cols, body)`` of the measured, own-image and published tables."""
    units, by, ci = lb.attrs.get("units", "paper"), lb.attrs.get("by"), lb.attrs.get("ci", True)
    measured, pub = _split(lb)
    out = [(None, "measured", *_display(measured, ci, units, by))]
    if "sad_own" in measured.columns:
        out.append((OWN_HEADING, "own", *_display_own(measured, units, by)))
    if len(pub):
        out.append((_published_heading(lb.attrs.get("published")), "published", *_display_published(pub, units)))
    return out


def _md_table(cols, body) -> str:
    esc = [[(c if isinstance(c, str) else " ".join(c)).replace("|", "\\|") for c in row] for row in body]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in esc]
    return "\n".join(lines)


def _html_cell(c) -> str:
    """A cell's HTML; an interval in ``<span class="ci">`` (the report keeps it on one line)."""
    if isinstance(c, str):
        return _html.escape(c)
    return f'{_html.escape(c[0])} <span class="ci">{_html.escape(c[1])}</span>'


def _html_table(cls, cols, body) -> str:
    head = "".join(f"<th>{_html.escape(c)}</th>" for c in cols)
    rows = "".join("<tr>" + "".join(f"<td>{_html_cell(c)}</td>" for c in row) + "</tr>\n" for row in body)
    return f'<table class="{cls}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n'


def format_leaderboard(lb, fmt: str = "md", *, title: str | None = None, fold_published: bool = False) -> str:
    """Render a :func:`leaderboard` table as ``md``, ``csv``, ``latex``, ``html`` or ``json``.

    Each rendering is readable on its own: units in the headers (CSV: ``sad/1e3``,
    ``mse*1e3``; LaTeX: ``SAD ($\\div 10^{3}$)``) and in the notes or the JSON ``units``
    object; provenance (matbench version, date, reference set, prediction folders) in the
    notes (md, html), ``%`` comments (latex) or ``provenance`` (json); CSV has only the
    unit-bearing headers (no comment lines, see :mod:`matbench.scorefiles`). Published rows
    are in a separate section (md, html, latex) or marked by ``kind`` (csv, json).

    HTML: each interval in ``<span class="ci">``; ``fold_published``: the published section in a
    ``<details class="published">`` fold whose summary is its heading and row count (the report:
    a long table that the report does not measure).
    """
    if fmt not in FORMATS:
        raise MatbenchError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    units = lb.attrs.get("units", "paper")
    notes = lb.attrs.get("notes") or [UNITS_NOTE[units]]
    prov = _provenance_lines(lb.attrs.get("provenance"))
    title = title or "Matting leaderboard"
    if fmt == "csv":
        counts = {c: "Int64" for c in ("n_images", "n_scored", "n_reference") if c in lb.columns}
        table = lb.astype(counts).rename(columns={c: file_column(c, units) for c in lb.columns})
        return table.to_csv(index=False, lineterminator="\n")
    if fmt == "json":
        return _json(lb, title, units, notes)
    if fmt == "latex":
        return _latex(lb, units, notes, prov, title)
    sections = _sections(lb)
    if fmt == "md":
        out = [f"## {title} ({units} units)", "", _md_table(*sections[0][2:]), ""]
        out += [f"- {n}" for n in [*notes, *prov]]
        for heading, _, cols, body in sections[1:]:
            out += ["", f"### {heading}", "", _md_table(cols, body)]
        return "\n".join(out) + "\n"
    out = [f"<h2>{_html.escape(title)} ({units} units)</h2>\n", _html_table(*sections[0][1:]),
           '<ul class="notes">\n' + "".join(f"<li>{_html.escape(n)}</li>\n" for n in notes) + "</ul>\n",
           '<ul class="provenance">\n' + "".join(f"<li>{_html.escape(n)}</li>\n" for n in prov) + "</ul>\n"]
    for heading, cls, cols, body in sections[1:]:
        if cls == "published" and fold_published:
            rows = _count(len(body), "row")
            out.append(f'<details class="published"><summary>{_html.escape(heading)}: {rows}</summary>'
                       f"{_html_table(cls, cols, body)}</details>\n")
        else:
            out += [f"<h3>{_html.escape(heading)}</h3>\n", _html_table(cls, cols, body)]
    return "".join(out)


def _json(lb, title, units, notes) -> str:
    measured, pub = _split(lb)
    doc = {"title": title,
           "units": {"system": units, "summary": UNITS_NOTE[units], "columns": column_units(lb.columns, units)},
           "headers": HEADERS[units], "notes": notes,
           "warnings": list((lb.attrs.get("provenance") or {}).get("warnings") or []),
           "provenance": lb.attrs.get("provenance"),
           "by": lb.attrs.get("by"), "published_info": lb.attrs.get("published"),
           "measured": measured.to_dict(orient="records"), "published": pub.to_dict(orient="records")}
    return json.dumps(jsonable(doc), indent=2, ensure_ascii=False) + "\n"


def _tex(s: str) -> str:
    rep = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
           "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}", "×": r"$\times$", "–": "--"}
    return "".join(rep.get(ch, ch) for ch in str(s))


TEX_HEADS = {"paper": {"sad": r"SAD ($\div 10^{3}$)", "mse": r"MSE ($\times 10^{3}$)", "grad": r"Grad ($\div 10^{3}$)",
                       "conn": r"Conn ($\div 10^{3}$)"},
             "raw": {"sad": r"SAD ($\div 10^{3}$)", "mse": "MSE", "grad": r"Grad ($\div 10^{3}$)",
                     "conn": r"Conn ($\div 10^{3}$)"}}


def _latex(lb, units, notes, prov, title) -> str:
    """A booktabs ``tabular`` ready to paste; the best measured value per column (and group) in
    bold; units in the headers, notes and provenance as ``%`` comments."""
    by = lb.attrs.get("by")
    measured, pub = _split(lb)
    coverage = _show_coverage(measured)
    ncol = 1 + (1 if by else 0) + (2 if coverage else 0) + len(METRICS)
    best = {}
    for m in METRICS:
        vals = measured[m].to_numpy(dtype=float) if len(measured) else np.array([])
        groups = measured[by].astype(str).to_numpy() if by and len(measured) else np.zeros(len(vals))
        best[m] = {g: np.nanmin(vals[groups == g]) for g in set(groups) if np.isfinite(vals[groups == g]).any()}
    lines = [f"% {title}: {UNITS_NOTE[units]}", *[f"% {p}" for p in prov],
             "% requires \\usepackage{booktabs}",
             r"\begin{tabular}{l" + ("l" if by else "") + ("rr" if coverage else "") + "r" * len(METRICS) + "}",
             r"\toprule",
             " & ".join(["Method"] + ([_tex(by)] if by else []) + (["$n$", "Coverage"] if coverage else [])
                        + [TEX_HEADS[units][m] for m in METRICS]) + r" \\",
             r"\midrule"]
    for _, r in measured.iterrows():
        g = str(r[by]) if by else 0.0
        cells = [_tex(r["model"])] + ([_tex(r[by])] if by else [])
        if coverage:
            cells += [f"{r['n_images']:.0f}", _tex(_coverage(r))]
        for m in METRICS:
            s = _fmt(r[m], m, units)
            if math.isfinite(r[m]) and best[m].get(g) is not None and r[m] == best[m][g] and len(measured) > 1:
                s = r"\textbf{" + s + "}"
            cells.append(s)
        lines.append(" & ".join(cells) + r" \\")
    if len(pub):
        label = _tex((lb.attrs.get("published") or {}).get("dataset") or "dataset not named")
        lines += [r"\midrule", r"\multicolumn{" + str(ncol) + r"}{l}{\emph{Published (" + label
                  + r"; not measured here)}} \\"]
        for _, r in pub.iterrows():
            cells = ([_tex(r["model"])] + (["--"] if by else []) + (["--", "--"] if coverage else [])
                     + [_fmt(r[m], m, units) for m in METRICS])
            lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [f"% {n}" for n in _latex_notes(notes[1:], by, bold=len(measured) > 1)]
    return "\n".join(line.replace("\r", " ").replace("\n", " ") if line.startswith("%") else line
                     for line in lines) + "\n"


# notes about columns and sections the LaTeX table does not have (intervals, avg rank, run,
# the own-images section): left out of its % comments
_NOT_IN_LATEX = ("[lo–hi]:", "avg rank:", "ranks (the first column", "run: method and options")
_OWN_CLAUSE = "; the own-images section"


def _latex_notes(notes, by, *, bold: bool) -> list[str]:
    """The notes that describe what the LaTeX table holds: without those about intervals, avg
    rank, the run column and the own-images section (:func:`_notes`), with one on the bold
    values."""
    kept = [str(n).split(_OWN_CLAUSE)[0].replace("means, intervals and ranks are over", "means are over")
            for n in notes if not str(n).startswith(_NOT_IN_LATEX)]
    if bold:
        kept.append("bold: the best (lowest) measured value of each column" + (f" within each {by}" if by else ""))
    return kept


def write_leaderboard(lb, out_dir, formats=("csv",), *, stem: str = "leaderboard", title: str | None = None
                      ) -> list[Path]:
    """Write ``lb`` to ``out_dir/<stem>.<ext>`` for each format (see :func:`format_leaderboard`),
    atomically; return the paths. The HTML file is a complete page (the fragment of
    :func:`format_leaderboard` in the report's style), pointing to ``matbench report``."""
    from matbench.io import write_text_atomic

    paths = []
    for fmt in dict.fromkeys(formats):
        if fmt not in FORMATS:
            raise MatbenchError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
        path = Path(out_dir) / f"{stem}.{SUFFIX[fmt]}"
        text = format_leaderboard(lb, fmt, title=title)
        if fmt == "html":
            from matbench.report import html_page

            text = html_page(title or "Matting leaderboard", text + '<p class="note">Charts, the paired comparison '
                             "and the worst images: <code>matbench report FOLDER --out report.html</code> on this "
                             "folder.</p>")
        write_text_atomic(path, text)
        paths.append(path)
    return paths
