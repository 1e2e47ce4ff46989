"""The HTML report of a scoring: one self-contained file that opens from disk, offline.

``write_report(path, scores, ...)`` reads the output of ``matbench score --out`` (the folder
or its ``per_image.csv``, :func:`matbench.scorefiles.read_per_image`), or takes the
per-image DataFrame itself, and writes one HTML5 page with:

- the leaderboard of :func:`matbench.leaderboard` (units in every header, 95% intervals,
  coverage, notes, provenance) and the published rows in their own table;
- the paired comparison of :func:`matbench.compare.compare` (a table and plain sentences);
- charts (matplotlib, inline SVG, :mod:`matbench.charts`): the means of the four metrics
  with their intervals, the per-image distribution of each model, error against the size
  of the unknown region, means per class; per-class and per-foreground tables of the four
  metrics;
- with several scorings (``sweep``), each metric against the trimap width
  (:mod:`matbench.sweep`);
- a gallery of each model's worst images by SAD, at most one per foreground while there are
  enough foregrounds: composite, trimap, ground truth, prediction and the error
  |prediction − alpha| in colour over the unknown region, as thumbnails (≤ ``THUMB`` px);
  a click shows them larger (≤ ``FULL`` px; pure CSS, no script);
- a footer: matbench version, dates, the reference set with the sha256 of the dataset's
  ``manifest.csv``, and each model's run (``run.json``: method, options, versions).

Images and charts are embedded (data URIs, inline SVG): no external resource is loaded. The
gallery needs the dataset and the prediction folders: by default those the scores record
(``per_image.json``), or given; without them the report says why it has no gallery.
"""
from __future__ import annotations

import base64
import html
import math
import warnings
from pathlib import Path

import numpy as np

from matbench.errors import MatbenchError, capped_list
from matbench.leaderboard import HEADERS, METRICS, format_leaderboard, leaderboard, run_summary

__all__ = ["write_report", "render_report", "check_dataset", "check_report_out", "html_page", "load_scores",
           "pick_worst", "THUMB", "FULL"]

THUMB = 160  # px, longer side of a gallery thumbnail
FULL = 800  # px, longer side of an image shown on click

_CSS = """
*{box-sizing:border-box}
body{font-family:"DejaVu Sans",system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:1.5em auto;
max-width:1400px;color:#222;padding:0 1.2em;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em;overflow-wrap:break-word}h2{font-size:1.25em;margin-top:2em;
border-bottom:1px solid #ddd}h3{font-size:1.05em;overflow-wrap:break-word}
.note,.notes,.provenance{color:#555;font-size:.88em}
.wide{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.5em 0;font-size:.86em}
th,td{padding:.3em .6em;border-bottom:1px solid #e5e5e5;text-align:right;vertical-align:top}
th{background:#f4f4f4}
th:first-child,td:first-child,td.text,th.text{text-align:left}
td{white-space:nowrap}td.text,td:first-child{white-space:normal;overflow-wrap:break-word;min-width:8em;
max-width:24em}.ci{white-space:nowrap;color:#555}
table.measured td,table.own td,table.published td{white-space:normal}
table.measured td:first-child{min-width:0}
table.measured td:nth-child(2),table.measured th:nth-child(2){text-align:left;overflow-wrap:break-word;
min-width:9em;max-width:20em}
table.measured td:last-child,table.published td:last-child,table.measured th:last-child,
table.published th:last-child{text-align:left;min-width:10em;max-width:22em}
table.published{color:#555;font-style:italic}
td.better{background:#e3f4e3}td.worse{background:#fbe4e4}td.best{font-weight:bold}
svg.chart{width:100%;height:auto;max-width:1150px;display:block;margin:.5em 0}
ul.statements li{margin:.15em 0;overflow-wrap:break-word}
.gallery .row{margin:.8em 0 1.2em}.gallery .cap{font-size:.9em;margin-bottom:.2em;overflow-wrap:break-word}
.gallery figure{display:inline-block;margin:0 .25em .25em 0;text-align:center;vertical-align:top}
.gallery img{display:block;border:1px solid #ccc}
figcaption{font-size:.75em;color:#555}
.lightbox{display:none}
.lightbox:target{display:block;position:fixed;inset:0;background:#161616;overflow:auto;z-index:10;
padding:2.5em 1em 1em}
.lightbox figure{display:inline-block;margin:.4em;vertical-align:top}.lightbox figcaption{color:#ddd}
.lightbox img{max-width:calc(100vw - 3em);height:auto;border:1px solid #666}
.lightbox .close{position:fixed;top:.4em;right:1em;color:#fff;font-size:1.6em;text-decoration:none}
.lightbox .title{color:#eee;margin:0 .4em}
.colourbar{display:inline-block;width:12em;height:.9em;vertical-align:middle;border:1px solid #999;margin:0 .4em}
footer{margin-top:3em;border-top:1px solid #ddd;color:#555;font-size:.85em;overflow-wrap:break-word}
"""


