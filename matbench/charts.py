"""The report's charts: matplotlib figures rendered as inline SVG strings.

matplotlib is used through ``matplotlib.figure.Figure`` and ``savefig(format="svg")`` only:
no pyplot, no global backend, no window is ever opened. Text stays text
(``svg.fonttype = none``, DejaVu Sans, which matplotlib ships), ids are prefixed per figure
so that several charts can sit in one HTML page, and the metadata (date, creator) is left
out so the same data gives the same SVG. Every chart shows the four reference metrics in
the leaderboard's units (axis labels as the table headers: ``SAD/1e3``, ``MSE×1e3``, ...).
"""
from __future__ import annotations

import io
import re
import textwrap

import numpy as np

from matbench.leaderboard import HEADERS, METRICS, NAMES
from matbench.scorefiles import metric_scales

__all__ = ["svg", "model_colours", "means_chart", "distribution_chart", "size_chart", "group_chart",
           "sweep_chart", "error_colours"]

STYLE = {"svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 10, "axes.titlesize": 11,
         "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
         "axes.axisbelow": True}
WIDTH = 10.0  # inches; the page scales the SVG to its column (1000–1400 px)
NAME_WIDTH = 26  # characters per line of a model or group name on an axis
RASTER_POINTS = 1000  # scatters of a table with more rows are embedded as 150-dpi pictures (small SVG)
_ID = re.compile(r'\bid="([^"]+)"')


def _style():
    import matplotlib

    return matplotlib.rc_context(STYLE)


def svg(fig, prefix: str) -> str:
    """``fig`` as an inline ``<svg>`` element (no XML prolog, no metadata), every id and
    reference to it prefixed with ``prefix`` so figures do not clash in one page."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": prefix}):
        fig.savefig(buf, format="svg", dpi=150, metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    for name in set(_ID.findall(text)):
        new = f"{prefix}-{name}"
        text = (text.replace(f'id="{name}"', f'id="{new}"').replace(f'href="#{name}"', f'href="#{new}"')
                .replace(f"url(#{name})", f"url(#{new})"))
    return text.replace("<svg ", f'<svg class="chart" role="img" aria-label="{prefix}" ', 1)


def model_colours(models) -> dict:
    """One colour per model (matplotlib's tab10, then tab20), the same in every chart."""
    from matplotlib import colormaps

    tab = [colormaps["tab10"](i) for i in range(10)] + [colormaps["tab20"](i) for i in range(1, 20, 2)]
    return {m: tab[i % len(tab)] for i, m in enumerate(models)}


def _label(name) -> str:
    return textwrap.fill(str(name), NAME_WIDTH, break_long_words=True, break_on_hyphens=True)


def _axis(metric: str, units: str, what: str = "mean") -> str:
    return f"{what} {HEADERS[units][metric]}"


def _panels(n_rows: int, *, sharey: bool = True, per_row: float = 0.28, extra: float = 1.0):
    from matplotlib.figure import Figure

    height = min(30.0, max(2.2, extra + per_row * n_rows))
    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    axes = fig.subplots(1, len(METRICS), sharey=sharey)
    return fig, axes


def means_chart(board, units: str, colours: dict) -> str:
    """Horizontal bars of each measured model's mean per metric with its 95% interval
    (``board``: the measured rows of :func:`matbench.leaderboard`, best first)."""
    models = list(board["model"])
    with _style():
        fig, axes = _panels(len(models), per_row=0.32)
        y = np.arange(len(models))
        for ax, m in zip(axes, METRICS):
            v = board[m].to_numpy(dtype=float)
            lo = board[f"{m}_lo"].to_numpy(dtype=float) if f"{m}_lo" in board else v
            hi = board[f"{m}_hi"].to_numpy(dtype=float) if f"{m}_hi" in board else v
            err = np.vstack([np.nan_to_num(v - lo), np.nan_to_num(hi - v)])
            ax.barh(y, v, xerr=err, color=[colours[k] for k in models], height=0.6, capsize=3,
                    error_kw={"elinewidth": 1})
            ax.set_xlabel(_axis(m, units) + " (95% CI)")
            ax.set_title(f"{NAMES[m]} · lower is better")
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(y, [_label(k) for k in models])
        axes[0].invert_yaxis()
        return svg(fig, "means")


def distribution_chart(per_image, models, units: str, colours: dict) -> str:
    """Per model and metric: the per-image values as a box plot (quartiles, whiskers at 1.5
    IQR) over the points themselves (jittered vertically, seeded)."""
    scale = metric_scales(units)
    rng = np.random.default_rng(0)
    with _style():
        fig, axes = _panels(len(models), per_row=0.45)
        for ax, m in zip(axes, METRICS):
            data = [per_image.loc[per_image["model"] == k, m].to_numpy(dtype=float) * scale[m] for k in models]
            data = [d[np.isfinite(d)] for d in data]
            ax.boxplot(data, positions=np.arange(len(models)), orientation="horizontal", widths=0.6,
                       showfliers=False, medianprops={"color": "black"}, patch_artist=True,
                       boxprops={"facecolor": "none"})
            for i, (k, d) in enumerate(zip(models, data)):
                ax.scatter(d, i + rng.uniform(-0.22, 0.22, d.size), s=7, color=colours[k], alpha=0.55,
                           linewidths=0, rasterized=len(per_image) > RASTER_POINTS)
            ax.set_xlabel(_axis(m, units, "per-image"))
            ax.set_title(NAMES[m])
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(np.arange(len(models)), [_label(k) for k in models])
        axes[0].invert_yaxis()
        return svg(fig, "distribution")


def size_chart(per_image, models, units: str, colours: dict) -> str:
    """Per-image error against the size of the unknown region (thousands of pixels with
    trimap == 128), one colour per model."""
    scale = metric_scales(units)
    with _style():
        fig, axes = _panels(0, sharey=False, extra=3.4)
        for ax, m in zip(axes, METRICS):
            for k in models:
                d = per_image[per_image["model"] == k]
                ax.scatter(d["unknown_px"] / 1000, d[m] * scale[m], s=9, alpha=0.6, color=colours[k],
                           linewidths=0, label=_label(k), rasterized=len(per_image) > RASTER_POINTS)
            ax.set_xlabel("unknown region (1000 px)")
            ax.set_ylabel(_axis(m, units, "per-image"))
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(models)), markerscale=2,
                   frameon=False)
        return svg(fig, "size")


