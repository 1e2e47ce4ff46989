"""Leaderboards from per-image scores: means in paper or raw units, average ranks, bootstrap
intervals, published Composition-1K rows, and the Markdown/CSV/LaTeX/HTML/JSON renderings.

Input is the table of :func:`matbench.score` (one row per model × image, reference units:
SAD, Grad, Conn ÷ 1000; raw MSE). Conventions, stated in every rendering:

- ``units="paper"`` prints SAD, Grad, Conn as the DIM MATLAB code does (÷ 1000) and MSE × 1e3,
  as Composition-1K tables do; ``units="raw"`` prints MSE unscaled.
- A model's value is the mean over its images of the per-image values. MSE is NaN for an
  image without unknown pixels (0/0); such images are left out of the MSE mean
  (``nanmean``) and of the MSE rank (a plain mean, as MATLAB's ``mean``, would be NaN).
- Average rank (alphamatting.com style): on every image all measured models have, the models
  are ranked per metric (1 = best, ties share the mean rank); ``rank_<metric>`` is the mean
  of those ranks over images, ``avg_rank`` the mean of the four.
- 95% intervals of the means: percentile bootstrap over images, ``n_boot`` resamples drawn
  with ``numpy.random.default_rng(seed)`` (seed 0), so they are reproducible.
- Published rows (``with_published="comp1k"``, ``"sim"`` or a CSV path) are appended with
  ``kind = "published"`` and their source; they take no part in ranks or intervals.
"""
from __future__ import annotations

import html as _html
import json
import math
from pathlib import Path

import numpy as np

from matbench.errors import MatbenchError

__all__ = ["leaderboard", "published", "average_ranks", "bootstrap_ci", "format_leaderboard",
           "write_leaderboard", "METRICS", "FORMATS", "HEADERS", "UNITS_NOTE"]

METRICS = ("sad", "mse", "grad", "conn")
FORMATS = ("md", "csv", "latex", "html", "json")
SUFFIX = {"md": "md", "csv": "csv", "latex": "tex", "html": "html", "json": "json"}
MSE_SCALE = {"paper": 1000.0, "raw": 1.0}
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
# The dataset each shipped file reports on, and its image count (for labels and notes).
PUBLISHED_DATASETS = {"comp1k": ("Composition-1K", 1000), "sim": ("SIM test set (SIMD)", 890)}


# --------------------------------------------------------------------------- statistics

