"""The files of ``matbench score --out``: unit-bearing column names, provenance, and readers
that map the files back to the API's DataFrames.

A CSV column's name carries its scale, so one file is enough to read every number in it:

- ``<name>/1e3``: the quantity divided by 1000 (SAD, Grad, Conn and the SAD extras, as the
  DIM MATLAB code prints them: ``sad/1e3`` = 50.4 means a SAD of 50 400);
- ``<name>*1e3``: the quantity multiplied by 1000 (MSE in paper units, as Composition-1K
  tables print it: ``mse*1e3`` = 14.0 means an MSE of 0.014);
- a bare name: the quantity itself (``mse`` unscaled, ``mad`` a fraction, ranks, counts,
  ``..._per_second``/``..._seconds...`` in seconds).

Interval ends and own-image means carry the scale of their metric (``sad_lo/1e3``,
``mse_hi*1e3``, ``conn_own/1e3``). No ``#`` comment lines: spreadsheets, R's ``read.csv``
and most CSV tools would read them as data. Provenance of a ``per_image.csv`` (matbench
version, date, reference set, options, coverage, run.json of every model) goes into the
``per_image.json`` beside it; :func:`read_per_image` restores it into ``df.attrs``.
"""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

from matbench.errors import MatbenchError, capped_list
from matbench.io import utc_now

__all__ = ["file_column", "api_column", "column_units", "score_provenance", "describe_reference",
           "official_status", "reference_label", "warning_lines",
           "comp1k_mismatch", "sim_mismatch", "write_per_image", "read_per_image", "read_leaderboard", "score_tables",
           "write_score_outputs", "check_score_out", "COMP1K_LISTS", "SIM_FILE_LIST_SHA256", "SCORE_FILES"]

MSE_SCALE = {"paper": 1000.0, "raw": 1.0}


def metric_scales(units: str) -> dict:
    """Factor from the reference units of ``per_image`` to ``units`` for each metric."""
    return {"sad": 1.0, "mse": MSE_SCALE[units], "grad": 1.0, "conn": 1.0}

# sha256 of the Adobe release's test_fg_names.txt / test_bg_names.txt (the files, not their
# content, are checked: matbench's builder records the same hashes in dataset.json)
COMP1K_LISTS = {"fg_list_sha256": "4bcd9b634c31d8faadaa116e5a02c5a0fb56cefb59cc5a8a45118f2e237af954",
                "bg_list_sha256": "7285f9fed96827812a20cfe2976bf1947c2f1df8ef52359609edf0b81875e3a6"}
COMP1K_IMAGES = 1000
# sha256 of the SIM authors' test file list SIMD_composition_test_filelist.txt (890 lines, one
# composite each; the file, not its content, is checked: `build-sim` records the same hash as
# dataset.json's file_list_sha256)
SIM_FILE_LIST_SHA256 = "a5ed33058f7d50743f6bd37ee583955532b56dd11215b4c3d3d0c455f88fd4cb"
SIM_IMAGES = 890
SIM_TRIMAPS = "generated (SIM script"  # how build-sim's dataset.json "trimaps" begins: the script's own trimaps
_THOUSANDS = ("sad", "grad", "conn")  # with every sad_* extra: stored ÷ 1000
_TEXT = ("model", "image", "fg", "bg", "class", "kind", "source", "run", "dataset", "note")
_SINGLE = "single-precision sums in MATLAB's column order, as the reference prints them"
_DOUBLE = "extra, not in the DIM MATLAB code: exact double-precision sum"
_DESCRIBE = {
    "sad": f"SAD ÷ 1000: sum over trimap == 128 of |pred − alpha| / 255, divided by 1000 (DIM MATLAB code; {_SINGLE})",
    "grad": "Grad ÷ 1000: sum over trimap == 128 of (|∇pred| − |∇alpha|)², Gaussian-derivative gradients "
            f"(σ = 1.4) of min-max-normalised images, divided by 1000 (DIM MATLAB code; filtered in double, {_SINGLE})",
    "conn": "Conn ÷ 1000: connectivity error (threshold step 0.1) summed over trimap == 128, divided by 1000 "
            f"(DIM MATLAB code; {_SINGLE})",
    "mad": f"fraction: mean over trimap == 128 of |pred − alpha| / 255 ({_DOUBLE})",
    "sad_image": f"SAD over the whole image ÷ 1000 (mmagic's SAD; {_DOUBLE})",
    "sad_unknown": f"SAD over trimap == 128 ÷ 1000 (GFM/P3M region split; {_DOUBLE}: differs from sad by the "
                   f"reference's single-precision rounding)",
    "sad_fg": f"SAD over trimap == 255 ÷ 1000 (GFM/P3M region split; {_DOUBLE})",
    "sad_bg": f"SAD over trimap == 0 ÷ 1000 (GFM/P3M region split; {_DOUBLE})",
}
_MSE = f"mean over trimap == 128 of ((pred − alpha) / 255)² (DIM MATLAB code; {_SINGLE})"
PRECISION_NOTE = ("sad, mse, grad and conn are the DIM MATLAB reference's values: single-precision (float32) sums "
                  "in MATLAB's column-major order, as the reference prints them; the extras mad, sad_image, "
                  "sad_unknown, sad_fg and sad_bg are exact double-precision sums of the same terms, so sad_unknown "
                  "differs from sad (the same region) by the reference's float32 rounding, about 1e-7 relative "
                  "(up to ~4e-5 on a 1080×1920 image)")


