"""Trimap-width sweeps: each metric against the width of the unknown band, for every model.

A sweep is several scorings of the same predictions' method on one dataset, each with the
trimaps of one width (``matbench trimap --dataset D --out T --width 5,12,20``, then ``run
--trimaps T/w5`` and ``score --trimap-dir T/w5`` per width). :func:`sweep_table` stacks their
leaderboards: one row per width and model, with the means and 95% intervals of
:func:`matbench.leaderboard` (same units, same common-image rule within each width).

Several scorings are a sweep only when (:func:`check_sweep`, from their ``per_image.json``
provenance) all were scored against the same dataset (the sha256 of its ``manifest.csv``, or
the same alpha folder), each against a different trimap set (another trimap folder, not one
with the same ``trimaps.json`` set or the same trimap files), and no scores folder is given
twice; otherwise they are refused: to compare models, score their prediction folders together
in one ``matbench score`` call and report that folder.

The width of a scoring is taken from the ``trimaps.json`` that ``matbench trimap`` left in the
trimap folder it was scored with (the score's provenance), or the dataset's own generated
trimaps (``dataset.json``: kernel k is width (k − 1) / 2), or, when neither records it, its
label (``12=SCORES``, ``medium``, ``w12``). A label that contradicts a recorded width is refused.
"""
from __future__ import annotations

import re

from matbench.errors import MatbenchError
from matbench.leaderboard import METRICS, leaderboard
from matbench.trimap import NAMED_WIDTHS

__all__ = ["trimap_width", "check_sweep", "sweep_table"]

_LABEL = re.compile(r"^w?(\d+(?:\.\d+)?)$")


def trimap_width(per_image, label: str | None = None) -> float:
    """The trimap half-width in px that ``per_image`` (a :func:`matbench.score` table, with
    its ``attrs``) was scored with; see the module docstring. Raises MatbenchError when it
    cannot be told, or when ``label`` contradicts the recorded width."""
    name = per_image.attrs.get("source") or "scores"
    given = _label_width(label)
    if label and given is None:
        raise MatbenchError(f"{label}={name}: {label!r} is not a trimap width; expected px (12, w12) or one of "
                            f"{', '.join(NAMED_WIDTHS)}")
    recorded = _recorded_width(per_image)
    if recorded is not None:
        if given is not None and given != recorded:
            raise MatbenchError(f"{label}={name}: scored with trimaps of width {recorded:g} px (recorded), not "
                                f"{given:g}; leave out the label")
        return recorded
    if given is not None:
        return given
    raise MatbenchError(f"{name}: the trimap width is not recorded (no trimaps.json from matbench trimap in its "
                        f"trimap folder); label the folder with the width its trimaps were made with, e.g. "
                        f"12={name}")


def _label_width(label) -> float | None:
    """The width in px a label names (``12``, ``w12``, ``medium``), None for none."""
    if not label:
        return None
    m = _LABEL.match(str(label))
    if m:
        return float(m.group(1))
    return float(NAMED_WIDTHS[str(label)]) if str(label) in NAMED_WIDTHS else None


def _reference(per_image) -> dict:
    return (per_image.attrs.get("provenance") or {}).get("reference") or {}


def _recorded_width(per_image) -> float | None:
    """The width from the trimap folder's ``trimaps.json`` or the dataset's generated trimaps."""
    reference = _reference(per_image)
    info = reference.get("trimaps_json") or {}
    if isinstance(info.get("width_px"), (int, float)):
        return float(info["width_px"])
    built = reference.get("dataset_json") or {}
    if not reference.get("trimap_dir") and str(built.get("trimaps", "")).startswith("generated") \
            and isinstance(built.get("trimap_kernel"), int):
        return (built["trimap_kernel"] - 1) / 2
    return None


_ADVICE = ("to compare models, score their prediction folders together in one `matbench score` call, then "
           "`matbench report` that folder")


