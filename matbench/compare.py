"""Paired comparison of models on the images they share: is a difference real?

Two models scored on the same images are compared image by image (a paired design: the
images' own difficulty cancels out). For a pair (A, B) and a metric, on the images both
have with a finite value (MSE leaves out images without unknown pixels):

- ``<m>_diff``: the mean over images of B − A (in the leaderboard's units: SAD, Grad, Conn
  ÷ 1000, MSE × 1000 in paper units). Errors are lower-is-better, so **positive means A
  has the lower error**;
- ``<m>_diff_lo/_hi``: its 95% percentile bootstrap interval, resampling images
  (:func:`matbench.leaderboard.bootstrap_ci` on the differences in image-name order: 1000
  resamples, ``numpy.random.default_rng(0)``; the same set of rows gives the same interval
  in any order);
- ``a_wins_<m>``, ``b_wins_<m>``, ``ties_<m>``: the share of images on which A's error is
  lower, higher, or exactly equal (fractions summing to 1);
- ``p_<m>``: two-sided p-value of a paired test: Wilcoxon signed-rank
  (``scipy.stats.wilcoxon``, zero differences dropped, Wilcox 1945) by default, or the
  sign test (exact binomial on the non-tied images, ``scipy.stats.binomtest``) with
  ``test="sign"``. When every difference is 0, p = 1 (no evidence of a difference).

The wording (:func:`statement`) decides by the interval: "A beats B on SAD by 3.20 [2.10,
4.40] (÷1000)" when the interval excludes 0, "no clear difference" when it holds 0. The
p-values are not corrected for multiple comparisons (pairs × 4 metrics are tested).
"""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np

from matbench.errors import MatbenchError
from matbench.leaderboard import METRICS, NAMES, UNITS_NOTE, check_units, bootstrap_ci, common_images
from matbench.scorefiles import column_units, file_column, jsonable, metric_scales

__all__ = ["paired", "paired_test", "compare", "statement", "statements", "format_comparison", "write_comparison",
           "TESTS"]

TESTS = {"wilcoxon": "Wilcoxon signed-rank", "sign": "sign test"}
SCALE_WORDS = {"paper": {"sad": "÷1000", "mse": "×1000", "grad": "÷1000", "conn": "÷1000"},
               "raw": {"sad": "÷1000", "mse": "unscaled", "grad": "÷1000", "conn": "÷1000"}}
WIN_UNITS = {"a_wins": "share of the pair's images on which A's error is lower (fraction)",
             "b_wins": "share of the pair's images on which B's error is lower (fraction)",
             "ties": "share of the pair's images on which both errors are equal (fraction)",
             "p": "two-sided p-value of the paired test (column test)",
             "n": "count of images in the pair's comparison of this metric"}


def paired_test(diff, test: str = "wilcoxon") -> float:
    """Two-sided p-value that the paired differences ``diff`` (1-D, finite) are centred on 0.

    ``wilcoxon``: ``scipy.stats.wilcoxon(diff)`` (zero differences dropped; exact for small
    samples without ties, normal approximation otherwise, as scipy chooses). ``sign``: exact
    binomial test of the count of positive differences among the non-zero ones. Returns 1.0
    when every difference is 0 (or there is none). Raises MatbenchError for an unknown test.
    """
    from scipy import stats

    if test not in TESTS:
        raise MatbenchError(f"paired test {test!r}: expected one of {', '.join(TESTS)}")
    d = np.asarray(diff, dtype=float)
    nonzero = d[d != 0]
    if nonzero.size == 0:
        return 1.0
    if test == "sign":
        return float(stats.binomtest(int((nonzero > 0).sum()), int(nonzero.size), 0.5).pvalue)
    with warnings.catch_warnings():  # scipy warns that n is small for the normal approximation
        warnings.simplefilter("ignore")
        return float(stats.wilcoxon(d, zero_method="wilcox").pvalue)