def _metric_of(col: str) -> str:
    """The metric whose scale ``col`` carries: ``sad_lo`` -> ``sad``, ``sad_fg`` -> ``sad_fg``,
    ``mse_diff_hi`` -> ``mse`` (a paired difference, :mod:`matbench.compare`)."""
    for suffix in ("_lo", "_hi", "_own"):
        if col.endswith(suffix):
            col = col[: -len(suffix)]
            break
    return col[: -len("_diff")] if col.endswith("_diff") else col


def _scale(col: str, units: str) -> str:
    """``"/1e3"``, ``"*1e3"`` or ``""``: how ``col``'s values relate to the quantity."""
    metric = _metric_of(col)
    if metric == "mse":
        return "*1e3" if units == "paper" else ""
    if metric in _THOUSANDS or metric.startswith("sad_"):
        return "/1e3"
    return ""


def file_column(col: str, units: str = "raw") -> str:
    """The CSV name of API column ``col`` in ``units`` (``"paper"``: MSE × 1e3; ``"raw"``: MSE
    unscaled, the reference units of ``per_image.csv``): ``sad`` -> ``sad/1e3``."""
    return col + _scale(col, units)


def api_column(header: str) -> tuple[str, str]:
    """``(API column, scale)`` of a CSV header: ``"mse*1e3"`` -> ``("mse", "*1e3")``."""
    for scale in ("/1e3", "*1e3"):
        if header.endswith(scale):
            return header[: -len(scale)], scale
    return header, ""


def column_units(columns, units: str = "raw") -> dict:
    """Column -> its unit in words, for the columns that hold numbers (JSON's ``units``)."""
    out = {}
    for col in columns:
        metric = _metric_of(col)
        if metric == "mse":
            text = (f"MSE × 1000: {_MSE}, multiplied by 1000 (Composition-1K tables)" if units == "paper"
                    else f"MSE unscaled: {_MSE}")
        elif metric in _DESCRIBE:
            text = _DESCRIBE[metric]
        elif col == "unknown_px":
            text = "pixels with trimap == 128 (the unknown region the metrics are summed over)"
        elif col.startswith("rank_") or col == "avg_rank":
            text = "mean per-image rank, 1 = best (no unit)"
        elif col.startswith("n_"):
            text = "count of images"
        elif col == "wall_images_per_second":
            text = "images per second of wall-clock time for the whole run, all workers (run.json)"
        elif col == "worker_seconds_per_image":
            text = "mean seconds one worker spent per image, one-off compile costs excluded (run.json)"
        else:
            continue
        if col != metric:
            what = {"_lo": "lower end of the interval of", "_hi": "upper end of the interval of",
                    "_own": "mean over the model's own images of",
                    "_diff": "mean paired difference (B − A) of",
                    "_diff_lo": "lower end of the interval of the mean paired difference (B − A) of",
                    "_diff_hi": "upper end of the interval of the mean paired difference (B − A) of",
                    }[col[len(metric):]]
            text = f"{what} {metric}, same unit: {text}"
        out[col] = text
    return out