def bootstrap_ci(values, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (NaNs ignored).

    ``n_boot`` resamples of the finite values, with replacement, drawn by
    ``numpy.random.default_rng(seed)``; returns the ``(1 − level)/2`` and ``(1 + level)/2``
    quantiles of the resampled means (Efron & Tibshirani 1993, ch. 13). NaNs for < 2 values.
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

def read_published_table(name_or_path, shipped: dict, required, what: str = "published table"):
    """A published-results CSV as a DataFrame: a name of ``shipped`` (name -> file shipped in
    ``matbench.manifests``) or a path; lines starting with ``#`` are comments. MatbenchError when
    the file is missing or lacks a ``required`` column."""
    import pandas as pd

    if str(name_or_path) in shipped:
        from importlib.resources import files

        with (files("matbench.manifests") / shipped[str(name_or_path)]).open("r", encoding="utf-8") as f:
            pub = pd.read_csv(f, comment="#")
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise MatbenchError(f"{path}: {what} not found (known: {', '.join(shipped)})")
        pub = pd.read_csv(path, comment="#")
    missing = [c for c in required if c not in pub.columns]
    if missing:
        raise MatbenchError(f"{name_or_path}: {what} lacks columns {', '.join(missing)}")
    return pub


def published(name_or_path="comp1k", *, units: str = "paper"):
    """Published results as a DataFrame (``method, venue, year, sad, mse, grad, conn, source,
    verified, note``), MSE converted to ``units`` (the file stores paper units, MSE × 1e3).

    ``name_or_path``: ``"comp1k"`` or ``"sim"`` (the Composition-1K and SIMD files shipped in
    ``matbench.manifests``)
    or the path of a CSV with the same columns.
    """
    import pandas as pd

    _check_units(units)
    pub = read_published_table(name_or_path, PUBLISHED, ("method", *METRICS, "source"))
    for m in METRICS:
        pub[m] = pd.to_numeric(pub[m], errors="coerce")
    pub["mse"] = pub["mse"] / 1000.0 * MSE_SCALE[units]
    return pub


# --------------------------------------------------------------------------- the table

def leaderboard(df, *, units: str = "paper", by: str | None = None, with_published=None, ci: bool = True,
                n_boot: int = 1000, seed: int = 0, level: float = 0.95):
    """One row per model (per model and group with ``by``): means in the chosen units.

    ``df``: the per-image table of :func:`matbench.score` (reference units). ``units``:
    ``"paper"`` (MSE × 1e3) or ``"raw"``. ``by``: ``"fg"``, ``"bg"`` or ``"class"`` for
    per-group means (needs those columns, i.e. a ``--dataset`` score). ``with_published``:
    ``"comp1k"`` or a CSV path; its rows are appended, marked ``kind = "published"``.

    Columns: ``model, [by], n_images, sad, mse, grad, conn``, then ``<metric>_lo/_hi``
    (bootstrap interval, when ``ci``), ``rank_<metric>`` and ``avg_rank`` (see the module
    docstring), ``kind`` (``measured``/``published``), ``source``, ``run`` (method info
    from the prediction folder's ``run.json``). Measured rows come first, ordered by group,
    ``avg_rank``, SAD and name. ``attrs``: ``units``, ``headers``, ``notes``, ``by``.
    """
    import pandas as pd

    _check_units(units)
    missing = [c for c in ("model", "image", *METRICS) if c not in df.columns]
    if missing:
        raise MatbenchError(f"leaderboard: per-image table lacks columns {', '.join(missing)}")
    if by is not None:
        if by not in GROUPS:
            raise MatbenchError(f"--by {by}: expected one of {', '.join(GROUPS)}")
        if by not in df.columns or df[by].fillna("").eq("").all():
            raise MatbenchError(f"--by {by}: the scores have no {by} column; it comes from a dataset manifest "
                                f"(score with --dataset)")
    scale = {"sad": 1.0, "mse": MSE_SCALE[units], "grad": 1.0, "conn": 1.0}
    ranks = average_ranks(df)
    rank_long = {m: ranks[m] if m in ranks.columns.get_level_values(0) else None for m in METRICS}

    runs = df.attrs.get("runs") or {}
    models = list(dict.fromkeys(df["model"]))
    group_keys = [None] if by is None else sorted(df[by].fillna("").astype(str).unique())
    if by == "class":
        from matbench.classwise import class_order  # the paper's class order

        group_keys = class_order(group_keys)
    rows = []
    for model in models:
        mdf = df[df["model"] == model]
        for g in group_keys:
            sub = mdf if g is None else mdf[mdf[by].fillna("").astype(str) == g]
            if sub.empty:
                continue
            row = {"model": model}
            if by is not None:
                row[by] = g
            row["n_images"] = int(len(sub))
            for m in METRICS:
                vals = sub[m].to_numpy(dtype=float) * scale[m]
                row[m] = float(np.nanmean(vals)) if np.isfinite(vals).any() else math.nan
            if ci:
                for m in METRICS:
                    vals = sub[m].to_numpy(dtype=float) * scale[m]
                    row[f"{m}_lo"], row[f"{m}_hi"] = bootstrap_ci(vals, n_boot=n_boot, seed=seed, level=level)
            for m in METRICS:
                r = rank_long[m]
                if r is None or model not in r.columns:
                    row[f"rank_{m}"] = math.nan
                    continue
                rr = r[model].reindex(sub["image"]).dropna()
                row[f"rank_{m}"] = float(rr.mean()) if len(rr) else math.nan
            rk = [row[f"rank_{m}"] for m in METRICS if np.isfinite(row[f"rank_{m}"])]
            row["avg_rank"] = float(np.mean(rk)) if rk else math.nan
            row["kind"] = "measured"
            row["source"] = "measured here"
            row["run"] = run_summary(runs.get(model))
            rows.append(row)
    lb = pd.DataFrame(rows)
    sort_cols = ([by] if by else []) + ["avg_rank", "sad", "model"]
    lb = lb.sort_values(sort_cols, kind="mergesort", na_position="last").reset_index(drop=True)

    notes = [UNITS_NOTE[units],
             "values are means over images of the per-image metrics (DIM MATLAB definitions, "
             "unknown region = trimap 128); images without unknown pixels are left out of the MSE mean"]
    if ci:
        notes.append(f"[lo–hi]: {100 * level:.0f}% percentile bootstrap interval of the mean "
                     f"({n_boot} resamples of the images, seed {seed})")
    notes.append("avg rank: alphamatting.com-style mean over images of each model's per-image rank "
                 "(1 = best), averaged over the four metrics; measured models only")
    if df.attrs.get("mask_known"):
        notes.append("predictions post-processed with --mask-known: set to 0 where the trimap is 0 and "
                     "255 where it is 255 before scoring")
    cov = df.attrs.get("coverage") or {}
    n_ref = df.attrs.get("n_reference")
    partial = {m: n for m, n in cov.items() if n_ref and n < n_ref}
    if partial:
        notes.append("partial coverage (--allow-missing): " + ", ".join(
            f"{m} {n}/{n_ref}" for m, n in partial.items()) + "; means are over different image sets")
    other = df.attrs.get("trimap_other") or {}
    if other:
        notes.append(f"{len(other)} trimap(s) contain values other than 0/128/255 (not counted as unknown)")

    if with_published is not None:
        pub = published(with_published, units=units)
        pub_label, pub_n = PUBLISHED_DATASETS.get(str(with_published), ("another dataset", np.nan))
        prow = pd.DataFrame({
            "model": pub["method"].astype(str),
            "n_images": pub_n,
            **{m: pub[m] for m in METRICS},
            "kind": "published",
            "source": pub["source"].astype(str) + _suffix(pub, "verified"),
            "run": pub.get("note", pd.Series([""] * len(pub))).fillna("").astype(str),
        })
        if by is not None:
            prow[by] = "(all)"
        lb = pd.concat([lb, prow], ignore_index=True)
        size = f", {pub_n} images" if pub_n == pub_n else ""
        notes.append(f"published rows are copied from papers/model zoos ({pub_label}{size}, each "
                     "paper's own evaluation); they are not measured here and take no part in ranks or intervals")
        lb.attrs["published_dataset"] = pub_label
    lb.attrs.update({"units": units, "headers": HEADERS[units], "notes": notes, "by": by, "ci": ci})
    return lb


def _suffix(pub, col):
    if col not in pub.columns:
        return ""
    flag = pub[col].fillna("").astype(str).str.lower()
    return np.where(flag.isin(["no", "false", "0", "unverified"]), " (UNVERIFIED)", "")


def run_summary(info) -> str:
    """A short description of a ``run.json``: method, options, checkpoint hash, speed."""
    if not info:
        return ""
    parts = [str(info.get("method", "?"))]
    opts = info.get("options") or {}
    for k in sorted(opts):
        v = opts[k]
        if "checkpoint" in k or v is None or isinstance(v, (dict, list)) or v is False:
            continue
        parts.append(k if v is True else f"{k}={v}")
    sha = info.get("checkpoint_sha256") or opts.get("checkpoint_sha256")
    if sha:
        parts.append(f"ckpt {str(sha)[:8]}")
    spi = info.get("seconds_per_image")
    if isinstance(spi, (int, float)):
        parts.append(f"{spi:.3g} s/img")
    return ", ".join(parts)


def _check_units(units):
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


def _display(lb, with_ci: bool, units: str, by) -> tuple[list[str], list[list[str]]]:
    """Header and string cells of the measured rows."""
    h = HEADERS[units]
    cols = ["#", "model"] + ([by] if by else []) + ["n"] + [h[m] for m in METRICS] + ["avg rank"]
    has_run = "run" in lb.columns and lb["run"].fillna("").astype(str).ne("").any()
    if has_run:
        cols.append("run")
    body = []
    for i, r in enumerate(lb.to_dict(orient="records"), 1):
        cells = [str(i), str(r["model"])] + ([str(r[by])] if by else []) + [str(r["n_images"])]
        for m in METRICS:
            s = _fmt(r[m], m, units)
            if with_ci and f"{m}_lo" in r and math.isfinite(r.get(f"{m}_lo", math.nan)):
                s += f" [{_fmt(r[f'{m}_lo'], m, units)}–{_fmt(r[f'{m}_hi'], m, units)}]"
            cells.append(s)
        ar = r.get("avg_rank", math.nan)
        cells.append(f"{ar:.2f}" if isinstance(ar, float) and math.isfinite(ar) else "–")
        if has_run:
            cells.append(str(r.get("run") or ""))
        body.append(cells)
    return cols, body


def _display_published(pub, units: str) -> tuple[list[str], list[list[str]]]:
    h = HEADERS[units]
    cols = ["method"] + [h[m] for m in METRICS] + ["source"]
    body = [[str(r["model"])] + [_fmt(r[m], m, units) for m in METRICS] + [str(r["source"])]
            for _, r in pub.iterrows()]
    return cols, body


def _md_table(cols, body) -> str:
    esc = [[c.replace("|", "\\|") for c in row] for row in body]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in esc]
    return "\n".join(lines)