# --------------------------------------------------------------------------- inputs

def load_scores(scores):
    """The per-image table of ``scores``: a ``score --out`` folder or ``per_image.csv``
    (:func:`matbench.scorefiles.read_per_image`, attrs restored) or a DataFrame as is."""
    if hasattr(scores, "columns"):
        return scores
    from matbench.scorefiles import read_per_image

    per_image = read_per_image(scores)
    per_image.attrs["source"] = str(scores)
    return per_image


def check_dataset(per_image, dataset) -> None:
    """Refuse (one line) a ``dataset`` given for the gallery that is not the one the scores were
    computed on: the sha256 of its ``manifest.csv`` differs from the one ``per_image.json``
    records (a moved copy of the same dataset passes), or, when none is recorded, some scored
    image is not in its manifest. Nothing to check without ``dataset``."""
    if dataset is None:
        return
    from matbench.manifest import manifest_sha256, read_manifest

    reference = (per_image.attrs.get("provenance") or {}).get("reference") or {}
    source = per_image.attrs.get("source") or "the scores"
    recorded = reference.get("manifest_sha256")
    if recorded:
        if manifest_sha256(dataset) != recorded:
            raise MatbenchError(f"--dataset {dataset}: not the dataset {source} were scored against "
                                f"({reference.get('dataset')}: its manifest.csv differs); give that dataset, "
                                f"or leave out --dataset")
        return
    names = {row["image"] for row in read_manifest(Path(dataset))}
    absent = [str(n) for n in dict.fromkeys(per_image["image"]) if str(n) not in names]
    if absent:
        raise MatbenchError(f"--dataset {dataset}: not the dataset {source} were scored against: "
                            f"{len(absent)} scored image(s) not in its manifest ({capped_list(absent)})")


def check_report_out(path, scores, *, dataset=None, predictions=None) -> None:
    """Refuse (one line) a report ``path`` inside a prediction folder, the dataset or the trimap
    folder (given, or recorded by the ``scores``: per-image tables with attrs) — inputs are never
    mixed with outputs — or one that would replace a file ``matbench score`` writes
    (``per_image.csv``, ``leaderboard.md``, ...: :data:`matbench.scorefiles.SCORE_FILES`). A new
    file in a ``score --out`` folder (``SCORES/report.html``, as ``matbench demo`` writes) is fine."""
    from matbench.io import check_out_dir
    from matbench.scorefiles import SCORE_FILES

    inputs = [("dataset", dataset)]
    for per_image in scores:
        reference = (per_image.attrs.get("provenance") or {}).get("reference") or {}
        inputs += [("dataset", reference.get("dataset")), ("trimap folder", reference.get("trimap_dir")),
                   ("alpha folder", reference.get("alpha_dir"))]
        inputs += [("prediction folder", p) for p in (per_image.attrs.get("pred_dirs") or {}).values()]
    inputs += [("prediction folder", p) for p in (predictions or {}).values()]
    check_out_dir(path, inputs)
    if Path(path).name in SCORE_FILES and (Path(path).parent / "per_image.json").exists():
        raise MatbenchError(f"{path}: a file of matbench score, not the report's; choose another --out "
                            f"(e.g. report.html)")