# --------------------------------------------------------------------------- provenance

def score_provenance(*, dataset=None, alpha_dir=None, trimap_dir=None) -> dict:
    """What a score was computed on: matbench version, UTC date, the reference set (absolute
    paths; a dataset's ``dataset.json`` build record and the sha256 of its ``manifest.csv``;
    a trimap folder's ``trimaps.json`` when ``matbench trimap`` made it)."""
    from matbench import __version__

    from matbench.manifest import manifest_sha256, read_dataset_json

    reference = {}
    if dataset is not None:
        root = Path(dataset).resolve()
        reference = {"dataset": str(root), "dataset_json": read_dataset_json(root),
                     "manifest_sha256": manifest_sha256(root)}
    else:
        reference["alpha_dir"] = str(Path(alpha_dir).resolve())
    if trimap_dir is not None:
        reference["trimap_dir"] = str(Path(trimap_dir).resolve())
        reference["trimaps_json"] = _read_json(Path(trimap_dir) / "trimaps.json")
    return {"matbench": __version__, "scored": utc_now(), "reference": reference}


def _read_json(path: Path):
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describe_reference(reference) -> str:
    """The reference set of a score in words (for notes and headings), saying whether it is the
    official Composition-1K or SIM test set (:func:`official_status`)."""
    if not reference:
        return "reference set not recorded"
    trimaps = _describe_trimaps(reference)
    if "dataset" in reference:
        info = reference.get("dataset_json") or {}
        built = ", ".join(f"{k} {info[k]}" for k in ("kind", "composites", "trimaps") if info.get(k))
        status = official_status(reference)
        text = (f"dataset {reference['dataset']}" + (f" ({built})" if built else " (no dataset.json)")
                + (f": {status}" if status else ""))
        return text + (f" with {trimaps}" if trimaps else "")
    return f"alphas {reference.get('alpha_dir')}, {trimaps}"


def official_status(reference) -> str:
    """Whether the dataset of ``reference`` (a score's ``provenance["reference"]``) is the official
    Composition-1K (the exact check of :func:`comp1k_mismatch`: the release's test name lists by
    sha256, 1000 composites, the official trimaps, scored with them) or SIM test set
    (:func:`sim_mismatch`), in words: ``Composition-1K (official: checked)``, or ``built like
    Composition-1K (not the official set: 50 composites, not 1000)``; '' for a dataset of
    another kind, or folders."""
    info = (reference or {}).get("dataset_json") or {}
    if "dataset" not in (reference or {}) or not info:
        return ""
    kind = str(info.get("kind") or "")
    if kind.startswith("composition-1k") or any(info.get(k) == v for k, v in COMP1K_LISTS.items()):
        name, n, differ = "Composition-1K", COMP1K_IMAGES, []
        if any(info.get(k) != v for k, v in COMP1K_LISTS.items()):
            differ.append("test name lists differ from the Adobe release's")
        if info.get("trimaps") != "official":
            differ.append(f"{info.get('trimaps') or 'unrecorded'} trimaps, not the release's official ones")
    elif kind == "sim-test":
        name, n, differ = "SIM test set", SIM_IMAGES, []
        if info.get("file_list_sha256") != SIM_FILE_LIST_SHA256:
            differ.append("file list differs from the authors' SIMD_composition_test_filelist.txt")
        if not str(info.get("trimaps") or "").startswith(SIM_TRIMAPS):
            differ.append(f"{info.get('trimaps') or 'unrecorded'} trimaps, not the SIM script's")
    else:
        return ""
    if info.get("composites") != n:
        differ.insert(0, f"{info.get('composites')} composites, not {n}")
    if reference.get("trimap_dir"):
        differ.append(f"scored with the trimaps of {reference['trimap_dir']}")
    if not differ:
        return f"{name} (official: checked)"
    return f"built like {name} (not the official set: {'; '.join(differ)})"


