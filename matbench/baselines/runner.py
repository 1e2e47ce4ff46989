"""Run a baseline over a dataset: one 8-bit PNG per image plus ``run.json``.

Inputs are either a dataset built by matbench (its ``manifest.csv``: ``merged`` and
``trimap`` paths; the prediction for row ``image`` is ``<out>/<image>.png``) or an image
folder and a trimap folder paired by file stem. Images are streamed one at a time, each
prediction is written atomically, and predictions already in ``out`` are skipped, so an
interrupted run resumes where it stopped and ends with the same files.

Inputs are checked as every command checks them (:mod:`matbench.mattes`): before the first
prediction, the headers of every image and trimap still to predict (size, mode, bit depth) and
the trimaps' pixels (the matte rule; values other than 0/128/255 and lossy files are warned
about); all problems in one error. An image that turns out unreadable while predicting is
collected with the others and reported at the end (its prediction is not written; the others
are, and a rerun resumes).

``run.json`` records the method, its options (``matte_channel``; for DIM also ``threads``, the
effective CPU thread count), the checkpoint's sha256, library versions and timings:
``seconds_per_image`` (mean seconds a worker spends in the method per image, excluding one-off
costs), ``seconds_per_megapixel``, ``images_per_second`` (wall-clock throughput of the run, all
workers), ``jobs`` and ``one_off_seconds`` (each worker first runs the method once on a tiny
input, e.g. PyMatting's numba compilation; the longest of these warm-ups). It is written before
the first prediction (``complete: false``) and rewritten at the end.
"""
from __future__ import annotations

import json
import platform
import time
import warnings
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from matbench.errors import MatbenchError
from matbench.io import file_sha256, index_images, read_rgb8, write_png_atomic, write_text_atomic
from matbench.mattes import InputCheck, decode_problems, raise_problems, try_read_matte
from matbench.parallel import imap, resolve_jobs

CLASSICAL = ("closed-form", "knn", "lkm", "random-walk", "shared")
BASELINES = ("dim",) + CLASSICAL + ("trimap-mid",)
RUN_JSON = "run.json"
TIMING_KEYS = ("seconds_per_image", "seconds_per_megapixel", "images_per_second", "jobs", "one_off_seconds")


def _version(pkg: str) -> str | None:
    try:
        return version(pkg)
    except PackageNotFoundError:
        return None


# From the clone: the name "matbench" on PyPI is another project (a materials-science benchmark).
TORCH_MISSING = ("DIM needs PyTorch, which the core install leaves out: in the matbench clone, "
                 "pip install -e '.[dim]' (for the CPU-only build first: pip install torch==2.13.0 "
                 "--index-url https://download.pytorch.org/whl/cpu)")