def _gallery_inputs(per_image, dataset, predictions):
    """``(reference items by image, {model: {image: prediction path}}, why not)``: the
    dataset and prediction folders given or recorded by ``score``; ``why not`` says what is
    missing (then no gallery)."""
    from matbench.io import index_images
    from matbench.score import reference_items

    reference = (per_image.attrs.get("provenance") or {}).get("reference") or {}
    if dataset is None:
        dataset = reference.get("dataset")
        if dataset is None:
            return None, None, ("the scores were not computed on a matbench dataset (no composites to show); "
                                "give --dataset DIR")
        if not Path(dataset).is_dir():
            return None, None, f"the dataset the scores record, {dataset}, is not there; give --dataset DIR"
    trimap_dir = reference.get("trimap_dir")  # the trimaps the scores were computed with
    if trimap_dir is not None and not Path(trimap_dir).is_dir():
        return None, None, f"the trimap folder the scores record, {trimap_dir}, is not there"
    folders = dict(per_image.attrs.get("pred_dirs") or {})
    folders.update(predictions or {})
    models = list(dict.fromkeys(per_image["model"]))
    missing = [m for m in models if m not in folders or not Path(folders[m]).is_dir()]
    if missing:
        return None, None, (f"no prediction folder for {', '.join(map(str, missing))} (recorded folders moved or "
                            f"scores without per_image.json); give MODEL=DIR with --predictions")
    items = {it["image"]: it for it in reference_items(dataset=dataset, trimap_dir=trimap_dir)}
    preds = {m: index_images(folders[m], "prediction") for m in models}
    return items, preds, None


# --------------------------------------------------------------------------- small helpers

def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _fmt(x, metric: str = "", units: str = "paper") -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return _e(x)
    if not math.isfinite(x):
        return "–"
    return f"{x:.5f}" if metric == "mse" and units == "raw" else f"{x:.2f}"


def _section(title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>\n{body}</section>\n'


def _image_uri(array: np.ndarray, max_side: int, jpeg: bool = False) -> str:
    """``array`` (H×W or H×W×3 uint8) downscaled (area average) to ``max_side`` as a data URI:
    PNG, or JPEG quality 90 for photographs (``jpeg``)."""
    import io

    from PIL import Image

    from matbench.io import encode_png

    im = Image.fromarray(np.ascontiguousarray(array))
    scale = max_side / max(im.size)
    if scale < 1:
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.BOX)
    if jpeg:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=90)
        data, kind = buf.getvalue(), "jpeg"
    else:
        data, kind = encode_png(np.asarray(im), 6), "png"
    return f"data:image/{kind};base64," + base64.b64encode(data).decode("ascii")


# --------------------------------------------------------------------------- sections

def _comparison_html(cmp, units: str) -> str:
    """Pairs as rows, per metric the mean difference B − A [interval], the win shares and p."""
    from matbench.compare import _p, _pct

    heads = "".join(f"<th>{_e(HEADERS[units][m])}<br>B − A<br>[95% CI]<br>A · B lower · p</th>" for m in METRICS)
    share = (lambda r, m: f'{_pct(r[f"a_wins_{m}"])} · {_pct(r[f"b_wins_{m}"])}'
             + (f' ({_pct(r[f"ties_{m}"])} ties)' if r[f"ties_{m}"] else ""))
    body = []
    for r in cmp.to_dict(orient="records"):
        cells = [f'<td class="text">{_e(r["model_a"])} <i>vs</i> {_e(r["model_b"])}</td>', f"<td>{r['n_images']}</td>"]
        for m in METRICS:
            lo, hi = r[f"{m}_diff_lo"], r[f"{m}_diff_hi"]
            cls = "better" if lo > 0 else "worse" if hi < 0 else ""
            cells.append(f'<td class="{cls}">{_fmt(r[f"{m}_diff"], m, units)}<br>[{_fmt(lo, m, units)}, '
                         f'{_fmt(hi, m, units)}]<br>{share(r, m)} · {_e(_p(r[f"p_{m}"]))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    table = (f'<div class="wide"><table class="comparison"><thead><tr><th>A vs B</th><th>n</th>{heads}</tr></thead>'
             f'<tbody>{"".join(body)}</tbody></table></div>')
    said = cmp.attrs["statements"]
    sentences = f'<ul class="statements">{"".join(f"<li>{_e(s)}</li>" for s in said)}</ul>'
    if len(said) > 8:
        sentences = f"<details><summary>{len(said)} statements</summary>{sentences}</details>"
    notes = "".join(f"<li>{_e(n)}</li>" for n in cmp.attrs["notes"][1:])
    return (f'<p class="note">Green: A is lower (better) and the interval excludes 0; red: B is lower.</p>{table}'
            f'<h3>In words</h3>{sentences}<ul class="notes">{notes}</ul>')