def reference_label(reference) -> str:
    """A short name of the reference set for a table's ``dataset`` column: ``Composition-1K``
    (official, checked), ``D (built like Composition-1K, not official)``, ``D (kind K)``, or
    ``alphas DIR`` for folders; ``(not recorded)``."""
    if not reference:
        return "(not recorded)"
    if "dataset" not in reference:
        return f"alphas {reference.get('alpha_dir')}" + (f", trimaps {reference['trimap_dir']}"
                                                         if reference.get("trimap_dir") else "")
    root, status = reference["dataset"], official_status(reference)
    trimaps = f", trimaps {reference['trimap_dir']}" if reference.get("trimap_dir") else ""
    if status.endswith("(official: checked)"):
        return status.split(" (")[0] + f" ({root})"
    if status:
        return f"{root} ({status.split(' (')[0]}, not official{trimaps})"
    kind = ((reference.get("dataset_json") or {}).get("kind"))
    return f"{root} ({'kind ' + kind if kind else 'no dataset.json'}{trimaps})"


WARNING_PREFIX = "warning while scoring: "


def warning_lines(attrs) -> list[str]:
    """The warnings recorded while scoring (``attrs["warnings"]`` of :func:`matbench.score`, or a
    provenance dict's ``warnings``), one line each, prefixed ``warning while scoring:``: what
    every score file shows in its notes, as they affect how to read the numbers."""
    return [WARNING_PREFIX + str(w) for w in ((attrs or {}).get("warnings") or [])]


def _describe_trimaps(reference) -> str:
    """``trimaps DIR (erode-dilate, width 12 px)`` for a reference with a trimap folder, else ''."""
    if not reference.get("trimap_dir"):
        return ""
    info = reference.get("trimaps_json") or {}
    how = ", ".join(str(x) for x in (info.get("method"), info.get("width_px") is not None
                                     and f"width {info['width_px']} px") if x)
    return f"trimaps {reference['trimap_dir']}" + (f" ({how})" if how else "")


def _recorded_build(reference, rows: str):
    """``(dataset root, its dataset.json, None)`` of a score's ``reference``, or a reason why its
    comparability with the published ``rows`` cannot be checked in the third place."""
    cannot = f"comparability with {rows} cannot be checked: "
    if not reference or "dataset" not in reference:
        return None, None, cannot + ("the scores were not computed on a dataset built by matbench "
                                     "(--alpha-dir/--trimap-dir, or the reference was not recorded)")
    root, info = reference["dataset"], reference.get("dataset_json")
    return root, info, None if info else cannot + f"{root} has no readable dataset.json"


def comp1k_mismatch(reference, n_images) -> str | None:
    """Why measured rows on ``reference`` (a score's ``provenance["reference"]``; ``n_images``
    images in the means) are not comparable with published Composition-1K rows, or why that
    cannot be checked; None when they are on the full Composition-1K: a matbench build
    (``dataset.json``) of the Adobe release's test name lists (sha256 in ``COMP1K_LISTS``),
    1000 composites, the release's official trimaps, all 1000 images in the means."""
    root, info, unchecked = _recorded_build(reference, "the published Composition-1K rows")
    if unchecked:
        return unchecked
    not_comparable = "the measured rows are not comparable with the published Composition-1K rows: "
    if any(info.get(k) != v for k, v in COMP1K_LISTS.items()):
        return not_comparable + (f"{root} is not Composition-1K (built from other name lists than the Adobe "
                                 f"release's test_fg_names.txt/test_bg_names.txt)")
    if info.get("composites") != COMP1K_IMAGES:
        return not_comparable + f"{root} has {info.get('composites')} composites, not 1000"
    if info.get("trimaps") != "official":
        return not_comparable + f"{root} has {info.get('trimaps') or 'no'} trimaps, not the release's official ones"
    if reference.get("trimap_dir"):
        return not_comparable + f"scored with the trimaps of {reference['trimap_dir']}, not the release's official ones"
    if n_images != COMP1K_IMAGES:
        return not_comparable + f"the means are over {n_images} of the 1000 images"
    return None