def import_dim():
    """``matbench.baselines.dim``, or a one-line MatbenchError saying how to install torch."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise MatbenchError(TORCH_MISSING) from None
    from matbench.baselines import dim

    return dim


def list_inputs(dataset=None, images=None, trimaps=None) -> list[tuple[str, Path, Path]]:
    """``(name, image path, trimap path)`` for every image, in manifest or name order.

    ``dataset`` with ``trimaps``: the dataset's composites with the trimaps of that folder,
    matched by image name (``<image>.png``, e.g. a set of ``matbench trimap --dataset``)."""
    if dataset is not None:
        if images is not None:
            raise MatbenchError("give either a dataset or --images/--trimaps, not both")
        from matbench.manifest import read_manifest

        root = Path(dataset)
        rows = read_manifest(root)
        if trimaps is not None:
            return _with_trimaps([(row["image"], root / row["merged"]) for row in rows], trimaps)
        items = []
        for row in rows:
            if not row.get("trimap"):
                raise MatbenchError(f"{root / 'manifest.csv'}: image {row['image']} has no trimap; "
                                    f"baselines need a test set built with trimaps (or --trimaps DIR)")
            items.append((row["image"], root / row["merged"], root / row["trimap"]))
        return items
    if images is None or trimaps is None:
        raise MatbenchError("give a dataset, or both --images and --trimaps")
    image_index = index_images(images, "image")
    if not image_index:
        raise MatbenchError(f"{images}: no images found")
    return _with_trimaps(list(image_index.items()), trimaps)


def _with_trimaps(images, trimaps) -> list[tuple[str, Path, Path]]:
    """``(name, image, trimap)`` for ``(name, image)`` pairs, the trimap ``trimaps/<name>.*``:
    every image without a trimap listed in one error; trimaps without an image warned about."""
    trimap_index = index_images(trimaps, "trimap")
    raise_problems([f"{trimaps}: no trimap for image {Path(path).name}" for name, path in images
                    if name not in trimap_index], "input")
    names = {name for name, _ in images}
    extra = [name for name in trimap_index if name not in names]
    if extra:
        warnings.warn(f"{trimaps}: {len(extra)} trimap(s) without an image ignored: {', '.join(extra[:10])}"
                      + (f", … ({len(extra) - 10} more)" if len(extra) > 10 else ""), stacklevel=4)
    return [(name, path, trimap_index[name]) for name, path in images]


def make_predictor(name: str, *, checkpoint=None, stage=None, device="cpu", max_side=None, tile=None,
                   fast=False, threads=None):
    """``(predict(image, trimap) -> uint8 alpha, options dict, library versions dict)``."""
    if name == "dim":
        if checkpoint is None:
            raise MatbenchError("dim needs --checkpoint PTH (an mmediting/mmagic DIM checkpoint)")
        if stage not in (None, 1, 2, 3):
            raise MatbenchError(f"--stage must be 1, 2 or 3, not {stage}")
        dim = import_dim()
        predict, loaded_stage = dim.make_predictor(checkpoint, stage, device, max_side, tile, fast, threads)
        options = {"checkpoint": str(Path(checkpoint).resolve()), "checkpoint_sha256": file_sha256(checkpoint),
                   "stage": loaded_stage, "device": device, "max_side": max_side, "tile": tile, "fast": fast,
                   "threads": dim.cpu_threads() if device == "cpu" else threads}
        return predict, options, {"torch": dim.torch_version()}
    for opt, value in (("--checkpoint", checkpoint), ("--stage", stage), ("--max-side", max_side),
                       ("--tile", tile)):
        if value is not None:
            raise MatbenchError(f"{opt} applies to dim only, not {name}")
    if name in CLASSICAL:
        from matbench.baselines.classical import classical_predictor, pymatting_version

        return classical_predictor(name), {}, {"pymatting": pymatting_version()}
    if name == "trimap-mid":
        from matbench.baselines.trivial import trimap_mid

        return trimap_mid, {}, {}
    raise MatbenchError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")


def run_baseline(name: str, out, *, dataset=None, images=None, trimaps=None, checkpoint=None, stage=None,
                 device: str = "cpu", max_side: int | None = None, tile: int | None = None, fast: bool = False,
                 threads: int | None = None, jobs: int = 1, matte_channel: str | None = None,
                 progress: bool = True) -> Path:
    """Predict every image with baseline ``name`` into ``out``; return the path of ``run.json``.

    ``name``: one of ``BASELINES``. Inputs: ``dataset`` (a matbench dataset folder) or
    ``images`` + ``trimaps`` (folders paired by file stem). DIM options: ``checkpoint``
    (mmediting/mmagic ``.pth``), ``stage`` (1, or 2/3 with the refiner; default from the
    checkpoint), ``device`` (``cpu``/``cuda``), ``max_side`` (downscale larger images),
    ``tile`` (predict in overlapping windows), ``fast`` (oneDNN convolutions on CPU; see
    :mod:`matbench.baselines.dim` for what it changes), ``threads`` (torch CPU threads; the
    effective count is recorded, and a different count is a different run, see below).
    ``jobs``: worker processes for the classical methods and ``trimap-mid`` (DIM uses
    torch's threads instead, see ``threads``). Output is the same for any ``jobs``.
    ``matte_channel``: which channel of a colour trimap is the trimap (``"red"``/``"alpha"``;
    None refuses such files, :mod:`matbench.mattes`).

    Resuming into a folder that holds a ``run.json`` needs the same method and options (the
    checkpoint by content): a different DIM thread count is a different run, because float
    summation order may move a value sitting on a rounding tie by one level; an option that a
    ``run.json`` of an older matbench does not record is not compared. Raises MatbenchError
    (one message listing every input problem) before predicting anything, or at the end for
    images unreadable while predicting.
    """
    if name not in BASELINES:
        raise MatbenchError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
    if name == "dim":
        import_dim()  # before scanning the inputs: say at once when torch is missing
    check = InputCheck(matte_channel)  # validates matte_channel first
    items = list_inputs(dataset, images, trimaps)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise MatbenchError(f"{out}: exists and is not a folder")
    predict, options, libs = make_predictor(name, checkpoint=checkpoint, stage=stage, device=device,
                                            max_side=max_side, tile=tile, fast=fast, threads=threads)
    options["matte_channel"] = matte_channel
    run_path = out / RUN_JSON
    previous = _read_previous(run_path)
    if previous is not None and previous.get("input") not in (None, _input_record(dataset, images, trimaps)):
        raise MatbenchError(f"{out}: holds predictions of another input ({_describe_input(previous['input'])}); "
                            f"use a new --out folder")
    _check_same_run(out, previous, name, options)
    todo = [(stem, image_path, trimap_path, out / f"{stem}.png")
            for stem, image_path, trimap_path in items if not (out / f"{stem}.png").is_file()]
    jobs = 1 if name == "dim" else resolve_jobs(jobs)  # DIM parallelises inside torch
    _check_inputs(check, todo, jobs)
    import numpy as np
    versions = {"matbench": _version("matbench"), "python": platform.python_version(), "numpy": np.__version__,
                "pillow": _version("pillow"), "opencv": _version("opencv-python-headless"), **libs}
    record = {
        "method": name,
        "options": options,
        "checkpoint_sha256": options.get("checkpoint_sha256"),
        "versions": versions,
        "input": _input_record(dataset, images, trimaps),
        "images": len(items),
        "complete": False,
    }
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run_path, json.dumps(record, indent=2) + "\n")

    from tqdm import tqdm

    # each worker warms the method up once (key: the same in every process) before its first image
    key = json.dumps([name, options], sort_keys=True)
    results = imap(partial(_predict_one, predict, key, matte_channel), todo, jobs=jobs)
    seconds, pixels, one_off, done, problems = 0.0, 0, 0.0, 0, []
    t0 = time.perf_counter()
    for s, p, warm, bad in tqdm(results, total=len(todo), desc=name, unit="img", disable=not progress):
        seconds += s
        pixels += p
        one_off = max(one_off, warm)
        done += not bad
        problems += bad
    wall = time.perf_counter() - t0
    raise_problems(problems, "input", done="the other predictions were written: fix these files and rerun the "
                                           "same command to resume")

    record["complete"] = True
    record["predicted_this_run"] = done
    record["resumed_from"] = len(items) - done
    if done:
        record.update(_timings(seconds, pixels, done, wall, one_off, jobs))
    elif previous is not None:
        record.update({k: previous[k] for k in TIMING_KEYS if k in previous})
    write_text_atomic(run_path, json.dumps(record, indent=2) + "\n")
    return run_path


def _input_record(dataset, images, trimaps) -> dict:
    """What a run predicts from, for run.json (absolute paths)."""
    rec = {"dataset": dataset, "images": images, "trimaps": trimaps}
    return {k: str(Path(v).resolve()) for k, v in rec.items() if v is not None}


def _describe_input(record) -> str:
    return ", ".join(f"{k} {v}" for k, v in record.items()) if isinstance(record, dict) else str(record)


def _check_same_run(out: Path, previous: dict | None, name: str, options: dict) -> None:
    """Resuming needs the same method and options; the checkpoint counts by content, not path.
    Options the previous record lacks (an older matbench) are not compared."""
    if previous is None:
        return
    if previous.get("method") != name:
        raise MatbenchError(f"{out}: holds predictions of another run (different method {previous.get('method')}); "
                            f"use a new --out folder")
    before = previous.get("options") or {}
    changed = [f"{k}: {before[k]!r} then, {v!r} now" for k, v in sorted(options.items())
               if k != "checkpoint" and k in before and before[k] != v]
    if changed:
        raise MatbenchError(f"{out}: holds predictions of another run (different options {'; '.join(changed)}); "
                            f"rerun with the same options to resume, or use a new --out folder")


def _check_inputs(check: InputCheck, todo, jobs: int) -> None:
    """Headers of every image and trimap to predict, then the trimaps' pixels: every problem in
    one error; odd trimap values and lossy trimaps warned about. Nothing is written before."""
    for _, image_path, trimap_path, _ in todo:
        check.matte(trimap_path, "trimap", like=check.image(image_path, "image"))
    check.raise_problems()
    notes = check.notes
    problems = []
    decode = partial(decode_problems, matte_channel=check.matte_channel, trimap=True)
    for (_, _, trimap_path, _), (bad, odd) in zip(todo, imap(decode, [t for _, _, t, _ in todo], jobs=jobs)):
        problems += bad
        if odd:
            notes.odd_trimaps[str(trimap_path)] = odd
    raise_problems(problems)
    notes.warn(stacklevel=4)


def _timings(seconds: float, pixels: int, done: int, wall: float, one_off: float, jobs: int) -> dict:
    """The run.json timing fields (see the module doc); the warm-ups are taken out of the wall
    clock as if the workers had warmed up side by side at the start."""
    return {"seconds_per_image": round(seconds / done, 4),
            "seconds_per_megapixel": round(seconds / (pixels / 1e6), 4),
            "images_per_second": round(done / max(wall - one_off, 1e-9), 4),
            "jobs": jobs,
            "one_off_seconds": round(one_off, 4)}


_WARMED: set = set()  # in each process: the predictors (by key) already run once


def _warm_up(predict, key: str) -> float:
    """Run ``predict`` once on a tiny input unless this process already did; its seconds (the
    one-off costs: compilation, lazy imports, first-call allocations) or 0."""
    if key in _WARMED:
        return 0.0
    import numpy as np

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    trimap = np.full((16, 16), 128, np.uint8)
    trimap[:4], trimap[-4:] = 0, 255
    t0 = time.perf_counter()
    try:
        predict(image, trimap)
    except MatbenchError:  # e.g. a solver that does not converge on noise: the cost is paid anyway
        pass
    _WARMED.add(key)
    return time.perf_counter() - t0


def _predict_one(predict, key, matte_channel, item) -> tuple[float, int, float, list[str]]:
    """Predict one image ``(stem, image path, trimap path, target)`` and write it atomically;
    ``(seconds in predict, pixels, seconds of this worker's warm-up, problems)``; an image or
    trimap that cannot be read is a problem, and nothing is written for it."""
    stem, image_path, trimap_path, target = item
    warm = _warm_up(predict, key)
    problems = []
    try:
        image = read_rgb8(image_path)
    except MatbenchError as e:
        problems.append(str(e))
    trimap = try_read_matte(trimap_path, matte_channel, problems)
    if problems:
        return 0.0, 0, warm, problems
    if image.shape[:2] != trimap.shape:  # headers were checked; a file changed since
        return 0.0, 0, warm, [f"{trimap_path}: trimap is {trimap.shape[1]}×{trimap.shape[0]} but image "
                              f"{image_path.name} is {image.shape[1]}×{image.shape[0]}"]
    t0 = time.perf_counter()
    try:
        alpha = predict(image, trimap)
    except MatbenchError as e:
        raise MatbenchError(f"{image_path}: {e}") from None
    seconds = time.perf_counter() - t0
    write_png_atomic(target, alpha)
    return seconds, trimap.size, warm, []


def _read_previous(run_path: Path) -> dict | None:
    if not run_path.is_file():
        return None
    try:
        return json.loads(run_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise MatbenchError(f"{run_path}: unreadable run.json; remove it or use a new --out folder") from None