def _grouped_table(table, key: str, key_head: str, cls: str, models, units: str, cell, head_note: str = "") -> str:
    """A table of class ``cls``: rows grouped by ``key`` (one cell spanning the group), one row
    per model (in ``models`` order): model, n, and ``cell(row, metric, group rows)`` per metric.
    Groups in the order they first appear in ``table`` (classes in the SIM paper's order, as
    the leaderboard gives them; widths ascending, as the sweep table gives them)."""
    heads = "".join(f"<th>{_e(HEADERS[units][m])}{head_note}</th>" for m in METRICS)
    body = []
    for g, part in table.groupby(key, sort=False):
        part = part.set_index("model").reindex([m for m in models if m in set(part["model"])])
        for i, (model, r) in enumerate(part.iterrows()):
            label = f"{g:g}" if isinstance(g, float) else g
            first = f'<td class="text" rowspan="{len(part)}">{_e(label)}</td>' if i == 0 else ""
            cells = "".join(cell(r, m, part) for m in METRICS)
            body.append(f'<tr>{first}<td class="text">{_e(model)}</td><td>{r["n_images"]:.0f}</td>{cells}</tr>')
    return (f'<div class="wide"><table class="{_e(cls)}"><thead><tr><th>{_e(key_head)}</th><th class="text">model'
            f'</th><th>n</th>{heads}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _shared_foregrounds_note(per_image) -> str:
    """A note (HTML, empty when there is none to make) naming the foregrounds that lie in several
    classes: SIM's file list puts one foreground in two classes (defocus and hair_easy), so there
    are fewer foregrounds than class entries, and those classes share that foreground's alpha
    and trimap (its composites have other backgrounds)."""
    if "class" not in per_image.columns or "fg" not in per_image.columns:
        return ""
    classes = per_image.dropna(subset=["fg", "class"]).groupby("fg")["class"].unique()
    shared = {fg: sorted(map(str, c)) for fg, c in classes.items() if len(c) > 1}
    if not shared:
        return ""
    which = "; ".join(f"{fg}: {', '.join(c)}" for fg, c in sorted(shared.items()))
    return (f'<p class="note">{len(shared)} foreground{"s are" if len(shared) > 1 else " is"} in several classes '
            f"({_e(which)}), as in the SIM file list: one row here; above, its composites count in their classes "
            "(other backgrounds, the same alpha and trimap: a method that ignores the composite, such as "
            "trimap-mid, scores the same in each of them).</p>")


def _group_table(table, group: str, models, units: str) -> str:
    """One row per group × model: n and the four means (the best of each group in bold)."""
    def cell(r, m, part):
        best = len(part) > 1 and r[m] == part[m].min()
        return f'<td class="{"best" if best else ""}">{_fmt(r[m], m, units)}</td>'

    return _grouped_table(table, group, group, f"by-{group}", models, units, cell)


def _sweep_html(table, units: str) -> str:
    """One row per width × model: n and each mean with its interval."""
    def cell(r, m, part):
        return (f'<td>{_fmt(r[m], m, units)}<br><span class="ci">[{_fmt(r[f"{m}_lo"], m, units)}, '
                f'{_fmt(r[f"{m}_hi"], m, units)}]</span></td>')

    models = list(dict.fromkeys(table["model"]))
    return _grouped_table(table, "width_px", "trimap width (px)", "sweep", models, units, cell, "<br>[95% CI]")


def pick_worst(per_image, model, n: int) -> list[dict]:
    """``model``'s ``n`` rows with the largest SAD, at most one per foreground (``fg``) while
    other foregrounds remain, then the next largest; ties broken by image name."""
    rows = per_image[per_image["model"] == model].sort_values(["sad", "image"], ascending=[False, True],
                                                              kind="mergesort")
    rows = rows[rows["sad"].notna()].to_dict(orient="records")
    picked, fgs = [], set()
    for r in rows:
        fg = r.get("fg") or r["image"]
        if fg not in fgs:
            picked.append(r)
            fgs.add(fg)
        if len(picked) == n:
            return picked
    rest = [r for r in rows if r not in picked]
    return picked + rest[: n - len(picked)]


def check_scored(per_image, model: str, row: dict, pred_path, pred, alpha, trimap) -> None:
    """Refuse (one line naming the file) to show ``pred`` (H×W uint8) as ``model``'s prediction
    of ``row["image"]`` when it, or the reference ``alpha``/``trimap``, is not the one scored: its SAD against ``alpha`` and ``trimap``
    (:func:`matbench.metrics.sad`, after the scores' ``mask_known``) differs from the recorded
    ``row["sad"]`` by more than 1e-6 relative (the scores store it exactly; other predictions
    of the same image all but never have the same SAD)."""
    from matbench.metrics import sad

    if pred.shape != alpha.shape:
        now = f"a {pred.shape[1]}×{pred.shape[0]} prediction for a {alpha.shape[1]}×{alpha.shape[0]} alpha"
    else:
        if per_image.attrs.get("mask_known"):
            pred = pred.copy()
            pred[trimap == 0], pred[trimap == 255] = 0, 255
        value = sad(pred, alpha, trimap)
        if math.isclose(value, float(row["sad"]), rel_tol=1e-6, abs_tol=1e-9):
            return
        now = f"SAD {value:.6g} now, {float(row['sad']):.6g} in the scores"
    raise MatbenchError(f"{pred_path}: does not give the {model} score of {row['image']} that "
                        f"{per_image.attrs.get('source') or 'the scores'} recorded ({now}): this prediction, or the "
                        f"reference alpha or trimap, is not the one scored (changed since scoring?); give the scored "
                        f"folder with --predictions {model}=DIR and the scored reference (matbench verify DATASET "
                        f"checks a dataset's files), or score again")


def _gallery_html(per_image, models, items, preds, n: int, units: str, matte_channel: str | None = None) -> str:
    """Each model's worst images: thumbnails side by side; a click opens the larger ones. The
    alpha, trimap and prediction are read by the matte rule with ``matte_channel``."""
    from matbench.charts import colour_bar_css, error_colours
    from matbench.io import read_rgb8
    from matbench.mattes import read_matte
    from matbench.scorefiles import metric_scales

    scale = metric_scales(units)
    out = [f'<p class="note">Each model\'s {n} images with the largest SAD, at most one per foreground while others '
           f'remain. Error: |prediction − alpha| over the unknown region (trimap = 128, the scored pixels), '
           f'0<span class="colourbar" style="background:{colour_bar_css()}"></span>255; light grey: known region '
           f'(not scored). Thumbnails ≤ {THUMB} px; click for ≤ {FULL} px (composites as JPEG for size).</p>']
    k = 0
    for model in models:
        out.append(f"<h3>{_e(model)}</h3>")
        for r in pick_worst(per_image, model, n):
            item, pred_path = items.get(r["image"]), preds[model].get(r["image"])
            if item is None or pred_path is None or item.get("merged") is None:
                out.append(f'<p class="note">{_e(r["image"])}: files not found, left out</p>')
                continue
            alpha, trimap, pred = (read_matte(path, matte_channel)
                                   for path in (item["alpha"], item["trimap"], pred_path))
            check_scored(per_image, model, r, pred_path, pred, alpha, trimap)
            error = error_colours(np.abs(pred.astype(np.int16) - alpha).astype(np.uint8), trimap == 128)
            panels = [("composite", read_rgb8(item["merged"]), True), ("trimap", trimap, False),
                      ("ground truth", alpha, False), ("prediction", pred, False), ("error", error, False)]
            k += 1
            what = (f"{r['image']}" + (f" · {r['class']}" if r.get("class") else "")
                    + " — " + ", ".join(f"{HEADERS[units][m]} {_fmt(r[m] * scale[m], m, units)}" for m in METRICS))
            thumbs = "".join(f'<figure><img alt="{_e(cap)}" src="{_image_uri(a, THUMB, jpeg)}"><figcaption>{_e(cap)}'
                             f"</figcaption></figure>" for cap, a, jpeg in panels)
            fulls = "".join(f'<figure><img alt="{_e(cap)}" src="{_image_uri(a, FULL, jpeg)}"><figcaption>{_e(cap)}'
                            f"</figcaption></figure>" for cap, a, jpeg in panels)
            out.append(f'<div class="row"><div class="cap">{_e(what)}</div><a href="#g{k}" title="larger">{thumbs}</a>'
                       f'</div><div class="lightbox" id="g{k}"><a class="close" href="#gallery" title="close">×</a>'
                       f'<p class="title">{_e(model)}: {_e(what)}</p>{fulls}</div>')
    return '<div class="gallery">' + "".join(out) + "</div>"


def _footer(per_image, dataset) -> str:
    """matbench version, dates, reference and manifest hash, each model's run.json."""
    from matbench import __version__
    from matbench.io import utc_now
    from matbench.manifest import manifest_sha256
    from matbench.scorefiles import describe_reference

    prov = per_image.attrs.get("provenance") or {}
    reference = prov.get("reference") or {}
    lines = [f"Report by matbench {_e(__version__)} on {_e(utc_now())}; scores by matbench "
             f"{_e(prov.get('matbench', '?'))} on {_e(prov.get('scored') or 'an unrecorded date')}.",
             f"Reference: {_e(describe_reference(reference))}."]
    recorded = reference.get("manifest_sha256")
    root = dataset or reference.get("dataset")
    current = manifest_sha256(root) if root else None
    if recorded or current:
        lines.append(f"Dataset manifest.csv sha256: <code>{_e(recorded or current)}</code>"
                     + ("" if recorded else " (now; not recorded by the scoring)"))
        if recorded and current and recorded != current:
            lines.append(f"<b>Warning: {_e(root)}/manifest.csv has changed since the scoring "
                         f"(now {_e(current)}).</b>")
    else:
        lines.append("Dataset manifest hash: not available (no dataset recorded or found).")
    if per_image.attrs.get("mask_known"):
        lines.append("Scored with --mask-known.")
    runs = per_image.attrs.get("runs") or {}
    rows = []
    for model in dict.fromkeys(per_image["model"]):
        info = runs.get(model) or {}
        versions = ", ".join(f"{k} {v}" for k, v in (info.get("versions") or {}).items() if v)
        source = ", ".join(f"{k} {v}" for k, v in (info.get("input") or {}).items())
        rows.append(f'<tr><td class="text">{_e(model)}</td><td class="text">{_e(run_summary(info) or "no run.json")}'
                    f'</td><td class="text">{_e(versions)}</td><td class="text">{_e(source)}</td></tr>')
    runs_table = ('<div class="wide"><table class="runs"><thead><tr><th>model</th><th class="text">run (run.json)</th>'
                  '<th class="text">versions</th><th class="text">input</th></tr></thead><tbody>'
                  + "".join(rows) + "</tbody></table></div>")
    return "<footer>" + "".join(f"<p>{x}</p>" for x in lines) + runs_table + "</footer>"


# --------------------------------------------------------------------------- the page

def render_report(per_image, *, dataset=None, predictions=None, units: str = "paper", with_published=None,
                  published_label: str = "", baseline: str | None = None, sweep=None, title: str = "matbench report",
                  notes: str = "", worst: int = 3, matte_channel: str | None = None) -> str:
    """The report of ``per_image`` (a :func:`matbench.score` table with its attrs) as an HTML
    string; keyword arguments as :func:`write_report`."""
    from matbench import charts
    from matbench.compare import compare

    sweep_rows = None
    if sweep:  # first: a sweep whose widths cannot be told fails before any drawing
        from matbench.sweep import sweep_table

        sweep_rows = sweep_table(sweep, units=units)
    board = leaderboard(per_image, units=units, with_published=with_published)
    measured = board[board["kind"] == "measured"]
    models = list(measured["model"])
    colours = charts.model_colours(models)
    n_images = per_image["image"].nunique()
    parts = [f"<h1>{_e(title)}</h1>\n"]
    if notes:
        parts.append(f'<p class="note">{_e(notes)}</p>\n')
    parts.append(f'<p class="note">{len(models)} model(s), {n_images} image(s); lower is better for every metric. '
                 f"Units: {_e(HEADERS[units]['sad'])} is the DIM MATLAB SAD ÷ 1000 (Grad, Conn likewise); "
                 f"{_e(HEADERS[units]['mse'])} is the MSE{' × 1000' if units == 'paper' else ''}.</p>\n")
    # intervals kept on one line; the published rows folded (long, and not what the report measures)
    lb_html = format_leaderboard(board, "html", title="Leaderboard", fold_published=True)
    if published_label and (board["kind"] == "published").any():
        lb_html += f'<p class="note">{_e(published_label)}</p>'
    parts.append(f'<section id="leaderboard" class="wide">{lb_html}</section>\n')
    if baseline is not None and len(models) < 2:
        warnings.warn(f"--baseline {baseline}: ignored, a baseline needs at least two models (the scores hold "
                      f"{', '.join(map(str, models)) or 'none'}); no paired comparison is shown", stacklevel=2)
    if len(models) > 1:
        cmp = compare(per_image[per_image["model"].isin(models)], baseline=baseline, units=units)
        parts.append(_section("Paired comparison", _comparison_html(cmp, units), "comparison"))
    parts.append(_section("Means with 95% intervals", charts.means_chart(measured, units, colours), "means"))
    parts.append(_section("Per-image distribution",
                          '<p class="note">Box: quartiles and median; whiskers: 1.5 × IQR; dots: images.</p>'
                          + charts.distribution_chart(per_image, models, units, colours), "distribution"))
    if "unknown_px" in per_image.columns and per_image["unknown_px"].notna().any():
        body = charts.size_chart(per_image, models, units, colours)
    else:
        body = ('<p class="note">Not available: these scores have no unknown_px column (scored by an older matbench);'
                ' score again to get it.</p>')
    parts.append(_section("Error against the size of the unknown region", body, "size"))
    for group, heading in (("class", "Per class"), ("fg", "Per foreground")):
        if group in per_image.columns and per_image[group].fillna("").astype(str).ne("").any():
            table = leaderboard(per_image, units=units, by=group, ci=False)
            table = table[table["kind"] == "measured"]
            body = _group_table(table, group, models, units)
            if group == "class":
                body = charts.group_chart(table, group, models, units, colours) + body
            else:
                body = (f"<details><summary>{table[group].nunique()} foregrounds</summary>{body}</details>"
                        + _shared_foregrounds_note(per_image))
            parts.append(_section(heading, body, f"by-{group}"))
    if sweep_rows is not None:
        table = sweep_rows
        labels = ", ".join(f"{w:g} px: {lab}" for w, lab in dict(zip(table["width_px"], table["label"])).items())
        body = ('<p class="note">Each metric against the trimap width: the half-width in px of the unknown band '
                f"(matbench trimap --width); each width is a scoring of its own ({_e(labels)}), means over its "
                "common images, 95% bootstrap intervals.</p>"
                + charts.sweep_chart(table, units, charts.model_colours(list(dict.fromkeys(
                    models + list(table["model"]))))) + _sweep_html(table, units))
        parts.append(_section("Trimap-width sweep", body, "sweep"))
    if worst > 0:
        items, preds, why = _gallery_inputs(per_image, dataset, predictions)
        channel = matte_channel or per_image.attrs.get("matte_channel")  # read as the scores read them
        body = (f'<p class="note">No gallery: {_e(why)}.</p>' if why
                else _gallery_html(per_image, models, items, preds, worst, units, channel))
        parts.append(_section("Worst images per model", body, "gallery"))
    parts.append(_footer(per_image, dataset))
    return html_page(title, "".join(parts))


def html_page(title: str, body: str) -> str:
    """A complete HTML5 page with the report's style around ``body`` (HTML)."""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{_e(title)}</title>\n'
            f"<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def write_report(path, scores, *, dataset=None, predictions=None, units: str = "paper", with_published=None,
                 published_label: str = "", baseline: str | None = None, sweep=None, title: str | None = None,
                 notes: str = "", worst: int = 3, matte_channel: str | None = None) -> Path:
    """Write the HTML report of ``scores`` to ``path`` (atomically); return the path.

    ``scores``: a ``matbench score --out`` folder, its ``per_image.csv``, or the DataFrame of
    :func:`matbench.score`. ``dataset``, ``predictions`` (model -> prediction folder):
    override the folders the scores record, for the gallery. ``units``: ``paper`` or
    ``raw``. ``with_published``: ``comp1k`` or a CSV (:func:`matbench.leaderboard.published`),
    shown apart; ``published_label``: a sentence under them. ``baseline``: compare each model
    with it instead of every pair. ``sweep``: ``[(label or None, scores)]`` scorings of one
    dataset at several trimap widths (:mod:`matbench.sweep`; ``scores`` may be among them). ``worst``:
    gallery images per model (0: none). The gallery reads the alphas, trimaps and predictions
    by the matte rule (:mod:`matbench.mattes`) with the ``--matte-channel`` the scores record
    (``attrs["matte_channel"]``), as the scoring read them; ``matte_channel`` (``"red"`` or
    ``"alpha"``) overrides it, for scores that lost the record (a ``per_image.csv`` without its
    ``per_image.json``). ``path``: the HTML file; an existing folder gets ``path/report.html``.
    Raises MatbenchError for unreadable scores (a prediction folder given instead: score it
    first), a ``dataset`` other than the one the scores were computed on (:func:`check_dataset`),
    a ``path`` inside a prediction folder or the dataset, or over a file ``matbench score`` wrote
    (:func:`check_report_out`), an unknown baseline, scorings that are not a sweep or whose widths
    cannot be told (:func:`matbench.sweep.check_sweep`), or a
    gallery file the matte rule refuses.
    """
    from matbench.io import write_text_atomic

    path = Path(path)
    if path.is_dir():
        path = path / "report.html"
    per_image = load_scores(scores)
    points = [(label, load_scores(s)) for label, s in (sweep or [])]
    check_dataset(per_image, dataset)
    check_report_out(path, [per_image, *(p for _, p in points)], dataset=dataset, predictions=predictions)
    if title is None:
        title = f"matbench report: {', '.join(map(str, dict.fromkeys(per_image['model'])))}"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Tight layout not applied")
        text = render_report(per_image, dataset=dataset, predictions=predictions, units=units,
                             with_published=with_published, published_label=published_label, baseline=baseline,
                             sweep=points, title=title, notes=notes, worst=worst, matte_channel=matte_channel)
    write_text_atomic(path, text)
    return path