def paired(a, b, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95, test: str = "wilcoxon") -> dict:
    """Paired statistics of two models' per-image errors ``a`` and ``b`` (1-D, the same images
    in the same order; pairs with a NaN are dropped): ``n``, ``diff`` (mean of b − a),
    ``diff_lo``, ``diff_hi`` (bootstrap interval), ``a_wins``, ``b_wins``, ``ties`` (shares)
    and ``p`` (:func:`paired_test`). NaN statistics when no pair is left."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    d = b[keep] - a[keep]
    if d.size == 0:
        return {"n": 0, **dict.fromkeys(("diff", "diff_lo", "diff_hi", "a_wins", "b_wins", "ties", "p"), math.nan)}
    lo, hi = bootstrap_ci(d, n_boot=n_boot, seed=seed, level=level)
    if not np.any(d):  # identical on every image: the interval of a constant
        lo = hi = 0.0
    return {"n": int(d.size), "diff": float(d.mean()), "diff_lo": lo, "diff_hi": hi,
            "a_wins": float(np.mean(d > 0)), "b_wins": float(np.mean(d < 0)), "ties": float(np.mean(d == 0)),
            "p": paired_test(d, test)}


def _model_order(df) -> list:
    """Models by mean SAD over the images every model has (then by name): the pair order."""
    common = set(common_images(df))
    sad = df[df["image"].isin(common)].groupby("model")["sad"].mean()
    return sorted(df["model"].unique(), key=lambda m: (sad.get(m, math.inf), str(m)))


def compare(df, *, baseline: str | None = None, units: str = "paper", n_boot: int = 1000, seed: int = 0,
            level: float = 0.95, test: str = "wilcoxon"):
    """Paired comparison of every pair of models in ``df`` (or of each model against
    ``baseline``): one row per pair, per metric the statistics of :func:`paired`.

    ``df``: the per-image table of :func:`matbench.score` (reference units). Models are
    ordered by mean SAD on the images all have; a pair (A, B) takes A before B in that order
    (with ``baseline``: A = each other model, B = the baseline). Columns: ``model_a,
    model_b, n_images`` (images both have), then per metric ``n_<m>, <m>_diff,
    <m>_diff_lo, <m>_diff_hi, a_wins_<m>, b_wins_<m>, ties_<m>, p_<m>``, and ``test``;
    differences in ``units`` (paper: MSE × 1000), see the module docstring. ``attrs``:
    ``units``, ``test``, ``notes``, ``provenance`` (the scores'), ``statements`` (plain
    words, :func:`statements`). Raises MatbenchError for an unknown baseline or a table
    with fewer than two models.
    """
    import pandas as pd

    check_units(units)
    df = df.sort_values(["image", "model"], kind="mergesort", ignore_index=True)  # order-free statistics
    models = _model_order(df)
    if len(models) < 2:
        raise MatbenchError(f"a paired comparison needs two models or more; the scores hold {len(models)}")
    if baseline is not None and baseline not in models:
        raise MatbenchError(f"--baseline {baseline}: no such model (models: {', '.join(map(str, models))})")
    if baseline is None:
        pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1:]]
    else:
        pairs = [(m, baseline) for m in models if m != baseline]
    scale = metric_scales(units)
    tables = {m: df.pivot(index="image", columns="model", values=m) * scale[m] for m in METRICS}
    present = df.groupby("model")["image"].apply(set)
    rows = []
    for a, b in pairs:
        shared = sorted(present[a] & present[b])
        row = {"model_a": a, "model_b": b, "n_images": len(shared)}
        for m in METRICS:
            t = tables[m].loc[shared]
            r = paired(t[a].to_numpy(), t[b].to_numpy(), n_boot=n_boot, seed=seed, level=level, test=test)
            row.update({f"n_{m}": r["n"], f"{m}_diff": r["diff"], f"{m}_diff_lo": r["diff_lo"],
                        f"{m}_diff_hi": r["diff_hi"], f"a_wins_{m}": r["a_wins"], f"b_wins_{m}": r["b_wins"],
                        f"ties_{m}": r["ties"], f"p_{m}": r["p"]})
        row["test"] = test
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update({"units": units, "test": test, "baseline": baseline, "level": level,
                      "provenance": df.attrs.get("provenance"), "notes": _notes(units, test, len(pairs), n_boot,
                                                                               seed, level, baseline)})
    out.attrs["statements"] = statements(out)
    return out


def _notes(units, test, n_pairs, n_boot, seed, level, baseline) -> list[str]:
    pct = f"{100 * level:g}%"
    return [
        UNITS_NOTE[units],
        "paired over the images both models have; MSE leaves out images without unknown pixels",
        "difference = mean over images of (B − A): positive means A has the lower error",
        f"{pct} intervals: percentile bootstrap of the mean difference, resampling images ({n_boot} resamples, "
        f"numpy.random.default_rng({seed}), image-name order)",
        "wins: share of images on which A's error is lower / B's is lower / both are equal",
        f"test: {TESTS[test]} (scipy), two-sided; p = 1 when every difference is 0; not corrected for "
        f"multiple comparisons ({n_pairs} pair(s) × {len(METRICS)} metrics)",
        "wording: 'beats' when the interval excludes 0, 'no clear difference' when it holds 0"
        + (f"; each model against the baseline {baseline}" if baseline else ""),
    ]


def _num(x: float) -> str:
    """A difference to 2 decimals, or 3 significant digits when smaller than 0.01."""
    if x != 0 and abs(x) < 0.01:
        return f"{x:.2g}"
    return f"{x:.2f}"


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "p = –"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.2g}" if p < 1 else "p = 1"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def statement(row, metric: str, units: str = "paper", test: str = "wilcoxon") -> str:
    """One row of :func:`compare` and one metric in plain words, e.g. ``A beats B on SAD by
    3.20 [2.10, 4.40] (÷1000), lower on 71% of images (B on 25%, 4% ties), Wilcoxon
    signed-rank p = 0.003, 40 images``."""
    a, b, name = row["model_a"], row["model_b"], NAMES[metric]
    d, lo, hi, n = row[f"{metric}_diff"], row[f"{metric}_diff_lo"], row[f"{metric}_diff_hi"], row[f"n_{metric}"]
    unit = SCALE_WORDS[units][metric]
    if not n or not math.isfinite(d):
        return f"{a} vs {b} on {name}: no image to compare"
    tail = f"{TESTS[test]} {_p(row[f'p_{metric}'])}, {n} images"
    wa, wb, ties = row[f"a_wins_{metric}"], row[f"b_wins_{metric}"], row[f"ties_{metric}"]
    if d == 0 and lo == 0 and hi == 0:
        return f"{a} and {b} tie on {name} (equal on {_pct(ties)} of images), {tail}"
    if math.isfinite(lo) and (lo > 0 or hi < 0):
        win, lose, dd, l2, h2, w1, w2 = (a, b, d, lo, hi, wa, wb) if lo > 0 else (b, a, -d, -hi, -lo, wb, wa)
        return (f"{win} beats {lose} on {name} by {_num(dd)} [{_num(l2)}, {_num(h2)}] ({unit}), lower on "
                f"{_pct(w1)} of images ({lose} on {_pct(w2)}, {_pct(ties)} ties), {tail}")
    interval = f"[{_num(lo)}, {_num(hi)}]" if math.isfinite(lo) else "[no interval: fewer than 2 images]"
    return (f"no clear difference between {a} and {b} on {name}: {b} − {a} = {_num(d)} {interval} ({unit}); "
            f"{a} lower on {_pct(wa)} of images, {b} on {_pct(wb)}, {_pct(ties)} ties; {tail}")


def statements(cmp) -> list[str]:
    """:func:`statement` for every pair and metric of a :func:`compare` table, pair by pair."""
    units, test = cmp.attrs.get("units", "paper"), cmp.attrs.get("test", "wilcoxon")
    return [statement(r, m, units, test) for r in cmp.to_dict(orient="records") for m in METRICS]


def format_comparison(cmp, fmt: str = "md") -> str:
    """A :func:`compare` table as ``md`` (the statements as a list, with the notes), ``csv``
    (one row per pair, unit-bearing headers as :mod:`matbench.scorefiles`: ``sad_diff/1e3``,
    ``mse_diff*1e3``) or ``json`` (``units`` of every column, ``notes``, ``provenance``,
    ``pairs``, ``statements``)."""
    units = cmp.attrs.get("units", "paper")
    if fmt == "csv":
        counts = {c: "Int64" for c in cmp.columns if c == "n_images" or c.startswith("n_")}
        return cmp.astype(counts).rename(columns={c: file_column(c, units) for c in cmp.columns}).to_csv(
            index=False, lineterminator="\n")
    if fmt == "json":
        cols = column_units(cmp.columns, units)
        for c in cmp.columns:
            key = c.rsplit("_", 1)[0] if c.rsplit("_", 1)[-1] in METRICS else None
            if key in WIN_UNITS:
                cols[c] = f"{WIN_UNITS[key]}: {c.rsplit('_', 1)[-1]}"
        doc = {"title": "Paired comparison", "units": {"system": units, "summary": UNITS_NOTE[units], "columns": cols},
               "test": TESTS[cmp.attrs.get("test", "wilcoxon")], "baseline": cmp.attrs.get("baseline"),
               "notes": cmp.attrs.get("notes"), "provenance": cmp.attrs.get("provenance"),
               "pairs": cmp.to_dict(orient="records"), "statements": cmp.attrs.get("statements") or statements(cmp)}
        return json.dumps(jsonable(doc), indent=2, ensure_ascii=False) + "\n"
    if fmt == "md":
        lines = ["### Paired comparison", ""] + [f"- {s}" for s in cmp.attrs.get("statements") or statements(cmp)]
        lines += ["", *[f"- {n}" for n in cmp.attrs.get("notes") or []]]
        return "\n".join(lines) + "\n"
    raise MatbenchError(f"comparison format {fmt}: expected md, csv or json")


def write_comparison(cmp, out_dir, formats=("csv", "json")) -> list[Path]:
    """Write ``out_dir/comparison.<csv|json|md>`` atomically; return the paths."""
    from matbench.io import write_text_atomic

    paths = []
    for fmt in dict.fromkeys(formats):
        path = Path(out_dir) / f"comparison.{fmt}"
        write_text_atomic(path, format_comparison(cmp, fmt))
        paths.append(path)
    return paths
