"""Class-wise evaluation as the SIM paper prints it: per class, the mean of each metric over
that class's images, in the paper's class order, with the overall means.

Input: the per-image table of :func:`matbench.score` (one row per model × image, reference
units, and a ``class`` column from the dataset's manifest, e.g. a ``build-sim`` dataset).
Source: Sun, Tang, Tai, "Semantic Image Matting", CVPR 2021, Table 3 (per-class SAD on SIMD);
spec ``docs/specs/sim.md`` ("Evaluation as the paper reports it").

- A class's value is the mean over the class's images of the per-image values: each image
  counts once, so classes of 20 and 140 images are each a plain mean of their own images.
  MSE ignores images without unknown pixels (NaN), as :func:`matbench.leaderboard` does.
- Two summary rows: ``all images`` (the mean over every image, the paper's Table 1 figure) and
  ``mean of classes`` (the unweighted mean of the class means, which weighs a 20-image class
  like a 140-image one). With the authors' class sizes, the image-weighted mean of the
  paper's Table 3 rows gives its Table 1 SAD (48.07, 51.29, 39.28, 27.87), which confirms
  that Table 3 holds per-class means over images (checked by the tests).
- Classes come in the order of the authors' script and the paper (``SIM_CLASSES``); any other
  class follows, alphabetically. The paper prints five classes under other names: ``flower``,
  ``leaf``, ``tree`` are ``plant_flower``, ``plant_leaf``, ``plant_tree`` (certain: the names);
  ``lace`` and ``silk`` are taken to be ``texture_holed`` and ``texture_smooth`` (an assumption:
  same position in the script's list and in the table, equal sizes of 30 images; the paper
  does not say). Outputs print the paper's names and mark the assumed ones.
- Published rows (``with_published="sim"``): Table 3 per-class SAD and Table 1 for ``all
  images``, marked ``kind = "published"``; never ranked, never bold.

Units: SAD, Grad, Conn ÷ 1000 (DIM MATLAB code), MSE × 1e3 with ``units="paper"`` (raw with
``"raw"``), as :mod:`matbench.leaderboard`.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from matbench.datasets.sim import SIM_CLASSES
from matbench.errors import MatbenchError
from matbench.leaderboard import (HEADERS, METRICS, UNITS_NOTE, _provenance, _provenance_lines, _tex, check_input,
                                  check_units, metric_means, nanmean, published, read_published_table)
from matbench.scorefiles import file_column, jsonable, metric_scales, reference_label, warning_lines

__all__ = ["class_order", "paper_label", "class_means", "class_table", "published_classes", "format_classwise",
           "write_classwise", "ALL_IMAGES", "MEAN_OF_CLASSES", "PAPER_LABELS", "ASSUMED"]

ALL_IMAGES = "all images"
MEAN_OF_CLASSES = "mean of classes"
# The SIM paper's Table 3 headings where they differ from the file list's class names.
PAPER_LABELS = {"plant_flower": "flower", "plant_leaf": "leaf", "plant_tree": "tree",
                "texture_holed": "lace", "texture_smooth": "silk"}
ASSUMED = ("texture_holed", "texture_smooth")
ASSUMPTION_NOTE = ("lace and silk (the paper's names) are assumed to be texture_holed and texture_smooth: same "
                   "position in the authors' class list and in the paper's Table 3, and both classes have 30 "
                   "images; the paper does not state the pairing")
PUBLISHED_CLASSES = {"sim": "published_sim_classes.csv"}
FORMATS = {"md": "md", "csv": "csv", "latex": "tex", "json": "json"}


def class_order(classes) -> list[str]:
    """``classes`` in the paper's order (``SIM_CLASSES``), then the others alphabetically, the
    empty class (images without one) last."""
    present = set(classes)
    return ([c for c in SIM_CLASSES if c in present] + sorted(present - set(SIM_CLASSES) - {""})
            + ([""] if "" in present else []))


def paper_label(klass: str) -> str:
    """The class's heading in the paper's Table 3 (``lace``/``silk`` are an assumption)."""
    return PAPER_LABELS.get(klass, klass) if klass else "(no class)"


def _mapping(klass: str) -> str:
    if klass in ASSUMED:
        return "assumed"
    return "by name" if klass in PAPER_LABELS else ""


# ----------------------------------------------------------------------------- the table

def class_means(df, *, units: str = "paper", with_published=None):
    """Per model and class, the mean of each metric over that class's images (module doc).

    ``df``: per-image scores (:func:`matbench.score` with ``dataset=``). ``units``: ``"paper"``
    or ``"raw"``. ``with_published``: None or ``"sim"`` (or a CSV with the columns of
    ``published_sim_classes.csv``). Returns a long DataFrame with columns ``model, class,
    label, mapping, n_images, sad, mse, grad, conn, units, kind, source``: per measured model its
    classes in order, then the ``all images`` and ``mean of classes`` rows; published rows
    last; ``dataset`` (measured rows: the reference set,
    :func:`matbench.scorefiles.reference_label`; published rows: the SIM test set) and
    ``note`` (measured rows: the warnings recorded while scoring). ``attrs``: ``units``,
    ``notes``, ``provenance`` (as the leaderboard's: matbench version, date, reference set,
    prediction folders, warnings). Raises MatbenchError without a class column.
    """
    import pandas as pd

    check_units(units)
    check_input(df, "class", "class-wise table")
    scale = metric_scales(units)
    classes = df["class"].fillna("").astype(str)
    order = class_order(classes.unique())
    rows = []
    for model in dict.fromkeys(df["model"]):
        mdf, mcls = df[df["model"] == model], classes[df["model"] == model]
        per_class = [_means(mdf[mcls == k], scale, model, k) for k in order if (mcls == k).any()]
        rows += per_class
        rows.append(_means(mdf, scale, model, ALL_IMAGES))
        named = [r for r in per_class if r["class"]]  # images without a class are no class
        summary = {m: nanmean([r[m] for r in named]) for m in METRICS}
        rows.append(dict(_row(model, MEAN_OF_CLASSES, len(named)), **summary))
    notes = [UNITS_NOTE[units], "per class: the mean over that class's images (each image counts once); "
             f"'{ALL_IMAGES}': mean over every image (the paper's Table 1); '{MEAN_OF_CLASSES}': unweighted mean "
             "of the class means (n = number of classes)"]
    cw = pd.DataFrame(rows)
    if with_published is not None:
        cw = pd.concat([cw, _published_rows(with_published, units)], ignore_index=True)
        notes.append("published rows are copied from the SIM paper (Table 3: per-class SAD; Table 1: all images), "
                     "each method as evaluated by the SIM authors; not measured here, never ranked")
    if cw["class"].isin(ASSUMED).any():
        notes.append(ASSUMPTION_NOTE)
    cw["n_images"] = cw["n_images"].astype("Int64")
    cw["units"] = UNITS_NOTE[units].split(":", 1)[1].strip()  # so that the CSV states its units
    # so that the CSV states what was measured on, and the warnings that affect its numbers
    measured = cw["kind"] == "measured"
    provenance = _provenance(df.attrs, units)
    cw["dataset"] = np.where(measured, reference_label(provenance["reference"]), "SIM test set (SIMD)")
    cw["note"] = np.where(measured, "; ".join(warning_lines(df.attrs)), "")
    cw = cw[["model", "class", "label", "mapping", "n_images", *METRICS, "units", "kind", "source", "dataset", "note"]]
    cw.attrs.update({"units": units, "notes": notes, "provenance": provenance})
    return cw


def _row(model, klass, n, kind="measured", source="measured here") -> dict:
    return {"model": model, "class": klass, "label": paper_label(klass), "mapping": _mapping(klass), "n_images": n,
            "kind": kind, "source": source}


def _means(sub, scale, model, klass) -> dict:
    return dict(_row(model, klass, int(sub["image"].nunique())), **metric_means(sub, scale))


def published_classes(name_or_path="sim"):
    """The SIM paper's Table 3 (per-class SAD on SIMD) as shipped in ``matbench.manifests``
    (``"sim"``), or a CSV with its columns: ``method, table_class, class, mapping, sad, units,
    source, verified, note``. SAD in paper units (÷ 1000)."""
    return read_published_table(name_or_path, PUBLISHED_CLASSES, ("method", "class", "sad", "source"),
                                "published per-class table")


def _published_rows(name, units):
    """Table 3 rows (SAD per class) and, for ``all images``, the method's row of
    ``published_sim.csv`` (Table 1, all four metrics)."""
    import pandas as pd

    pub = published_classes(name)
    overall = published("sim", units=units) if str(name) == "sim" else None
    rows = []
    for method in dict.fromkeys(pub["method"].astype(str)):
        sub = pub[pub["method"].astype(str) == method]
        for rec in sub.to_dict("records"):
            rows.append(dict(_row(method, str(rec["class"]), math.nan, "published", str(rec["source"])),
                             sad=float(rec["sad"]), mse=math.nan, grad=math.nan, conn=math.nan))
        if overall is not None and (overall["method"].astype(str) == method).any():
            rec = overall[overall["method"].astype(str) == method].iloc[0]
            rows.append(dict(_row(method, ALL_IMAGES, math.nan, "published", str(rec["source"])),
                             **{m: float(rec[m]) for m in METRICS}))
    return pd.DataFrame(rows)


def _columns(cw) -> list[str]:
    """The class keys of ``cw`` in order: classes, then the summary rows present."""
    summaries = (ALL_IMAGES, MEAN_OF_CLASSES)
    keys = set(cw["class"].astype(str))
    return class_order(keys - set(summaries)) + [c for c in summaries if c in keys]


def class_table(cw, metric: str = "sad", kind: str | None = None):
    """Wide form of :func:`class_means` for one metric: one row per model (index), one column
    per class in order (the paper's labels), then ``all images`` and ``mean of classes``.
    ``kind``: ``"measured"``/``"published"`` to keep only those rows."""
    if metric not in METRICS:
        raise MatbenchError(f"metric {metric!r}: expected one of {', '.join(METRICS)}")
    import pandas as pd

    sub = cw if kind is None else cw[cw["kind"] == kind]
    columns, models = _columns(cw), list(dict.fromkeys(sub["model"]))
    if len(sub):
        wide = sub.set_index(["model", "class"])[metric].unstack("class").reindex(index=models, columns=columns)
    else:
        wide = pd.DataFrame(index=models, columns=columns)
    wide = wide.astype(float)
    wide.columns = [paper_label(c) for c in columns]
    return wide


# ----------------------------------------------------------------------------- renderings

def _cell(v, missing: str = "–") -> str:
    return missing if v is None or not np.isfinite(v) else f"{v:.2f}"


def _heading(klass: str) -> str:
    label = paper_label(klass)
    if klass in ASSUMED:
        return f"{label}† ({klass})"
    return label if label == klass else f"{label} ({klass})"


def _tables(cw, metric):
    """``(keys, measured, published)`` for one metric: the class keys that have a value, and the
    wide tables restricted to them (published: None when it has no value)."""
    measured, pub = class_table(cw, metric, "measured"), class_table(cw, metric, "published")
    keep = (measured.notna().any(axis=0) | pub.notna().any(axis=0)).to_numpy()
    keys = [k for k, kept in zip(_columns(cw), keep) if kept]
    measured, pub = measured.loc[:, keep], pub.loc[:, keep]
    return keys, measured, (pub if pub.notna().any().any() else None)


def format_classwise(cw, fmt: str = "md", *, title: str = "Class-wise results") -> str:
    """Render :func:`class_means` as ``md`` (one table per metric: classes as rows, models as
    columns), ``csv`` (the long table; headers carry the scale as every matbench CSV:
    ``sad/1e3``, ``mse*1e3`` in paper units, ``mse`` raw, :mod:`matbench.scorefiles`), ``latex`` (the paper's Table 3 shape: one booktabs
    tabular per metric, classes as columns, models as rows, the best measured value of each
    column in bold, published rows below) or ``json``. Every rendering states the units."""
    if fmt not in FORMATS:
        raise MatbenchError(f"--format {fmt}: class-wise tables come as {', '.join(FORMATS)}")
    units = cw.attrs.get("units", "paper")
    notes = cw.attrs.get("notes") or [UNITS_NOTE[units]]
    prov = _provenance_lines(cw.attrs.get("provenance"))
    if fmt == "csv":  # unit-bearing headers (sad/1e3, mse*1e3), as every matbench CSV (matbench.scorefiles)
        return cw.rename(columns={c: file_column(c, units) for c in cw.columns}).to_csv(index=False,
                                                                                       lineterminator="\n")
    if fmt == "json":
        recs = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                for r in cw.to_dict(orient="records")]
        prov_doc = cw.attrs.get("provenance") or {}
        return json.dumps(jsonable({"title": title, "units": units, "headers": HEADERS[units], "notes": notes,
                                    "warnings": list(prov_doc.get("warnings") or []), "provenance": prov_doc,
                                    "rows": recs}), indent=2, ensure_ascii=False) + "\n"
    if fmt == "latex":
        return _latex(cw, units, notes + prov, title)
    import pandas as pd

    n = cw[cw["kind"] == "measured"].groupby("class")["n_images"].max()
    out = [f"## {title} ({units} units)", ""]
    for m in METRICS:
        keys, measured, pub = _tables(cw, m)
        models = [str(x) for x in measured.index] + ([f"{x} (published)" for x in pub.index] if pub is not None else [])
        out += [f"### {HEADERS[units][m]} per class", "", "| class | n | " + " | ".join(models) + " |",
                "|" + "---|" * (2 + len(models))]
        for i, k in enumerate(keys):
            cells = [_cell(v) for v in measured.iloc[:, i]]
            cells += [_cell(v) for v in pub.iloc[:, i]] if pub is not None else []
            count = f"{int(n[k])}" if k in n.index and not pd.isna(n[k]) else ""
            out.append(f"| {_heading(k)} | {count} | " + " | ".join(cells) + " |")
        out.append("")
    out += [f"- {note}" for note in [*notes, *prov]]
    return "\n".join(out) + "\n"


def _latex(cw, units, notes, title) -> str:
    heads = {"sad": "SAD", "mse": r"MSE$\times 10^{3}$" if units == "paper" else "MSE", "grad": "Grad", "conn": "Conn"}
    lines = [f"% {_tex(title)}: {UNITS_NOTE[units]}",
             "% requires \\usepackage{booktabs}; wide: wrap each tabular in \\resizebox{\\textwidth}{!}{...}"]
    for m in METRICS:
        keys, measured, pub = _tables(cw, m)
        head = [_tex(paper_label(c)) + (r"$^\dagger$" if c in ASSUMED else "") for c in keys]
        lines += ["", f"% {heads[m]} per class", r"\begin{tabular}{l" + "r" * len(keys) + "}", r"\toprule",
                  " & ".join(["Method"] + head) + r" \\", r"\midrule"]
        best = measured.min(axis=0, skipna=True)
        for model, vals in measured.iterrows():
            cells = [r"\textbf{" + _cell(v) + "}" if len(measured) > 1 and np.isfinite(v) and v == best.iloc[j]
                     else _cell(v, "--") for j, v in enumerate(vals)]
            lines.append(" & ".join([_tex(model)] + cells) + r" \\")
        if pub is not None:
            lines += [r"\midrule", r"\multicolumn{" + str(len(keys) + 1) + r"}{l}{\emph{Published (SIM paper)}} \\"]
            lines += [" & ".join([_tex(model)] + [_cell(v, "--") for v in vals]) + r" \\"
                      for model, vals in pub.iterrows()]
        lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [f"% {_tex(n)}" for n in notes[1:]]
    return "\n".join(lines) + "\n"


def write_classwise(cw, out_dir, formats=("csv",), *, stem: str = "classwise") -> list[Path]:
    """Write ``cw`` to ``out_dir/<stem>.<ext>`` for each format it comes in (md, csv, latex,
    json; others are skipped), atomically; return the paths."""
    from matbench.io import write_text_atomic

    paths = []
    for fmt in dict.fromkeys(formats):
        if fmt in FORMATS:
            path = Path(out_dir) / f"{stem}.{FORMATS[fmt]}"
            write_text_atomic(path, format_classwise(cw, fmt))
            paths.append(path)
    return paths