def sim_mismatch(reference, n_images) -> str | None:
    """Why measured rows on ``reference`` (as in :func:`comp1k_mismatch`) are not comparable
    with published SIM test set rows, or why that cannot be checked; None when they are on the
    full SIM test set: a ``build-sim`` build (``dataset.json`` kind ``sim-test``) of the authors'
    ``SIMD_composition_test_filelist.txt`` (sha256 ``SIM_FILE_LIST_SHA256``), 890 composites,
    its own trimaps (the SIM script's), all 890 images in the means. Names every one that differs."""
    root, info, unchecked = _recorded_build(reference, "the published SIM test set rows")
    if unchecked:
        return unchecked
    differ = []
    if info.get("kind") != "sim-test" or info.get("file_list_sha256") != SIM_FILE_LIST_SHA256:
        differ.append(f"{root} is not the SIM test set (not built by build-sim from the authors' "
                      f"SIMD_composition_test_filelist.txt: kind {info.get('kind') or 'unrecorded'}, "
                      f"file list sha256 {str(info.get('file_list_sha256') or 'unrecorded')[:12]}…)")
    if info.get("composites") != SIM_IMAGES:
        differ.append(f"{root} has {info.get('composites')} composites, not {SIM_IMAGES}")
    if not str(info.get("trimaps") or "").startswith(SIM_TRIMAPS):
        differ.append(f"{root} has {info.get('trimaps') or 'no'} trimaps, not the SIM script's")
    if reference.get("trimap_dir"):
        differ.append(f"scored with the trimaps of {reference['trimap_dir']}, not the dataset's own")
    if n_images != SIM_IMAGES:
        differ.append(f"the means are over {n_images} of the {SIM_IMAGES} images")
    if not differ:
        return None
    return "the measured rows are not comparable with the published SIM test set rows: " + "; ".join(differ)


# --------------------------------------------------------------------------- per_image

def write_per_image(df, out_dir, *, outputs=None) -> list[Path]:
    """Write ``per_image.csv`` (unit-bearing headers, reference units: SAD, Grad, Conn ÷ 1000,
    raw MSE) and ``per_image.json`` (units of every column, ``df.attrs``: provenance, coverage,
    run.json of every model; ``outputs``: the names of the files this scoring wrote into
    ``out_dir``, see :func:`write_score_outputs`) into ``out_dir``, atomically; return both paths."""
    from matbench.io import write_text_atomic

    out_dir = Path(out_dir)
    table = df.rename(columns={c: file_column(c) for c in df.columns})
    csv_path, json_path = out_dir / "per_image.csv", out_dir / "per_image.json"
    write_text_atomic(csv_path, table.to_csv(index=False, lineterminator="\n"))
    attrs = dict(df.attrs)
    if attrs.get("pred_dirs"):
        attrs["pred_dirs"] = {m: str(Path(p).resolve()) for m, p in attrs["pred_dirs"].items()}
    doc = {"file": "per_image.csv", "what": "matbench score: one row per model × image",
           "units": column_units(df.columns), "notes": [PRECISION_NOTE], "attrs": attrs}
    if outputs is not None:
        doc["outputs"] = list(outputs)
    write_text_atomic(json_path, json.dumps(jsonable(doc), indent=2, ensure_ascii=False) + "\n")
    return [csv_path, json_path]


