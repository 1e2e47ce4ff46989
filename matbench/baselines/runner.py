"""Run a baseline over a dataset: one 8-bit PNG per image plus ``run.json``.

Inputs are either a dataset built by matbench (its ``manifest.csv``: ``merged`` and
``trimap`` paths; the prediction for row ``image`` is ``<out>/<image>.png``) or an image
folder and a trimap folder paired by file stem. Images are streamed one at a time, each
prediction is written atomically, and predictions already in ``out`` are skipped, so an
interrupted run resumes where it stopped and ends with the same files. ``run.json`` records
the method, its options, the checkpoint's sha256, library versions and the time per image;
it is written before the first prediction (``complete: false``) and rewritten at the end.
"""
from __future__ import annotations

import json
import platform
import time
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from matbench.errors import MatbenchError
from matbench.io import file_sha256, index_images, read_rgb8, write_png_atomic, write_text_atomic
from matbench.mattes import read_matte
from matbench.parallel import imap

CLASSICAL = ("closed-form", "knn", "lkm", "random-walk", "shared")
BASELINES = ("dim",) + CLASSICAL + ("trimap-mid",)
RUN_JSON = "run.json"


def _version(pkg: str) -> str | None:
    try:
        return version(pkg)
    except PackageNotFoundError:
        return None


TORCH_MISSING = ("DIM needs PyTorch, which the core install leaves out: pip install 'matbench[dim]' "
                 "(CPU-only build: pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu)")


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
    """``(name, image, trimap)`` for ``(name, image)`` pairs, the trimap ``trimaps/<name>.*``."""
    trimap_index = index_images(trimaps, "trimap")
    missing = [Path(path).name for name, path in images if name not in trimap_index]
    if missing:
        more = f", … ({len(missing) - 5} more)" if len(missing) > 5 else ""
        which = f"image {missing[0]}" if len(missing) == 1 else f"{len(missing)} of {len(images)} images: "
        raise MatbenchError(f"{trimaps}: no trimap for {which}"
                            f"{', '.join(missing[:5]) if len(missing) > 1 else ''}{more}")
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
                   "stage": loaded_stage, "device": device, "max_side": max_side, "tile": tile, "fast": fast}
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
                 threads: int | None = None, jobs: int = 1, progress: bool = True) -> Path:
    """Predict every image with baseline ``name`` into ``out``; return the path of ``run.json``.

    ``name``: one of ``BASELINES``. Inputs: ``dataset`` (a matbench dataset folder) or
    ``images`` + ``trimaps`` (folders paired by file stem). DIM options: ``checkpoint``
    (mmediting/mmagic ``.pth``), ``stage`` (1, or 2/3 with the refiner; default from the
    checkpoint), ``device`` (``cpu``/``cuda``), ``max_side`` (downscale larger images),
    ``tile`` (predict in overlapping windows), ``fast`` (oneDNN convolutions on CPU).
    ``jobs``: worker processes for the classical methods and ``trimap-mid`` (DIM uses
    torch's threads instead, see ``threads``). Output is the same for any ``jobs``.
    """
    if name not in BASELINES:
        raise MatbenchError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
    if name == "dim":
        import_dim()  # before scanning the inputs: say at once when torch is missing
    items = list_inputs(dataset, images, trimaps)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise MatbenchError(f"{out}: exists and is not a folder")
    predict, options, libs = make_predictor(name, checkpoint=checkpoint, stage=stage, device=device,
                                            max_side=max_side, tile=tile, fast=fast, threads=threads)
    run_path = out / RUN_JSON
    previous = _read_previous(run_path)
    # Resuming needs the same method and options; the checkpoint counts by content, not path.
    same = {k: v for k, v in options.items() if k != "checkpoint"}
    before = {k: v for k, v in ((previous or {}).get("options") or {}).items() if k != "checkpoint"}
    if previous is not None and previous.get("input") not in (None, _input_record(dataset, images, trimaps)):
        raise MatbenchError(f"{out}: holds predictions of another input ({_describe_input(previous['input'])}); "
                            f"use a new --out folder")
    if previous is not None and (previous.get("method"), before) != (name, same):
        changed = sorted(k for k in set(same) | set(before) if before.get(k) != same.get(k))
        what = f"method {previous.get('method')}" if previous.get("method") != name else "options " + ", ".join(changed)
        raise MatbenchError(f"{out}: holds predictions of another run (different {what}); use a new --out folder")
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

    todo = [(stem, image_path, trimap_path, out / f"{stem}.png")
            for stem, image_path, trimap_path in items if not (out / f"{stem}.png").is_file()]
    # DIM parallelises inside torch; the others run one image per process
    results = imap(partial(_predict_one, predict), todo, jobs=1 if name == "dim" else jobs)
    seconds = 0.0
    pixels = 0
    for s, p in tqdm(results, total=len(todo), desc=name, unit="img", disable=not progress):
        seconds += s
        pixels += p
    done = len(todo)

    record["complete"] = True
    record["predicted_this_run"] = done
    record["resumed_from"] = len(items) - done
    if done:
        record["seconds_per_image"] = round(seconds / done, 4)
        record["seconds_per_megapixel"] = round(seconds / (pixels / 1e6), 4)
    elif previous is not None:
        for k in ("seconds_per_image", "seconds_per_megapixel"):
            if k in previous:
                record[k] = previous[k]
    write_text_atomic(run_path, json.dumps(record, indent=2) + "\n")
    return run_path


def _input_record(dataset, images, trimaps) -> dict:
    """What a run predicts from, for run.json (absolute paths)."""
    rec = {"dataset": dataset, "images": images, "trimaps": trimaps}
    return {k: str(Path(v).resolve()) for k, v in rec.items() if v is not None}


def _describe_input(record) -> str:
    return ", ".join(f"{k} {v}" for k, v in record.items()) if isinstance(record, dict) else str(record)


def _predict_one(predict, item) -> tuple[float, int]:
    """Predict one image ``(stem, image path, trimap path, target)`` and write it atomically;
    ``(seconds in predict, pixels)``."""
    stem, image_path, trimap_path, target = item
    image = read_rgb8(image_path)
    trimap = read_matte(trimap_path)
    if image.shape[:2] != trimap.shape:
        raise MatbenchError(f"{trimap_path}: trimap is {trimap.shape[1]}×{trimap.shape[0]} but image "
                            f"{image_path.name} is {image.shape[1]}×{image.shape[0]}")
    t0 = time.perf_counter()
    try:
        alpha = predict(image, trimap)
    except MatbenchError as e:
        raise MatbenchError(f"{image_path}: {e}") from None
    seconds = time.perf_counter() - t0
    write_png_atomic(target, alpha)
    return seconds, trimap.size


def _read_previous(run_path: Path) -> dict | None:
    if not run_path.is_file():
        return None
    try:
        return json.loads(run_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise MatbenchError(f"{run_path}: unreadable run.json; remove it or use a new --out folder") from None