def format_leaderboard(lb, fmt: str = "md", *, title: str | None = None) -> str:
    """Render a :func:`leaderboard` table as ``md``, ``csv``, ``latex``, ``html`` or ``json``.

    Every rendering states the units; published rows are in a separate section (md, html,
    latex) or marked by ``kind`` (csv, json).
    """
    if fmt not in FORMATS:
        raise MatbenchError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    units = lb.attrs.get("units", "paper")
    notes = lb.attrs.get("notes") or [UNITS_NOTE[units]]
    by = lb.attrs.get("by")
    ci = lb.attrs.get("ci", True)
    measured, pub = _split(lb)
    pub_label = lb.attrs.get("published_dataset", "Composition-1K")
    title = title or "Matting leaderboard"
    if fmt == "csv":
        return lb.to_csv(index=False, lineterminator="\n")
    if fmt == "json":
        def records(frame):
            return [{k: (None if isinstance(v, float) and not math.isfinite(v) else
                         (v.item() if hasattr(v, "item") else v)) for k, v in row.items()}
                    for row in frame.to_dict(orient="records")]

        return json.dumps({"title": title, "units": units, "headers": HEADERS[units], "notes": notes, "by": by,
                           "measured": records(measured), "published": records(pub)}, indent=2,
                          ensure_ascii=False) + "\n"
    if fmt == "md":
        cols, body = _display(measured, ci, units, by)
        out = [f"## {title} ({units} units)", "", _md_table(cols, body), ""]
        out += [f"- {n}" for n in notes]
        if len(pub):
            pcols, pbody = _display_published(pub, units)
            out += ["", f"### Published {pub_label} results (not measured here, not ranked)", "",
                    _md_table(pcols, pbody)]
        return "\n".join(out) + "\n"
    if fmt == "html":
        cols, body = _display(measured, ci, units, by)

        def table(cols, body, cls):
            head = "".join(f"<th>{_html.escape(c)}</th>" for c in cols)
            rows = "".join("<tr>" + "".join(f"<td>{_html.escape(c)}</td>" for c in row) + "</tr>\n" for row in body)
            return f'<table class="{cls}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n'

        out = [f"<h2>{_html.escape(title)} ({units} units)</h2>\n", table(cols, body, "measured"),
               "<ul>\n" + "".join(f"<li>{_html.escape(n)}</li>\n" for n in notes) + "</ul>\n"]
        if len(pub):
            pcols, pbody = _display_published(pub, units)
            out += [f"<h3>Published {_html.escape(pub_label)} results (not measured here, not ranked)</h3>\n",
                    table(pcols, pbody, "published")]
        return "".join(out)
    return _latex(measured, pub, units, by, notes, title, pub_label)