def score_tables(df, *, units: str = "paper", by: str | None = None, with_published=None,
                 baseline: str | None = None) -> dict:
    """The tables of ``matbench score`` for the per-image table ``df`` (:func:`matbench.score`):
    ``{"leaderboards": [(file stem, title, table)], "classwise": table or None, "comparison":
    table or None}``.

    Leaderboards: the overall one (:func:`matbench.leaderboard`, with ``with_published``) and,
    with ``by``, the one per group (``leaderboard_by_<by>``). ``classwise``: with ``by="class"``,
    the SIM paper's per-class means (:func:`matbench.classwise.class_means`; its published rows
    when ``with_published="sim"``). ``comparison``: with several models,
    :func:`matbench.compare.compare` (each against ``baseline``, or every pair). ``units``:
    ``paper`` or ``raw``. Raises MatbenchError as those functions do.
    """
    from matbench.compare import compare
    from matbench.leaderboard import leaderboard

    boards = [("leaderboard", "Matting leaderboard", leaderboard(df, units=units, with_published=with_published))]
    if by:
        boards.append((f"leaderboard_by_{by}", f"Matting leaderboard by {by}", leaderboard(df, units=units, by=by)))
    classwise = None
    if by == "class":
        from matbench.classwise import class_means

        classwise = class_means(df, units=units, with_published="sim" if with_published == "sim" else None)
    several = df["model"].nunique() > 1
    if baseline is not None and not several:
        warnings.warn(f"--baseline {baseline}: ignored, a baseline needs at least two models (one scored: "
                      f"{', '.join(map(str, df['model'].unique()))}); no comparison is written", stacklevel=2)
    comparison = compare(df, baseline=baseline, units=units) if several else None
    return {"leaderboards": boards, "classwise": classwise, "comparison": comparison}


SCORE_STEMS = ("leaderboard", "leaderboard_by_fg", "leaderboard_by_bg", "leaderboard_by_class", "classwise",
               "comparison")
SCORE_FILES = frozenset(["per_image.csv", "per_image.json"]
                        + [f"{stem}.{ext}" for stem in SCORE_STEMS for ext in ("md", "csv", "tex", "html", "json")])


def check_score_out(out, *, pred_dirs=(), dataset=None, alpha_dir=None, trimap_dir=None) -> None:
    """Refuse (one line, :func:`matbench.io.check_out_dir`) a ``score --out`` folder that is or
    lies inside a prediction folder (``pred_dirs``: folders, or ``name=path`` strings, or a dict)
    or a folder of the reference set; one inside a matbench-built dataset; and one that holds a
    file score writes (:data:`SCORE_FILES`, e.g. ``leaderboard.md``) but no ``per_image.json``:
    not a ``score --out`` folder, so those files are the user's and would be overwritten."""
    from matbench.io import check_out_dir

    if isinstance(pred_dirs, dict):
        folders = list(pred_dirs.values())
    else:
        from matbench.score import split_label

        folders = [p if isinstance(p, Path) else split_label(str(p))[1] for p in pred_dirs]
    check_out_dir(out, [("prediction folder", p) for p in folders]
                  + [("dataset", dataset), ("alpha folder", alpha_dir), ("trimap folder", trimap_dir)])
    out = Path(out)
    if out.is_dir() and not (out / "per_image.json").is_file():
        clash = sorted(n for n in SCORE_FILES if (out / n).exists())
        if clash:
            raise MatbenchError(f"{out}: holds {capped_list(clash)} but no per_image.json (not a folder matbench "
                                f"score wrote); score would overwrite them: choose another --out")


def _previous_outputs(out: Path) -> set[str]:
    """Names of the files an earlier ``score --out`` wrote into ``out``: the ``outputs`` its
    ``per_image.json`` records or, from a matbench that did not record them, every file name
    score writes (:data:`SCORE_FILES`); none without a ``per_image.json`` (not a score folder).
    Only names in :data:`SCORE_FILES`, so a file matbench does not write is never touched."""
    side = out / "per_image.json"
    if not side.is_file():
        return set()
    doc = _read_json(side) or {}
    recorded = doc.get("outputs")
    names = set(recorded) if isinstance(recorded, list) else SCORE_FILES
    return {str(n) for n in names} & SCORE_FILES