def check_sweep(points) -> None:
    """Refuse (one line, MatbenchError) scorings that are not a trimap-width sweep.

    ``points``: ``[(label or None, per_image)]`` as :func:`sweep_table` takes. Refused when a
    scores folder (``attrs["source"]``; a DataFrame: the same object) is given twice, when a
    scoring does not record its reference set (``provenance["reference"]`` of
    ``per_image.json``), when two were scored against different datasets (the sha256 of
    ``manifest.csv``, else the dataset or alpha folder path), or when two were scored against
    the same trimap set (the same trimap folder, both the dataset's own trimaps, equal
    ``trimaps.json`` sets, or trimap folders holding the same files)."""
    names = [str(per_image.attrs.get("source") or f"scores #{i + 1}") for i, (_, per_image) in enumerate(points)]
    seen = {}
    for name, (_, per_image) in zip(names, points):
        key = _source_key(per_image)
        if key in seen:
            raise MatbenchError(f"{name}: given twice ({seen[key]}); a trimap-width sweep takes each scoring once")
        seen[key] = name
    for name, (_, per_image) in zip(names, points):
        if not _reference(per_image):
            raise MatbenchError(f"{name}: the dataset and trimaps it was scored against are not recorded (no "
                                f"per_image.json provenance), so it cannot be checked as part of a trimap-width "
                                f"sweep; give the `matbench score --out` folder, or report it alone")
    first, ref0 = names[0], _reference(points[0][1])
    for name, (_, per_image) in zip(names[1:], points[1:]):
        ref = _reference(per_image)
        if _dataset_key(ref) != _dataset_key(ref0):
            raise MatbenchError(f"{name}: scored against another dataset ({_dataset_words(ref)}) than {first} "
                                f"({_dataset_words(ref0)}); a trimap-width sweep scores one dataset with "
                                f"trimaps of several widths; report each dataset on its own")
    for i in range(len(points)):
        for j in range(i):
            a, b = _reference(points[j][1]), _reference(points[i][1])
            if _same_trimaps(a, b):
                raise MatbenchError(f"{names[i]} and {names[j]}: scored against the same trimaps "
                                    f"({_trimap_words(a)}), so not a trimap-width sweep; {_ADVICE}")


def _source_key(per_image):
    from pathlib import Path

    source = per_image.attrs.get("source")
    if not source:
        return ("object", id(per_image))
    path = Path(source).resolve()
    return ("path", str(path.parent if path.is_file() else path))


def _dataset_key(ref: dict):
    if ref.get("manifest_sha256"):
        return ("manifest", ref["manifest_sha256"])
    return ("path", ref.get("dataset") or ref.get("alpha_dir"))


def _dataset_words(ref: dict) -> str:
    if "dataset" in ref:
        sha = ref.get("manifest_sha256")
        return f"dataset {ref['dataset']}" + (f", manifest.csv sha256 {sha[:12]}…" if sha else "")
    return f"alphas {ref.get('alpha_dir')}"


def _trimap_words(ref: dict) -> str:
    return f"trimaps {ref['trimap_dir']}" if ref.get("trimap_dir") else "the dataset's own trimaps"


def _same_trimaps(a: dict, b: dict) -> bool:
    """Whether two references (one dataset) used the same trimap set; see :func:`check_sweep`."""
    from pathlib import Path

    from matbench.trimap import SET_KEYS, trimaps_sha256

    da, db = a.get("trimap_dir"), b.get("trimap_dir")
    if not da or not db:
        return not da and not db
    if da == db:
        return True
    ia, ib = a.get("trimaps_json") or {}, b.get("trimaps_json") or {}
    if ia and ib:
        keys = [k for k in SET_KEYS if k != "dataset" or not (ia.get("manifest_sha256") and ib.get("manifest_sha256"))]
        return all(ia.get(k) == ib.get(k) for k in keys)
    if Path(da).is_dir() and Path(db).is_dir():
        try:
            return trimaps_sha256(da) == trimaps_sha256(db)
        except (MatbenchError, OSError):
            return False
    return False


def sweep_table(points, *, units: str = "paper", n_boot: int = 1000, seed: int = 0):
    """One row per trimap width and model: ``width_px, label, model, n_images`` and each
    metric's mean with ``_lo``/``_hi`` (95% bootstrap interval), in ``units``.

    ``points``: ``[(label or None, per_image)]`` (per_image: :func:`matbench.score` tables
    with attrs). Rows by width, then model in the order of the first point. Raises
    MatbenchError when the points are not a sweep (:func:`check_sweep`), a width cannot be told
    or two points have the same width.
    """
    import pandas as pd

    check_sweep(points)
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
