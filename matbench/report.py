"""A self-contained HTML report of a scoring run: leaderboard, per-class chart, worst images.

``write_report(path, per_image, dataset=..., pred_dirs=...)`` writes one HTML file with no
external resources (works offline, can be mailed): the measured leaderboard (means over
images in paper units: SAD, MSE×1e3, Grad, Conn, as Composition-1K tables print them),
optionally the published rows of another dataset in a separate, labelled table, a per-class
bar chart of mean SAD (inline SVG, one bar per model), and for each model the images with the
largest SAD as thumbnails: composite, trimap, prediction, and the error |prediction − alpha|
(black = 0, white = 255), embedded as base64 PNG. Only those few images are read.

``per_image`` is the DataFrame of :func:`matbench.score` (columns ``model, image, sad, mse,
grad, conn`` in the reference units, and ``class`` when the dataset has classes).
"""
from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np

PAPER_UNITS = {"sad": ("SAD", 1.0), "mse": ("MSE×1e3", 1e3), "grad": ("Grad", 1.0), "conn": ("Conn", 1.0)}
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
THUMB = 160

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;
color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}th,td{padding:.3em .8em;border-bottom:1px solid #e5e5e5;
text-align:right}th:first-child,td:first-child{text-align:left}thead th{background:#f4f4f4}
table.published{color:#555;font-style:italic}.note{color:#666;font-size:.9em}
figure{display:inline-block;margin:.2em;text-align:center}figure img{display:block;image-rendering:pixelated;
border:1px solid #ccc}figcaption{font-size:.75em;color:#555}.row{margin:.6em 0}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:.9em;height:.9em;
margin-right:.3em;vertical-align:-.1em}
"""


def _fmt(x, digits: int = 2) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return html.escape(str(x))
    if math.isnan(x):
        return "–"
    return f"{x:.{digits}f}"


def summary(per_image):
    """Mean of each metric per model in paper units, with the image count, best SAD first."""
    df = per_image.copy()
    for col, (_, scale) in PAPER_UNITS.items():
        df[col] = df[col] * scale
    out = df.groupby("model", sort=False).agg(n_images=("image", "size"), sad=("sad", "mean"), mse=("mse", "mean"),
                                               grad=("grad", "mean"), conn=("conn", "mean"))
    return out.sort_values("sad", kind="stable")


def _table(rows, columns, headers, cls="") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c, "")
            cells.append(f"<td>{_fmt(v) if c in PAPER_UNITS else html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def leaderboard_html(per_image) -> str:
    s = summary(per_image).reset_index()
    headers = ["model", "images"] + [PAPER_UNITS[c][0] for c in PAPER_UNITS]
    return _table(s.to_dict("records"), ["model", "n_images", *PAPER_UNITS], headers, "leaderboard")


def published_html(published) -> str:
    """The published rows (another dataset), in their own table, columns as given."""
    if published is None or len(published) == 0:
        return ""
    cols = [c for c in published.columns]
    recs = published.to_dict("records")
    return _table(recs, cols, cols, "published")


def class_chart_svg(per_image, metric: str = "sad", width: int = 760) -> str:
    """Horizontal bars of the mean ``metric`` per class (rows) and model (one bar each)."""
    if "class" not in per_image.columns:
        return ""
    df = per_image[per_image["class"].astype(str) != ""]
    if df.empty:
        return ""
    label, scale = PAPER_UNITS[metric]
    means = (df.groupby(["class", "model"], sort=True)[metric].mean() * scale).unstack("model")
    models = [m for m in dict.fromkeys(per_image["model"]) if m in means.columns]
    classes = list(means.index)
    bar_h, gap, left, right = 12, 10, 120, 70
    group_h = bar_h * len(models) + gap
    height = group_h * len(classes) + 30
    vmax = float(np.nanmax(means.to_numpy())) if np.isfinite(means.to_numpy()).any() else 1.0
    vmax = vmax if vmax > 0 else 1.0
    plot_w = width - left - right
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="mean {html.escape(label)} per class" font-size="11" '
             f'font-family="system-ui,sans-serif">']
    for ci, klass in enumerate(classes):
        y0 = ci * group_h + 5
        parts.append(f'<text x="{left - 6}" y="{y0 + bar_h * len(models) / 2 + 4:.1f}" text-anchor="end">'
                     f'{html.escape(str(klass))}</text>')
        for mi, model in enumerate(models):
            v = means.at[klass, model]
            y = y0 + mi * bar_h
            if not np.isfinite(v):
                continue
            w = max(0.5, plot_w * float(v) / vmax)
            parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" '
                         f'fill="{PALETTE[mi % len(PALETTE)]}"><title>{html.escape(model)} · '
                         f'{html.escape(str(klass))}: {label} {v:.3f}</title></rect>')
            parts.append(f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 3}">{v:.2f}</text>')
    axis_y = len(classes) * group_h + 8
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#999"/>')
    parts.append(f'<text x="{left}" y="{axis_y + 14}">0</text>')
    parts.append(f'<text x="{left + plot_w}" y="{axis_y + 14}" text-anchor="end">{vmax:.2f} {html.escape(label)}'
                 f'</text></svg>')
    legend = "".join(f'<span><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{html.escape(m)}</span>'
                     for i, m in enumerate(models))
    return f'<div class="legend">{legend}</div>' + "".join(parts)


def _png_data_uri(array: np.ndarray) -> str:
    from matbench.io import encode_png

    return "data:image/png;base64," + base64.b64encode(encode_png(array, 6)).decode("ascii")


def _thumb(array: np.ndarray, size: int = THUMB) -> np.ndarray:
    from PIL import Image

    h, w = array.shape[:2]
    scale = size / max(h, w)
    if scale >= 1:
        return array
    mode = "RGB" if array.ndim == 3 else "L"
    im = Image.fromarray(np.ascontiguousarray(array), mode)
    return np.asarray(im.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BOX))


def _figure(array: np.ndarray, caption: str) -> str:
    return (f'<figure><img alt="{html.escape(caption)}" src="{_png_data_uri(_thumb(array))}">'
            f'<figcaption>{html.escape(caption)}</figcaption></figure>')


def worst_images_html(per_image, dataset, pred_dirs: dict, n: int = 4) -> str:
    """For each model, its ``n`` images with the largest SAD: composite, trimap, prediction, error."""
    from matbench.io import read_rgb8
    from matbench.mattes import read_matte
    from matbench.manifest import read_manifest

    dataset = Path(dataset)
    rows = {r["image"]: r for r in read_manifest(dataset)}
    out = []
    for model in dict.fromkeys(per_image["model"]):
        folder = pred_dirs.get(model)
        if folder is None:
            continue
        sub = per_image[per_image["model"] == model].sort_values("sad", ascending=False, kind="stable").head(n)
        out.append(f"<h3>{html.escape(model)}</h3>")
        for rec in sub.to_dict("records"):
            row = rows.get(rec["image"])
            pred_path = Path(folder) / f"{rec['image']}.png"
            if row is None or not pred_path.is_file():
                continue
            alpha = read_matte(dataset / row["alpha"]).astype(np.int16)
            pred = read_matte(pred_path)
            err = np.abs(pred.astype(np.int16) - alpha).astype(np.uint8)
            klass = f" · {row.get('class')}" if row.get("class") else ""
            out.append(f'<div class="row"><div>{html.escape(rec["image"])}{html.escape(klass)} — SAD '
                       f'{_fmt(rec["sad"])}, MSE×1e3 {_fmt(rec["mse"] * 1e3)}</div>'
                       + _figure(read_rgb8(dataset / row["merged"]), "composite")
                       + _figure(read_matte(dataset / row["trimap"]), "trimap")
                       + _figure(pred, "prediction")
                       + _figure(err, "|prediction − alpha|") + "</div>")
    return "".join(out)


def render_report(per_image, *, dataset=None, pred_dirs=None, leaderboard=None, published=None,
                  published_label: str = "", title: str = "matbench report", notes: str = "", worst: int = 4) -> str:
    """The report as an HTML string (see the module docstring).

    ``leaderboard``: a :func:`matbench.leaderboard` table to show (with its intervals, ranks,
    notes and published section); without it, the means of ``per_image`` are shown, and
    ``published`` (a DataFrame) in its own table headed ``published_label``.
    ``pred_dirs``: model -> prediction folder (default: ``per_image.attrs["pred_dirs"]``),
    needed with ``dataset`` for the worst-image thumbnails.
    """
    pred_dirs = dict(pred_dirs or per_image.attrs.get("pred_dirs") or {})
    parts = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    if notes:
        parts.append(f'<p class="note">{html.escape(notes)}</p>')
    n_images = per_image["image"].nunique()
    if leaderboard is not None:
        from matbench.leaderboard import format_leaderboard

        parts.append(f"<p class=note>Measured on {n_images} images; lower is better.</p>")
        parts.append(format_leaderboard(leaderboard, "html", title="Leaderboard"))
        if "kind" in leaderboard.columns and (leaderboard["kind"] == "published").any():
            label = published_label or ("The published rows are from another dataset (Composition-1K): copied "
                                        "from the papers, not measured here, not comparable with the measured rows.")
            parts.append(f'<p class="note">{html.escape(label)}</p>')
    else:
        parts.append(f"<h2>Leaderboard</h2><p class=note>Measured on {n_images} images; means over images. "
                     "SAD, Grad and Conn in thousands, MSE ×1e3 (Composition-1K table units), lower is better.</p>")
        parts.append(leaderboard_html(per_image))
    if leaderboard is None and published is not None and len(published):
        label = published_label or "Published results on another dataset"
        parts.append(f"<h2>{html.escape(label)}</h2><p class=note>Copied from the papers (sources in the table); "
                     "measured on a different dataset, so not comparable with the rows above.</p>")
        parts.append(published_html(published))
    chart = class_chart_svg(per_image)
    if chart:
        parts.append("<h2>Mean SAD per class</h2>" + chart)
    if dataset is not None and pred_dirs and worst > 0:
        parts.append(f"<h2>Worst images per model (largest SAD)</h2><p class=note>Error: |prediction − alpha|, "
                     f"black = 0, white = 255. Thumbnails at most {THUMB} px.</p>")
        parts.append(worst_images_html(per_image, dataset, pred_dirs, worst))
    parts.append("</body></html>\n")
    return "".join(parts)


def write_report(path, per_image, **kwargs) -> Path:
    """Render the report (keyword arguments of :func:`render_report`) and write it atomically."""
    from matbench.io import write_text_atomic

    path = Path(path)
    write_text_atomic(path, render_report(per_image, **kwargs))
    return path