def write_score_outputs(df, out, *, units: str = "paper", by: str | None = None, with_published=None,
                        baseline: str | None = None, formats=("md",), tables: dict | None = None) -> list[Path]:
    """Write every file of ``matbench score --out`` into ``out`` (atomically); return the paths.

    ``per_image.csv``/``.json`` (:func:`write_per_image`); each leaderboard of
    :func:`score_tables` as CSV and in ``formats`` (md, csv, latex, html, json); with
    ``by="class"`` ``classwise.csv``, ``.tex`` and the other ``formats`` it comes in (not html);
    with several models ``comparison.csv``, ``.json`` (and ``.md`` when ``formats`` has md).
    Options as :func:`score_tables`; ``tables``: its result when already computed with the same
    options (the CLI prints them first). The one place that decides what ``score --out`` writes:
    the CLI and :mod:`matbench.demo` both call it.

    ``per_image.json`` records the names written (``outputs``); the files an earlier scoring
    wrote into ``out`` that this one does not (e.g. ``leaderboard_by_class.*`` or
    ``comparison.*`` of a run with other options) are deleted, so every score file in ``out``
    belongs to this scoring; other files are never touched. Raises MatbenchError when ``out`` is
    or lies inside a prediction folder or a folder of the reference set (:func:`check_score_out`).
    """
    from matbench.classwise import write_classwise
    from matbench.compare import write_comparison
    from matbench.io import out_lock
    from matbench.leaderboard import write_leaderboard

    reference = (df.attrs.get("provenance") or {}).get("reference") or {}
    check_score_out(out, pred_dirs=df.attrs.get("pred_dirs") or {}, dataset=reference.get("dataset"),
                    alpha_dir=reference.get("alpha_dir"), trimap_dir=reference.get("trimap_dir"))
    if tables is None:
        tables = score_tables(df, units=units, by=by, with_published=with_published, baseline=baseline)
    with out_lock(out):  # one matbench command writes into out at a time
        out = Path(out)
        previous = _previous_outputs(out)
        formats = list(dict.fromkeys(formats))
        paths = []
        for stem, title, lb in tables["leaderboards"]:
            paths += write_leaderboard(lb, out, ["csv", *formats], stem=stem, title=title)
        if tables["classwise"] is not None:
            paths += write_classwise(tables["classwise"], out, ["csv", "latex", *[f for f in formats if f != "html"]])
        if tables["comparison"] is not None:
            paths += write_comparison(tables["comparison"], out, ["csv", "json"] + (["md"] if "md" in formats else []))
        names = ["per_image.csv", "per_image.json", *(p.name for p in paths)]
        paths = write_per_image(df, out, outputs=names) + paths
        stale = sorted(previous - set(names))
        for name in stale:
            (out / name).unlink(missing_ok=True)
        if stale:
            warnings.warn(f"{out}: removed {capped_list(stale)}, written there by an earlier scoring with other options",
                          stacklevel=2)
        _warn_stale_report(out, previous)
        return paths


def _warn_stale_report(out: Path, previous) -> None:
    """Warn (one line) when ``out`` held scores before this scoring (``previous``: their names)
    and a ``report.html`` made from them: it no longer shows these numbers."""
    report = out / "report.html"
    if previous and report.is_file():
        warnings.warn(f"{report}: made from the earlier scores in {out}, now stale; regenerate it with "
                      f"matbench report {out} --out {report}", stacklevel=3)


