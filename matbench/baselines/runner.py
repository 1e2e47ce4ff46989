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
effective CPU thread count), the checkpoint's sha256, its ``input`` (paths, informative, and
what identifies them: ``dataset_manifest_sha256``, ``trimaps_sha256``), library versions and timings:
``seconds_per_image`` (mean seconds a worker spends in the method per image, excluding one-off
costs), ``seconds_per_megapixel`` (per megapixel the method predicted: after ``--max-side``),
``images_per_second`` (wall-clock throughput of the run, all
workers), ``jobs`` and ``one_off_seconds`` (each worker first runs the method once on a tiny
input, e.g. PyMatting's numba compilation; the longest of these warm-ups). It is written before
the first prediction (``complete: false``) and rewritten at the end.
"""
from __future__ import annotations

import json
import math
import os
import platform
import time
import warnings
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from matbench.errors import MatbenchError, capped_list
from matbench.io import (check_out_dir, file_sha256, index_images, out_lock, read_rgb8, write_png_atomic,
                         write_text_atomic)
from matbench.mattes import (InputCheck, colour_mode, decode_problems, exif_note, raise_grouped, raise_problems,
                              try_read_matte)
from matbench.parallel import imap, resolve_jobs, scheduler_address, workers

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


def list_inputs(dataset=None, images=None, trimaps=None, problems: list | None = None) -> list[tuple[str, Path, Path]]:
    """``(name, image path, trimap path)`` for every image, in manifest or name order.

    ``dataset`` with ``trimaps``: the dataset's composites with the trimaps of that folder,
    matched by image name (``<image>.png``, e.g. a set of ``matbench trimap --dataset``).
    Two files with one name in a folder, or images without a trimap: a MatbenchError listing
    them, or, with a ``problems`` list, lines appended to it (the images without a trimap left
    out), so that a caller can report them with the header checks in one error."""
    if dataset is not None:
        if images is not None:
            raise MatbenchError("give either a dataset or --images/--trimaps, not both")
        from matbench.manifest import read_manifest

        root = Path(dataset)
        rows = read_manifest(root)
        if trimaps is not None:
            return _with_trimaps([(row["image"], root / row["merged"]) for row in rows], trimaps, problems)
        items = []
        for row in rows:
            if not row.get("trimap"):
                raise MatbenchError(f"{root / 'manifest.csv'}: image {row['image']} has no trimap; "
                                    f"baselines need a test set built with trimaps (or --trimaps DIR)")
            items.append((row["image"], root / row["merged"], root / row["trimap"]))
        return items
    if images is None or trimaps is None:
        raise MatbenchError(f"--images {images} needs --trimaps DIR, one trimap per image (<image>.png)"
                            if images is not None else
                            f"--trimaps {trimaps} needs the composites: --images DIR, or --dataset DIR"
                            if trimaps is not None else "give --dataset DIR, or both --images and --trimaps")
    collected = [] if problems is None else problems
    image_index = index_images(images, "image", collected)
    if not image_index:
        raise MatbenchError(f"{images}: no images found")
    items = _with_trimaps(list(image_index.items()), trimaps, collected)
    if problems is None:
        raise_problems(collected, "input")
    return items


def _with_trimaps(images, trimaps, collected: list | None = None) -> list[tuple[str, Path, Path]]:
    """``(name, image, trimap)`` for ``(name, image)`` pairs, the trimap ``trimaps/<name>.*``:
    every image without a trimap listed in one error (or appended to ``collected``, with
    duplicate trimap names, and the image left out); trimaps without an image warned about."""
    from matbench.trimap import per_foreground_hint

    trimap_index = index_images(trimaps, "trimap", collected)
    lacking = [(name, path) for name, path in images if name not in trimap_index]
    problems = [f"{trimaps}: no trimap for image {Path(path).name}" for name, path in lacking]
    if problems:
        problems[0] += per_foreground_hint([name for name, _ in lacking], trimap_index)
    if collected is None:
        raise_problems(problems, "input")
    else:
        collected += problems
    names = {name for name, _ in images}
    extra = [name for name in trimap_index if name not in names]
    if extra:
        warnings.warn(f"{trimaps}: {len(extra)} trimap(s) without an image ignored: {capped_list(extra)}",
                      stacklevel=4)
    return [(name, path, trimap_index[name]) for name, path in images if name in trimap_index]


def make_predictor(name: str, *, checkpoint=None, stage=None, device="cpu", max_side=None, tile=None,
                   fast=True, threads=None):
    """``(predict(image, trimap) -> uint8 alpha, options dict, library versions dict)``.

    ``options`` (recorded in ``run.json``) are also what :func:`build_predictor` needs to make
    the same predictor in another process (``checkpoint`` there is the absolute path)."""
    if name == "dim":
        if checkpoint is None:
            raise MatbenchError("dim needs --checkpoint PTH (an mmediting/mmagic DIM checkpoint)")
        if stage not in (None, 1, 2, 3):
            raise MatbenchError(f"--stage must be 1, 2 or 3, not {stage}")
        dim = import_dim()
        predict, loaded_stage = dim.make_predictor(checkpoint, stage, device, max_side, tile, fast, threads)
        cpu = device == "cpu"
        options = {"checkpoint": str(Path(checkpoint).resolve()), "checkpoint_sha256": file_sha256(checkpoint),
                   "stage": loaded_stage, "device": device, "max_side": max_side, "tile": tile, "fast": fast,
                   "conv_path": ("onednn" if fast else "native") if cpu else "cuda",
                   "threads": dim.cpu_threads() if cpu else threads}
        return predict, options, {"torch": dim.torch_version()}
    for opt, value in (("--checkpoint", checkpoint), ("--stage", stage), ("--tile", tile)):
        if value is not None:
            raise MatbenchError(f"{opt} applies to dim only, not {name}")
    if max_side is not None and name not in CLASSICAL:
        raise MatbenchError(f"--max-side applies to dim and the classical methods, not {name}")
    if name in CLASSICAL:
        from matbench.baselines.classical import classical_predictor, pymatting_version

        return classical_predictor(name, max_side), {"max_side": max_side}, {"pymatting": pymatting_version()}
    if name == "trimap-mid":
        from matbench.baselines.trivial import trimap_mid

        return trimap_mid, {}, {}
    raise MatbenchError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")


_PREDICTORS: dict = {}  # in each process: predictors by key (see _predictor)


def _key(name: str, options: dict) -> str:
    return json.dumps([name, {k: v for k, v in options.items() if k != "matte_channel"}], sort_keys=True,
                      default=str)


def _predictor(name: str, options: dict):
    """The predictor of ``name`` with ``options`` (as recorded by :func:`make_predictor`), made once
    per process: a worker process or a cluster's worker loads a DIM checkpoint once, not per
    image, and never receives the model itself."""
    key = _key(name, options)
    if key not in _PREDICTORS:
        if name == "dim":
            predict, _ = import_dim().make_predictor(options["checkpoint"], options["stage"], options["device"],
                                                     options["max_side"], options["tile"], options["fast"],
                                                     options["threads"])
        else:
            predict = make_predictor(name, max_side=options.get("max_side"))[0]
        _PREDICTORS[key] = predict
    return _PREDICTORS[key]


def run_baseline(name: str, out, *, dataset=None, images=None, trimaps=None, checkpoint=None, stage=None,
                 device: str = "cpu", max_side: int | None = None, tile: int | None = None, fast: bool = True,
                 threads: int | None = None, jobs: int = 1, matte_channel: str | None = None,
                 progress: bool = True, scheduler=None) -> Path:
    """Predict every image with baseline ``name`` into ``out``; return the path of ``run.json``.

    ``name``: one of ``BASELINES``. Inputs: ``dataset`` (a matbench dataset folder) or
    ``images`` + ``trimaps`` (folders paired by file stem). DIM options: ``checkpoint``
    (mmediting/mmagic ``.pth``), ``stage`` (1, or 2/3 with the refiner; default from the
    checkpoint), ``device`` (``cpu``/``cuda``), ``tile`` (predict in overlapping windows),
    ``fast`` (default True: oneDNN convolutions on CPU, PyTorch's default; False: PyTorch's
    own im2col + GEMM path; both keep the DIM guarantee, see :mod:`matbench.baselines.dim`; the
    path is recorded as ``conv_path``), ``threads`` (torch CPU threads; the effective count is
    recorded, and a different count is a different run, see below). ``max_side`` (DIM and
    the classical methods): predict images whose longer side exceeds it on a downscaled copy and
    upscale the alpha back (approximate). ``jobs``: worker processes for the classical methods
    and ``trimap-mid`` (DIM uses torch's threads instead, see ``threads``). ``scheduler``: the
    address of a dask cluster to predict on instead (default ``$MATBENCH_SCHEDULER``; each worker
    loads the method once). Output is the same for any ``jobs`` and on a cluster.

    The classical methods' memory grows with the image: before predicting, the largest image's
    estimated peak (``classical.PEAK_GIB_PER_MPX`` × its megapixels, per job) is checked against
    the available memory (a cluster: each worker's memory limit per thread), and a run that would
    not fit is refused in one line naming the image and a ``--jobs`` or ``--max-side`` that fits.
    ``matte_channel``: which channel of a colour trimap is the trimap (``"red"``/``"alpha"``;
    None refuses such files, :mod:`matbench.mattes`).

    Resuming into a folder that holds a ``run.json`` needs the same inputs (a dataset by its
    manifest.csv sha256, a ``trimaps`` folder by :func:`matbench.trimap.trimaps_sha256`: a copy is
    the same, changed trimaps are refused), method and options (the checkpoint by content): a
    different DIM thread count is a different run, because float summation order may move a
    value sitting on a rounding tie by one level; an option that a ``run.json`` of an older
    matbench does not record is not compared. Raises MatbenchError
    (one message listing every input problem) before predicting anything, or at the end for
    images unreadable while predicting. Refused as well: an ``out`` that is, lies inside or
    contains an input folder, or lies inside a matbench-built dataset
    (:func:`matbench.io.check_out_dir`), and one that holds images but no
    ``run.json`` (someone's predictions or a dataset folder: nothing to resume).
    """
    if name not in BASELINES:
        raise MatbenchError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
    if name == "dim":
        import_dim()  # before scanning the inputs: say at once when torch is missing
    check = InputCheck(matte_channel)  # validates matte_channel first
    earlier = []  # duplicate names, images without a trimap: reported with the header checks
    items = list_inputs(dataset, images, trimaps, earlier)
    out = Path(out)
    check_out_dir(out, [("dataset", dataset), ("image folder", images), ("trimap folder", trimaps)], contain=True)
    if out.exists() and not out.is_dir():
        raise MatbenchError(f"{out}: exists and is not a folder")
    _check_foreign_images(out)
    predict, options, libs = make_predictor(name, checkpoint=checkpoint, stage=stage, device=device,
                                            max_side=max_side, tile=tile, fast=fast, threads=threads)
    _PREDICTORS[_key(name, options)] = predict  # this process has it already
    options["matte_channel"] = matte_channel
    with out_lock(out):  # one matbench command writes into out at a time
        run_path = out / RUN_JSON
        previous = _read_previous(run_path)
        input_record = _input_record(dataset, images, trimaps)
        _check_same_input(out, (previous or {}).get("input"), input_record)
        _check_same_run(out, previous, name, options)
        todo = [(stem, image_path, trimap_path, out / f"{stem}.png")
                for stem, image_path, trimap_path in items if not (out / f"{stem}.png").is_file()]
        address = scheduler_address(scheduler)
        jobs = 1 if name == "dim" and not address else resolve_jobs(jobs)  # DIM parallelises inside torch
        largest = _check_inputs(check, todo, jobs, address, max_side, earlier)
        _check_memory(name, largest, jobs, max_side, address)
        import numpy as np
        versions = {"matbench": _version("matbench"), "python": platform.python_version(), "numpy": np.__version__,
                    "pillow": _version("pillow"), "opencv": _version("opencv-python-headless"), **libs}
        record = {
            "method": name,
            "options": options,
            "checkpoint_sha256": options.get("checkpoint_sha256"),
            "versions": versions,
            "input": input_record,
            "images": len(items),
            "complete": False,
        }
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(run_path, json.dumps(record, indent=2) + "\n")

        from tqdm import tqdm

        # each worker makes the predictor and warms it up once, before its first image
        expected = _expected_sha256(dataset, trimaps, todo)
        results = imap(partial(_predict_one, name, options, matte_channel, expected=expected), todo, jobs=jobs,
                       scheduler=address)
        seconds, pixels, one_off, done, problems, changed = 0.0, 0, 0.0, 0, [], []
        t0 = time.perf_counter()
        for s, p, warm, bad, diff in tqdm(results, total=len(todo), desc=name, unit="img", disable=not progress):
            seconds += s
            pixels += p
            one_off = max(one_off, warm)
            done += not (bad or diff)
            problems += bad
            changed += diff
        wall = time.perf_counter() - t0
        if changed:
            from matbench.manifest import changed_advice

            raise MatbenchError(f"{dataset}: {len(changed)} input file(s) changed since the dataset was built (their "
                                f"decoded pixels differ from the sha256 in its manifest.csv), not predicted: "
                                f"{capped_list(changed)}; {changed_advice(dataset, changed)}; then rerun the same "
                                f"command to resume")
        raise_problems(problems, "input", done="the other predictions were written: fix these files and rerun the "
                                               "same command to resume")

        record["complete"] = True
        record["predicted_this_run"] = done
        record["resumed_from"] = len(items) - done
        if done:
            record.update(_timings(seconds, pixels, done, wall, one_off, workers(jobs, address)))
        elif previous is not None:
            record.update({k: previous[k] for k in TIMING_KEYS if k in previous})
        write_text_atomic(run_path, json.dumps(record, indent=2) + "\n")
        return run_path


def _check_foreign_images(out: Path) -> None:
    """Refuse an output folder that holds images but no ``run.json``: someone's predictions or a
    dataset folder, which a run would mix with its own (resuming needs the run's ``run.json``)."""
    if not out.is_dir() or (out / RUN_JSON).exists():
        return
    if (out / "manifest.csv").is_file():
        raise MatbenchError(f"{out}: a dataset folder (manifest.csv), not a matbench run to resume; use a new "
                            f"--out folder")
    images = index_images(out, "image")
    if images:
        raise MatbenchError(f"{out}: holds {len(images)} image(s) ({capped_list(sorted(images), 3)}) but no "
                            f"{RUN_JSON}, so not a matbench run to resume; use a new --out folder")


def _input_record(dataset, images, trimaps) -> dict:
    """What a run predicts from, for run.json: absolute paths (informative) and what identifies
    the inputs: ``dataset_manifest_sha256`` (:func:`matbench.manifest.manifest_sha256`) and
    ``trimaps_sha256`` (:func:`matbench.trimap.trimaps_sha256`, a ``--trimaps`` folder)."""
    from matbench.manifest import manifest_sha256
    from matbench.trimap import trimaps_sha256

    rec = {"dataset": dataset, "images": images, "trimaps": trimaps}
    rec = {k: str(Path(v).resolve()) for k, v in rec.items() if v is not None}
    if dataset is not None:
        rec["dataset_manifest_sha256"] = manifest_sha256(dataset)
    if trimaps is not None:
        rec["trimaps_sha256"] = trimaps_sha256(trimaps)
    return rec


def input_differences(before: dict, now: dict) -> list[str]:
    """How the inputs of ``before`` and ``now`` (run.json ``input`` records) differ, as phrases;
    [] when they are the same. A dataset and a trimap folder count by content (their sha256)
    when both records hold it, else by path; an image folder by path."""
    diff = []
    for key, sha, what in (("dataset", "dataset_manifest_sha256", "its manifest.csv differs"),
                           ("trimaps", "trimaps_sha256", "the trimap files differ"),
                           ("images", None, "")):
        a, b = before.get(key), now.get(key)
        if (a is None) != (b is None):
            diff.append(f"{key} {a or 'none'} then, {b or 'none'} now")
        elif a is not None and sha and before.get(sha) and now.get(sha):
            if before[sha] != now[sha]:
                diff.append(f"{key} {a} then, {b} now: {what}" if a != b else f"{key} {a} changed since: {what}")
        elif a != b:
            diff.append(f"{key} {a} then, {b} now")
    return diff


def _check_same_input(out: Path, before, now: dict) -> None:
    """Refuse (one line) resuming into ``out`` when its run.json's inputs differ from ``now``."""
    if not isinstance(before, dict):
        return
    diff = input_differences(before, now)
    if diff:
        raise MatbenchError(f"{out}: holds predictions of another input ({'; '.join(diff)}); use a new --out folder")


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


def _check_inputs(check: InputCheck, todo, jobs: int, scheduler=None, max_side: int | None = None, earlier=()):
    """Headers of every image and trimap to predict, then the trimaps' pixels: every problem in
    one error; odd trimap values and lossy trimaps warned about. Nothing is written before.
    ``earlier``: problems of the pairing (duplicate names, images without a trimap); with them
    or with header problems, the colour trimaps whose header passed are decoded too and all is
    reported at once (one section per kind), before the gray trimaps' pixels are read.
    Returns the header of the largest image as the method sees it, i.e. after ``max_side``
    (:func:`matbench.baselines.scale.scaled_pixels`: a long thin image may be the largest file
    but not the largest prediction); None when there is none."""
    from matbench.baselines.scale import scaled_pixels

    largest, most = None, -1
    for _, image_path, trimap_path, _ in todo:
        info = check.image(image_path, "image")
        check.matte(trimap_path, "trimap", like=info)
        if info is not None and scaled_pixels(info.width, info.height, max_side) > most:
            largest, most = info, scaled_pixels(info.width, info.height, max_side)
    if earlier or check.problems:
        pixels = [p for t in dict.fromkeys(t for _, _, t, _ in todo) if colour_mode(check.matte(t, "trimap"))
                  for p in decode_problems(t, check.matte_channel)[0]]
        raise_grouped([("names and pairing", list(earlier)), ("file headers (mode, bit depth, size)", check.problems),
                       ("pixels (colour, cut-out, palette)", pixels)])
    notes = check.notes
    problems = []
    decode = partial(decode_problems, matte_channel=check.matte_channel, trimap=True)
    for (_, _, trimap_path, _), (bad, odd) in zip(todo, imap(decode, [t for _, _, t, _ in todo], jobs=jobs,
                                                             scheduler=scheduler)):
        problems += bad
        notes.trimap(trimap_path, odd)
    raise_problems(problems)
    notes.warn(stacklevel=4)
    return largest


def _check_memory(name: str, largest, jobs: int, max_side: int | None, scheduler=None) -> None:
    """Refuse, in one line, a classical run whose largest image would need more memory than there
    is: its estimated peak (measured GiB per megapixel, ``classical.PEAK_GIB_PER_MPX``, of the
    image as predicted, i.e. after ``max_side``, plus the process's own ``BASE_GIB``) times
    ``jobs``, against the memory available now; on a cluster,
    per task against the smallest worker memory limit per thread. Nothing to check when the
    method has no figure or the memory cannot be read."""
    from matbench.baselines.classical import BASE_GIB, PEAK_GIB_PER_MPX
    from matbench.baselines.scale import scaled_pixels

    if largest is None or name not in PEAK_GIB_PER_MPX:
        return
    per_mpx = PEAK_GIB_PER_MPX[name]
    px = scaled_pixels(largest.width, largest.height, max_side)
    mpx = px / 1e6
    need = BASE_GIB + per_mpx * mpx  # GiB per job
    if scheduler:
        have, n, where = cluster_memory_per_task(scheduler), 1, "per task on the cluster (worker memory limit / threads)"
    else:
        have, n, where = available_gib(), jobs, "available"
    if have is None or need * n <= have:
        return
    fit_jobs = int(have // need)
    room = (have / n - BASE_GIB) / per_mpx  # Mpx one job may take
    side = max(largest.width, largest.height)
    fit_side = int(side * math.sqrt(room / (largest.width * largest.height / 1e6))) // 32 * 32 if room > 0 else 0
    advice = [f"--jobs {fit_jobs}"] if fit_jobs >= 1 and not scheduler else []
    if fit_side >= 32:
        advice.append(f"--max-side {fit_side} (downscale, predict, upscale the alpha: approximate)")
    scaled = (f" (predicted at {px / 1e6:.2g} Mpx under --max-side {max_side})"
              if px != largest.width * largest.height else "")
    raise MatbenchError(
        f"{largest.path}: {name} on this {largest.width}×{largest.height} image{scaled} needs about {need:.1f} GiB "
        f"(measured peak {per_mpx} GiB per Mpx, benchmarks/memory.py){f' × {n} jobs' if n > 1 else ''}, "
        f"but {have:.1f} GiB are {where}: " + (" or ".join(advice) if advice else "use a machine with more memory")
        + "; nothing was predicted")


def available_gib() -> float | None:
    """Memory available to new work on this machine now (Linux ``MemAvailable``), in GiB, or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2 ** 20
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2 ** 30
    except (ValueError, OSError, AttributeError):
        return None


def cluster_memory_per_task(address: str) -> float | None:
    """The smallest memory limit per thread among the cluster's workers, in GiB (None: no limits)."""
    from matbench.parallel import cluster_workers

    limits = [w["memory_limit"] / max(1, w.get("nthreads", 1)) for w in cluster_workers(address).values()
              if w.get("memory_limit")]
    return min(limits) / 2 ** 30 if limits else None


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


def _expected_sha256(dataset, trimaps, todo) -> dict[str, str]:
    """The sha256 the manifest of ``dataset`` records for the composites (and, without
    ``trimaps``, the dataset's own trimaps) of the images still ``todo``; empty without a dataset."""
    if dataset is None:
        return {}
    from matbench.manifest import expected_sha256, read_manifest

    wanted = {stem for stem, *_ in todo}
    rows = [row for row in read_manifest(dataset) if row["image"] in wanted]
    return expected_sha256(dataset, rows, ("merged",) if trimaps is not None else ("merged", "trimap"))


def _predict_one(name, options, matte_channel, item, expected=None) -> tuple[float, int, float, list[str], list[str]]:
    """Predict one image ``(stem, image path, trimap path, target)`` with the predictor of
    ``name`` and ``options`` (made once per process) and write it atomically; ``(seconds in
    predict, pixels predicted (after ``max_side``), seconds of this worker's warm-up, problems,
    changed)``; an image or trimap
    that cannot be read is a problem, one whose decoded pixels differ from the sha256 in
    ``expected`` (path -> sha256 from the dataset's manifest) is ``changed``; nothing is
    written for either."""
    stem, image_path, trimap_path, target = item
    t0 = time.perf_counter()
    predict = _predictor(name, options)
    made = time.perf_counter() - t0
    warm = _warm_up(predict, _key(name, options))
    warm = warm + made if warm else 0.0
    problems = []
    try:
        image = read_rgb8(image_path)
    except MatbenchError as e:
        problems.append(str(e))
    trimap = try_read_matte(trimap_path, matte_channel, problems)
    if problems:
        return 0.0, 0, warm, problems, []
    from matbench.manifest import changed_since_build

    changed = [str(p) for p, arr in ((image_path, image), (trimap_path, trimap))
               if changed_since_build(p, arr, expected)]
    if changed:
        return 0.0, 0, warm, [], changed
    if image.shape[:2] != trimap.shape:  # headers were checked; a file changed since
        return 0.0, 0, warm, [f"{trimap_path}: trimap is {trimap.shape[1]}×{trimap.shape[0]} but image "
                              f"{image_path.name} is {image.shape[1]}×{image.shape[0]}"
                              f"{exif_note(trimap_path, image_path)}"]
    t0 = time.perf_counter()
    try:
        alpha = predict(image, trimap)
    except MatbenchError as e:
        raise MatbenchError(f"{image_path}: {e}") from None
    seconds = time.perf_counter() - t0
    write_png_atomic(target, alpha)
    from matbench.baselines.scale import scaled_pixels

    # the pixels the method predicted: after --max-side (its input), as seconds_per_megapixel means
    return seconds, scaled_pixels(trimap.shape[1], trimap.shape[0], options.get("max_side")), warm, [], []


def _read_previous(run_path: Path) -> dict | None:
    if not run_path.is_file():
        return None
    try:
        return json.loads(run_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise MatbenchError(f"{run_path}: unreadable run.json; remove it or use a new --out folder") from None