def _tex(s: str) -> str:
    rep = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
           "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}", "×": r"$\times$", "–": "--"}
    return "".join(rep.get(ch, ch) for ch in str(s))


def _latex(measured, pub, units, by, notes, title, pub_label="Composition-1K") -> str:
    """A booktabs ``tabular`` ready to paste; the best measured value per column in bold."""
    heads = {"sad": "SAD", "mse": r"MSE$\times 10^{3}$" if units == "paper" else "MSE", "grad": "Grad",
             "conn": "Conn"}
    ncol = 1 + (1 if by else 0) + len(METRICS)
    best = {}
    for m in METRICS:
        vals = measured[m].to_numpy(dtype=float) if len(measured) else np.array([])
        groups = measured[by].astype(str).to_numpy() if by and len(measured) else np.zeros(len(vals))
        best[m] = {g: np.nanmin(vals[groups == g]) for g in set(groups) if np.isfinite(vals[groups == g]).any()}
    lines = [f"% {_tex(title)}: {UNITS_NOTE[units]}", "% requires \\usepackage{booktabs}",
             r"\begin{tabular}{l" + ("l" if by else "") + "r" * len(METRICS) + "}", r"\toprule",
             " & ".join(["Method"] + ([_tex(by)] if by else []) + [heads[m] for m in METRICS]) + r" \\",
             r"\midrule"]
    for _, r in measured.iterrows():
        g = str(r[by]) if by else 0.0
        cells = [_tex(r["model"])] + ([_tex(r[by])] if by else [])
        for m in METRICS:
            s = _fmt(r[m], m, units)
            if math.isfinite(r[m]) and best[m].get(g) is not None and r[m] == best[m][g] and len(measured) > 1:
                s = r"\textbf{" + s + "}"
            cells.append(s)
        lines.append(" & ".join(cells) + r" \\")
    if len(pub):
        lines += [r"\midrule", r"\multicolumn{" + str(ncol) + r"}{l}{\emph{Published (" + _tex(pub_label) + r")}} \\"]
        for _, r in pub.iterrows():
            cells = [_tex(r["model"])] + (["--"] if by else []) + [_fmt(r[m], m, units) for m in METRICS]
            lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [f"% {_tex(n)}" for n in notes[1:]]
    return "\n".join(lines) + "\n"


def write_leaderboard(lb, out_dir, formats=("csv",), *, stem: str = "leaderboard") -> list[Path]:
    """Write ``lb`` to ``out_dir/<stem>.<ext>`` for each format, atomically; return the paths."""
    from matbench.io import write_text_atomic

    paths = []
    for fmt in dict.fromkeys(formats):
        if fmt not in FORMATS:
            raise MatbenchError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
        path = Path(out_dir) / f"{stem}.{SUFFIX[fmt]}"
        write_text_atomic(path, format_leaderboard(lb, fmt))
        paths.append(path)
    return paths