def group_chart(table, group: str, models, units: str, colours: dict) -> str:
    """Mean per group (rows) and model (one bar each) for the four metrics; ``table``: the
    measured rows of ``leaderboard(..., by=group)``, whose group order (classes in the SIM
    paper's order) is kept."""
    groups = list(dict.fromkeys(table[group].astype(str)))
    n = len(models)
    with _style():
        fig, axes = _panels(len(groups) * n, per_row=0.16)
        height = 0.8 / n
        for ax, m in zip(axes, METRICS):
            means = table.pivot(index=group, columns="model", values=m)
            for i, k in enumerate(models):
                v = [means.at[g, k] if g in means.index and k in means.columns else np.nan for g in groups]
                ax.barh(np.arange(len(groups)) - 0.4 + (i + 0.5) * height, v, height=height, color=colours[k],
                        label=_label(k))
            ax.set_xlabel(_axis(m, units))
            ax.set_title(NAMES[m])
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(np.arange(len(groups)), [_label(g) for g in groups])
        axes[0].invert_yaxis()
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(4, n), frameon=False)
        return svg(fig, f"by-{group}")


def sweep_chart(table, units: str, colours: dict) -> str:
    """Each metric's mean (95% interval as error bars) against the trimap width in px, one
    line per model; ``table``: :func:`matbench.sweep.sweep_table`."""
    with _style():
        fig, axes = _panels(0, sharey=False, extra=3.4)
        for ax, m in zip(axes, METRICS):
            for k, d in table.groupby("model", sort=False):
                d = d.sort_values("width_px")
                v = d[m].to_numpy(dtype=float)
                err = np.vstack([np.nan_to_num(v - d[f"{m}_lo"].to_numpy(dtype=float)),
                                 np.nan_to_num(d[f"{m}_hi"].to_numpy(dtype=float) - v)])
                ax.errorbar(d["width_px"], v, yerr=err, marker="o", ms=4, capsize=3, color=colours[k],
                            label=_label(k))
            ax.set_xticks(sorted(table["width_px"].unique()))
            ax.set_xlabel("trimap width (px)")
            ax.set_ylabel(_axis(m, units))
            ax.set_title(NAMES[m])
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)), frameon=False)
        return svg(fig, "sweep")


def error_colours(error: np.ndarray, region: np.ndarray) -> np.ndarray:
    """H×W×3 uint8 picture of ``error`` (uint8 |prediction − alpha|) through matplotlib's
    ``inferno`` colour map (0 black, 255 pale yellow) inside ``region`` (the unknown
    region, bool), light grey outside it."""
    from matplotlib import colormaps

    lut = (colormaps["inferno"](np.arange(256))[:, :3] * 255).round().astype(np.uint8)
    out = lut[error]
    out[~region] = 200
    return out


def colour_bar_css(n: int = 9) -> str:
    """A CSS ``linear-gradient`` of the error colour map (0 → 255), for the gallery's legend."""
    from matplotlib import colormaps

    stops = [colormaps["inferno"](i / (n - 1)) for i in range(n)]
    return "linear-gradient(to right," + ",".join(
        f"rgb({r * 255:.0f},{g * 255:.0f},{b * 255:.0f})" for r, g, b, _ in stops) + ")"