def read_per_image(path):
    """A ``per_image.csv`` (or the ``score --out`` folder holding it) as the DataFrame of
    :func:`matbench.score`: API column names, reference units (MSE converted if the file holds
    ``mse*1e3``), ``df.attrs`` from ``per_image.json`` when present.

    A file from before unit-bearing headers (bare ``sad``) is read as the reference units
    matbench always wrote, with a warning. Raises MatbenchError for a missing file (a folder of
    predictions instead of scores: saying to run ``matbench score`` first) or a file without
    ``model, image`` and the four metrics.
    """
    path = Path(path)
    if path.is_dir():
        _check_score_folder(path)
        path = path / "per_image.csv"
    df, scales = _read_csv(path)
    if scales.get("sad") == "":
        warnings.warn(f"{path}: no units in the headers (written before matbench put them there); read as "
                      f"reference units: SAD, Grad, Conn ÷ 1000, raw MSE", stacklevel=2)
    elif scales.get("mse") == "*1e3":
        df["mse"] = df["mse"] / 1000.0
    _require(path, df, ("model", "image", "sad", "mse", "grad", "conn"))
    side = _read_json(path.with_suffix(".json"))
    if side and isinstance(side.get("attrs"), dict):
        df.attrs.update(side["attrs"])
    return df


def _check_score_folder(folder: Path) -> None:
    """Refuse (one line) a folder without ``per_image.csv`` that holds predictions (a
    ``run.json`` or images): the user meant to score it first."""
    from matbench.io import IMAGE_SUFFIXES

    if (folder / "per_image.csv").exists():
        return
    if (folder / "run.json").is_file() or any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir()):
        raise MatbenchError(f"{folder}: a prediction folder, not the output of matbench score (no per_image.csv); "
                            f"score it first (matbench score {folder} --dataset DATASET --out SCORES), then "
                            f"give SCORES")
    raise MatbenchError(f"{folder}: no per_image.csv (not the output of matbench score --out)")


def read_leaderboard(path):
    """A leaderboard file written by :func:`matbench.leaderboard.write_leaderboard` (``.csv`` or
    ``.json``) as the DataFrame of :func:`matbench.leaderboard`: API column names, values in the
    file's units, ``attrs["units"]`` (``paper``/``raw``, from the MSE header or the JSON) and,
    from JSON, the notes, provenance and grouping. A CSV whose headers carry no units (bare
    ``sad``: MSE could be either) is refused."""
    import pandas as pd

    path = Path(path)
    if path.suffix == ".json":
        doc = _read_json(path)
        if not doc or "measured" not in doc:
            raise MatbenchError(f"{path}: not a matbench leaderboard JSON")
        lb = pd.DataFrame([*doc["measured"], *doc.get("published", [])])
        units = doc.get("units")
        units = units.get("system") if isinstance(units, dict) else units  # older files: "units": "paper"
        lb.attrs.update({k: doc.get(k) for k in ("notes", "by", "provenance", "title")})
    else:
        lb, scales = _read_csv(path)
        if scales.get("sad") == "":
            raise MatbenchError(f"{path}: headers carry no units (bare 'sad'; written before matbench put units "
                                f"there), so MSE may be paper or raw units; rewrite it with matbench score --out")
        units = "paper" if scales.get("mse") == "*1e3" else "raw"
        by = lb.columns[1] if len(lb.columns) > 1 and lb.columns[1] != "n_images" else None
        lb.attrs["by"] = by
    if units not in MSE_SCALE:
        raise MatbenchError(f"{path}: units not stated")
    lb.attrs["units"] = units
    _require(path, lb, ("model", "sad", "mse", "grad", "conn"))
    return lb


def _read_csv(path: Path):
    """``(DataFrame with API names, {API name: scale})``; text columns as given, others numeric."""
    import pandas as pd

    if not path.is_file():
        raise MatbenchError(f"{path}: file not found")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError, pd.errors.ParserError) as e:
        raise MatbenchError(f"{path}: not a readable CSV ({str(e).splitlines()[0]})") from None
    names = dict(api_column(h) for h in raw.columns)
    df = raw.rename(columns={h: api_column(h)[0] for h in raw.columns})
    for col in df.columns:
        if col not in _TEXT:
            num = pd.to_numeric(df[col].replace("", math.nan), errors="coerce")
            if num.notna().sum() == df[col].ne("").sum():  # every non-empty cell is a number
                df[col] = num
    return df, names


def _require(path, df, columns):
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MatbenchError(f"{path}: lacks columns {', '.join(missing)} (not written by matbench score?)")


def jsonable(value):
    """``value`` with numpy scalars as Python numbers and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)

