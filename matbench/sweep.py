"""Trimap-width sweeps: each metric against the width of the unknown band, for every model.

A sweep is several scorings of the same predictions' method on one dataset, each with the
trimaps of one width (``matbench trimap --dataset D --out T --width 5,12,20``, then ``run
--trimaps T/w5`` and ``score --trimap-dir T/w5`` per width). :func:`sweep_table` stacks their
leaderboards: one row per width and model, with the means and 95% intervals of
:func:`matbench.leaderboard` (same units, same common-image rule within each width).

The width of a scoring is taken from, in order: its label (``12``, ``medium``, ``w12``), the
``trimaps.json`` that ``matbench trimap`` left in the trimap folder it was scored with (the
score's provenance), or the dataset's own generated trimaps (``dataset.json``: kernel k is
width (k − 1) / 2). Otherwise it is an error asking for a label.
"""
from __future__ import annotations

import re

from matbench.errors import MatbenchError
from matbench.leaderboard import METRICS, leaderboard
from matbench.trimap import NAMED_WIDTHS

__all__ = ["trimap_width", "sweep_table"]

_LABEL = re.compile(r"^w?(\d+(?:\.\d+)?)$")


def trimap_width(per_image, label: str | None = None) -> float:
    """The trimap half-width in px that ``per_image`` (a :func:`matbench.score` table, with
    its ``attrs``) was scored with; see the module docstring. Raises MatbenchError when it
    cannot be told."""
    if label:
        m = _LABEL.match(str(label))
        if m:
            return float(m.group(1))
        if str(label) in NAMED_WIDTHS:
            return float(NAMED_WIDTHS[str(label)])
    reference = (per_image.attrs.get("provenance") or {}).get("reference") or {}
    info = reference.get("trimaps_json") or {}
    if isinstance(info.get("width_px"), (int, float)):
        return float(info["width_px"])
    built = reference.get("dataset_json") or {}
    if not reference.get("trimap_dir") and str(built.get("trimaps", "")).startswith("generated") \
            and isinstance(built.get("trimap_kernel"), int):
        return (built["trimap_kernel"] - 1) / 2
    raise MatbenchError(f"{label or per_image.attrs.get('source') or 'scores'}: the trimap width is not recorded (no trimaps.json from matbench "
                        f"trimap); label the folder with its width, e.g. 12=SCORES")


def sweep_table(points, *, units: str = "paper", n_boot: int = 1000, seed: int = 0):
    """One row per trimap width and model: ``width_px, label, model, n_images`` and each
    metric's mean with ``_lo``/``_hi`` (95% bootstrap interval), in ``units``.

    ``points``: ``[(label or None, per_image)]`` (per_image: :func:`matbench.score` tables
    with attrs). Rows by width, then model in the order of the first point. Raises
    MatbenchError when a width cannot be told or two points have the same width.
    """
    import pandas as pd

    rows, seen = [], {}
    for label, per_image in points:
        width = trimap_width(per_image, label)
        if width in seen:
            raise MatbenchError(f"two scorings with trimap width {width:g} px ({seen[width]}, {label or 'unlabelled'})")
        seen[width] = label or "unlabelled"
        lb = leaderboard(per_image, units=units, n_boot=n_boot, seed=seed)
        cols = ["model", "n_images", *[f"{m}{s}" for m in METRICS for s in ("", "_lo", "_hi")]]
        part = lb[[c for c in cols if c in lb.columns]].copy()
        part.insert(0, "label", str(label or per_image.attrs.get("source") or f"{width:g} px"))
        part.insert(0, "width_px", width)
        rows.append(part)
    table = pd.concat(rows, ignore_index=True)
    order = {m: i for i, m in enumerate(dict.fromkeys(table["model"]))}
    table = table.sort_values(["width_px", "model"], key=lambda c: c.map(order) if c.name == "model" else c,
                              kind="mergesort", ignore_index=True)
    table.attrs["units"] = units
    return table
