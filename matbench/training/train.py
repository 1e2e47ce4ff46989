"""Train DIM from scratch, stage by stage (``docs/specs/training.md``, "Stages").

``train_dim(stage, data, out, ...)`` runs Adam (learning rate 1e-5) on the stage's losses
(:mod:`matbench.training.losses`) over the samples of ``data`` (a built training set, drawn
by the recipe on the fly, or a materialised sample set) and writes into the run folder
``out``::

    train.json   the run's configuration, provenance (input hashes, versions) and log units
    log.jsonl    one JSON object per line: {"kind": "train", ...} every ``log_interval``
                 iterations (mean losses since the previous line, timings) and
                 {"kind": "val", ...} after each validation (mean SAD/MSE/Grad/Conn)
    last.pth     checkpoint every ``checkpoint_interval`` iterations and at the end:
                 {"state_dict", "meta"} in mmagic's layout (``matbench run dim`` loads it)
                 plus the training state: "optimizer", "scaler", "rng", "iteration",
                 "best", "log_acc"
    best.pth     {"state_dict", "meta"} of the best validation so far (lowest mean SAD, as the
                 published DIM numbers were chosen); written only with a validation set

Resuming: when ``out`` holds ``last.pth`` of the same configuration, training continues from
it (weights, Adam moments, RNG states, iteration; the data stream restarts at position
iteration × batch size; log lines past the checkpoint are dropped). Checkpoints are written
atomically, so a run killed at any moment (even ``kill -9``) resumes from its last complete
checkpoint and, on CPU with the same thread count, ends with bit-identical weights and the
same logged losses as an uninterrupted run. On CUDA, kernels are not bit-reproducible.

Validation predicts every image of a built test set with the inference path of
``matbench run dim`` (:func:`matbench.baselines.dim.predict_alpha`, :func:`alpha_to_uint8`)
and scores it with :func:`matbench.metrics.evaluate` (the MATLAB-exact metrics), so a
logged SAD is what ``run dim`` + ``score`` report for that checkpoint.
"""
from __future__ import annotations

import io
import json
import math
import platform
import time
from pathlib import Path

import numpy as np
import torch

from matbench.baselines import dim
from matbench.errors import MatbenchError, capped_list
from matbench.io import LOCK_NAME, check_out_dir, file_sha256, out_lock, write_bytes_atomic, write_text_atomic
from matbench.training import losses, weights
from matbench.training.dataset import StreamSampler, dataset_kind, make_loader, network_batch, open_training_data
from matbench.training.materialise import SAMPLES_KIND
from matbench.training.samples import Recipe

CONFIG_NAME = "train.json"
LOG_NAME = "log.jsonl"
LAST_NAME = "last.pth"
BEST_NAME = "best.pth"
LOSS_KEYS = ("loss", "alpha", "comp", "refine")
UNITS = {
    "loss, alpha, comp, refine": "Charbonnier masked means over the unknown region (trimap == 128), alpha units "
                                 "(0..1), averaged over the iterations since the previous train line; loss = the "
                                 "stage's weighted sum (stage 1: 0.5 alpha + 0.5 comp, 2: refine, 3: all)",
    "sad, grad, conn": "validation means over the images of the DIM MATLAB metrics, ÷ 1000 (as papers print them)",
    "mse": "validation mean of the raw MSE (papers print it × 1e3)",
    "seconds_per_iteration": "wall-clock seconds per iteration over the interval",
    "data_seconds_per_iteration": "of which waiting for the next batch from the DataLoader",
}


def _source(path, expected: str) -> dict | None:
    """Path and sha256 of an input checkpoint (None when not given); MatbenchError when missing."""
    if path is None:
        return None
    if not Path(path).is_file():
        raise MatbenchError(f"{path}: checkpoint file not found; expected {expected}")
    return {"path": str(Path(path).resolve()), "sha256": file_sha256(path)}


def configure(device: str, tf32: bool = False) -> torch.device:
    """The torch device, with TF32 off unless ``tf32`` (:func:`dim.configure_device`)."""
    dev = dim.configure_device(device)
    if tf32 and dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return dev


def initial_model(stage: int, *, vgg16=None, init=None, seed: int = 0) -> dim.DIM:
    """The model a stage starts from: stage 1 from ``vgg16`` (or random, with a warning) or
    from the encoder-decoder of a DIM checkpoint ``init`` (its tensors unchanged); stages 2
    and 3 from the previous stage's checkpoint. ``vgg16`` and ``init`` are alternatives.
    MatbenchError (one line) for a bad combination or a file that is not what its role needs."""
    _check_init(stage, vgg16, init)
    if stage == 1 and init is None:
        return weights.stage1_model(vgg16, seed).train()
    return weights.from_checkpoint(stage, init, seed)


def trainable_parameters(model: dim.DIM, stage: int) -> list:
    """Stage 2 trains the refiner only (the encoder-decoder is frozen: ``requires_grad``
    off, so Adam never touches it); stages 1 and 3 train every parameter of ``model``."""
    if stage == 2:
        for p in model.backbone.parameters():
            p.requires_grad_(False)
        return list(model.refiner.parameters())
    return list(model.parameters())


def _check_init(stage, vgg16, init):
    if stage not in (1, 2, 3):
        raise MatbenchError(f"--stage {stage}: expected 1, 2 or 3")
    if stage == 1 and vgg16 is not None and init is not None:
        raise MatbenchError("--vgg16 and --init are alternatives for stage 1 (the encoder from ImageNet VGG16, "
                            "or every weight from a DIM checkpoint): give one of them")
    if vgg16 is not None and stage != 1:
        raise MatbenchError(f"--vgg16 initialises stage 1 only; stage {stage} starts from --init "
                            f"(the stage {stage - 1} checkpoint)")
    if stage > 1 and init is None:
        raise MatbenchError(f"stage {stage} starts from the previous stage's checkpoint: give --init RUN/best.pth")


def _check_options(stage, vgg16, init, iterations, batch_size, intervals):
    _check_init(stage, vgg16, init)
    if iterations < 1 or batch_size < 1 or min(intervals) < 1:
        raise MatbenchError("iterations, batch size and intervals must be >= 1")


def _config(stage, data, seed, batch_size, lr, recipe, vgg16, init, amp) -> dict:
    """What makes two runs the same run (a resume must match it exactly)."""
    data = Path(data)
    kind = dataset_kind(data)
    return {
        "stage": int(stage), "data": str(data.resolve()), "data_kind": kind or "dim-train",
        "data_manifest_sha256": file_sha256(data / "manifest.csv"), "seed": int(seed),
        "batch_size": int(batch_size), "lr": float(lr),
        "optimizer": "Adam(betas=(0.9, 0.999), eps=1e-8, weight_decay=0, fused)",
        "recipe": None if kind == SAMPLES_KIND else recipe.to_dict(),
        "loss_weights": losses.WEIGHTS[stage], "vgg16": _source(vgg16, weights.VGG16_EXPECTED),
        "init": _source(init, weights.init_expected(stage)), "amp": bool(amp),
    }


def _check_out(out: Path, config: dict, sources) -> bool:
    """Refuse an ``out`` that cannot hold this run, writing nothing: a file, a folder inside or
    around a source (``sources``: the training and validation sets) or inside a built dataset, a non-empty folder that is not a
    training run, or the run folder of another configuration. True when ``out`` holds this
    run already (it resumes or is rewritten in place)."""
    if out.exists() and not out.is_dir():
        raise MatbenchError(f"{out}: exists and is not a folder; give a new --out folder")
    check_out_dir(out, [(what, src) for what, src in zip(("training data", "validation set"), sources)],
                  contain=True)
    if not out.is_dir():
        return False
    path = out / CONFIG_NAME
    if not path.is_file():
        stray = [e.name for e in out.iterdir()
                 if not (e.name.startswith(".") and e.name.endswith(".tmp")) and not e.name.startswith(LOCK_NAME)]
        if stray:
            raise MatbenchError(f"{out}: not empty and not a training run (no {CONFIG_NAME}; holds "
                                f"{capped_list(sorted(stray), 3)}); "
                                f"give a new or empty --out folder")
        return False
    try:
        old = json.loads(path.read_text(encoding="utf-8")).get("config", {})
        diff = sorted(k for k in set(config) | set(old) if old.get(k) != config.get(k))
    except (OSError, ValueError, AttributeError):
        raise MatbenchError(f"{path}: unreadable; remove the run folder or use a new --out") from None
    if diff:
        raise MatbenchError(f"{out}: holds another training run (different {', '.join(diff)}); "
                            f"use a new --out folder")
    return True


RESUME_KEYS = ("state_dict", "optimizer", "scaler", "rng", "iteration", "best", "log_acc")
RESUME_EXPECTED = ("this run's own last.pth (train dim's checkpoint with the training state); "
                   "remove it to restart the run from its initial weights")


def _read_last(out: Path, stage: int) -> dict | None:
    """``out/last.pth`` of the run to resume (None when absent), its keys and state dict
    checked against a DIM of ``stage``; MatbenchError, one line, for anything else."""
    path = out / LAST_NAME
    if not path.is_file():
        return None
    ckpt = dim.torch_load(path, RESUME_EXPECTED)
    missing = [k for k in RESUME_KEYS if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise MatbenchError(f"{path}: a PyTorch file without {', '.join(missing)}; expected {RESUME_EXPECTED}")
    sd = ckpt["state_dict"]
    problems = (dim.state_dict_mismatch(sd, dim.DIM(stage).state_dict()) if dim.is_state_dict(sd)
                else "its state_dict is not a dict of tensors")
    if problems:
        raise MatbenchError(f"{path}: not a DIM stage {stage} training checkpoint; {problems}; "
                            f"expected {RESUME_EXPECTED}")
    return ckpt


def _write_config(out: Path, config: dict, options: dict) -> None:
    """Create ``out`` (once everything is validated) and write ``train.json`` atomically."""
    from matbench.build import _remove_stray_temps
    from matbench.baselines.runner import _version

    out.mkdir(parents=True, exist_ok=True)
    _remove_stray_temps(out, ())
    record = {"command": "matbench train dim", "config": config, "options": options, "units": UNITS,
              "versions": {"matbench": _version("matbench"), "torch": torch.__version__,
                           "numpy": np.__version__, "python": platform.python_version()}}
    write_text_atomic(out / CONFIG_NAME, json.dumps(record, indent=2) + "\n")


def _save(path: Path, obj: dict) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    write_bytes_atomic(path, buf.getbuffer())


def _cpu_state(model) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _truncate_log(path: Path, iteration: int) -> None:
    """Keep the log lines of iterations <= ``iteration`` (those the checkpoint had seen)."""
    if not path.is_file():
        return
    keep = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line)["iteration"] <= iteration:
                keep.append(line + "\n")
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by a kill
    write_text_atomic(path, "".join(keep))


def validation_items(root) -> list[tuple[str, Path, Path, Path]]:
    """(name, composite, trimap, alpha) for every image of a built test set."""
    from matbench.baselines.runner import list_inputs
    from matbench.score import reference_items

    alphas = {it["image"]: it["alpha"] for it in reference_items(dataset=root)}
    return [(name, image, trimap, alphas[name]) for name, image, trimap in list_inputs(dataset=root)]


def validate(model: dim.DIM, items, device, max_side: int | None = None) -> dict:
    """Mean SAD, MSE, Grad, Conn (reference units: ÷ 1000, MSE raw) of ``model`` over
    ``items`` (:func:`validation_items`), predicted as ``matbench run dim`` does (with
    ``--max-side max_side`` when given)."""
    from matbench.io import read_rgb8
    from matbench.metrics import evaluate
    from matbench.mattes import read_matte

    model.eval()
    scores = []
    for _, image_path, trimap_path, alpha_path in items:
        trimap = read_matte(trimap_path)
        pred = dim.alpha_to_uint8(dim.predict_alpha(model, read_rgb8(image_path), trimap, device=device,
                                                    max_side=max_side))
        scores.append(evaluate(pred, read_matte(alpha_path), trimap, extra=False))
    model.train()
    out = {k: float(np.mean([s[k] for s in scores])) for k in ("sad", "grad", "conn")}
    mse = [s["mse"] for s in scores if not math.isnan(s["mse"])]
    out["mse"] = float(np.mean(mse)) if mse else float("nan")
    out["images"] = len(scores)
    return out


def train_step(model: dim.DIM, optimizer, scaler, stage: int, batch: dict, device, amp: bool = False) -> dict:
    """One iteration on a collated ``batch`` (:mod:`matbench.training.dataset`): forward
    (autocast when ``amp``: float16 on CUDA, bfloat16 on CPU), the stage's losses in float32,
    backward, optimiser step. Returns the loss terms (detached tensors)."""
    x, targets = network_batch(batch, device)
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    with torch.autocast(device.type, dtype=dtype, enabled=amp):
        pred_alpha, refined = model.forward_stages(x)
    terms = losses.stage_losses(stage, pred_alpha.float(), None if refined is None else refined.float(), targets)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(terms["loss"]).backward()
    scaler.step(optimizer)
    scaler.update()
    return {k: v.detach() for k, v in terms.items()}


class Interval:
    """Loss sums (float64, on the device: no synchronisation per iteration) and timings since
    the previous log line; part of the checkpoint, so a resumed run logs the same means."""

    def __init__(self, device, state: dict | None = None):
        state = state or {"n": 0, "sums": torch.zeros(len(LOSS_KEYS), dtype=torch.float64), "data": 0.0,
                          "wall": 0.0, "keys": []}
        self.n, self.data, self.wall, self.keys = state["n"], state["data"], state["wall"], list(state["keys"])
        self.sums = state["sums"].to(device)

    def add(self, terms: dict, data_seconds: float, wall_seconds: float) -> None:
        zero = torch.zeros((), dtype=torch.float64, device=self.sums.device)
        self.sums += torch.stack([terms[k].double() if k in terms else zero for k in LOSS_KEYS])
        self.keys = [k for k in LOSS_KEYS if k in terms]
        self.n += 1
        self.data += data_seconds
        self.wall += wall_seconds

    def line(self, iteration: int) -> dict:
        """The log line of the interval (then the interval restarts)."""
        means = (self.sums / self.n).tolist()
        line = {"kind": "train", "iteration": iteration,
                **{k: v for k, v in zip(LOSS_KEYS, means) if k in self.keys},
                "seconds_per_iteration": self.wall / self.n, "data_seconds_per_iteration": self.data / self.n}
        self.n, self.data, self.wall = 0, 0.0, 0.0
        self.sums.zero_()
        return line

    def state(self) -> dict:
        return {"n": self.n, "sums": self.sums.cpu(), "data": self.data, "wall": self.wall, "keys": self.keys}


def _restore(ckpt: dict, model, optimizer, scaler, device, path=None):
    """Load the training state of ``last.pth`` (:func:`_read_last`); (iteration, best,
    interval). MatbenchError, one line naming ``path``, when a part does not fit."""
    try:
        model.load_state_dict(ckpt["state_dict"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scaler.load_state_dict(ckpt["scaler"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        if device.type == "cuda" and ckpt["rng"].get("cuda"):
            torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])
        return int(ckpt["iteration"]), ckpt["best"], Interval(device, ckpt["log_acc"])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise MatbenchError(f"{path}: its training state does not fit this run ({type(e).__name__}: {first}); "
                            f"expected {RESUME_EXPECTED}") from None


def _write(log, line: dict) -> None:
    """One JSON line (NaN written as null), flushed."""
    line = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in line.items()}
    log.write(json.dumps(line) + "\n")
    log.flush()


def train_dim(stage: int, data, out, *, iterations: int = 1_000_000, batch_size: int = 1, lr: float = 1e-5,
              seed: int = 0, vgg16=None, init=None, recipe: Recipe = Recipe(), device: str = "cpu",
              amp: bool = False, tf32: bool = False, threads: int | None = None, workers: int = 0, val=None,
              val_interval: int = 40_000, val_max_side: int | None = None, checkpoint_interval: int = 5_000,
              log_interval: int = 100, progress: bool = True) -> dict:
    """Train DIM stage ``stage`` for ``iterations`` iterations in total; see the module doc.

    ``data``: a built training set or a materialised sample set. ``vgg16``: torchvision-layout
    VGG16 file (stage 1). ``init``: DIM checkpoint to start from (stages 2/3; stage 1
    optionally). ``recipe``: sample recipe (built training sets only). ``device``: ``cpu`` or
    ``cuda[:i]`` (TF32 off unless ``tf32``). ``amp``: autocast (float16 with loss scaling on
    CUDA, bfloat16 on CPU). ``threads``: torch CPU threads. ``workers``: DataLoader processes
    (the samples do not depend on it). ``val``: built test set for validation every
    ``val_interval`` iterations and at the end; ``val_max_side``: predict it downscaled to that
    longer side (``run dim --max-side``).

    Returns ``{"out", "iteration", "resumed_from", "loss" (last train line), "best", "model"}``
    (``model``: the trained :class:`dim.DIM`, in memory). Raises MatbenchError for bad options
    or inputs, one line each, before anything is written: ``out`` is then not created, or left
    byte-identical (options, data, validation set, ``--out`` — also one that is or lies inside
    ``data`` or ``val`` —, the ``vgg16``/``init`` files and a resumed ``last.pth`` are all read
    and checked first).
    """
    _check_options(stage, vgg16, init, iterations, batch_size, (val_interval, checkpoint_interval, log_interval))
    out = Path(out)
    dev = configure(device, tf32)
    if threads:
        torch.set_num_threads(int(threads))
    data_set = open_training_data(data, seed, recipe)
    if dataset_kind(data) == SAMPLES_KIND and recipe != Recipe():
        raise MatbenchError(f"{data}: a materialised sample set, whose recipe is fixed (see its dataset.json); "
                            f"--crop-sizes, --size, --trimap-* and --online-merge apply to a built training set")
    val_items = validation_items(val) if val is not None else None
    config = _config(stage, data, seed, batch_size, lr, recipe, vgg16, init, amp)
    options = {"iterations": iterations, "device": device, "tf32": tf32, "threads": threads, "workers": workers,
               "val": None if val is None else str(Path(val).resolve()), "val_interval": val_interval,
               "val_max_side": val_max_side, "checkpoint_interval": checkpoint_interval, "log_interval": log_interval}
    # every input is validated (out, checkpoints, resume state) before anything is written
    resume = _check_out(out, config, (data, val))
    with out_lock(out):  # one command writes into out at a time
        ckpt = _read_last(out, stage) if resume else None
        model = dim.DIM(stage) if ckpt is not None else initial_model(stage, vgg16=vgg16, init=init, seed=seed)
        model.to(dev).train()
        # fused: one kernel for all parameters, ~6x faster on CPU than the per-tensor loop (same Adam)
        optimizer = torch.optim.Adam(trainable_parameters(model, stage), lr=lr, fused=True)
        scaler = torch.amp.GradScaler(dev.type, enabled=amp and dev.type == "cuda")
        it, best, interval = 0, None, Interval(dev)
        if ckpt is not None:
            it, best, interval = _restore(ckpt, model, optimizer, scaler, dev, out / LAST_NAME)
        _write_config(out, config, options)
        resumed_from = it
        _truncate_log(out / LOG_NAME, it)
        meta = {"matbench_stage": stage, "seed": seed, "data": config["data"], "recipe": config["recipe"],
                "vgg16": config["vgg16"], "init": config["init"], "created_by": "matbench train dim"}

        def checkpoint(path, extra=None):
            record = {"state_dict": _cpu_state(model), "meta": dict(meta, iteration=it, **(extra or {}))}
            if path.name == LAST_NAME:
                rng = {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if dev.type == "cuda" else []}
                record.update(optimizer=optimizer.state_dict(), scaler=scaler.state_dict(), rng=rng, iteration=it,
                              best=best, log_acc=interval.state())
            _save(path, record)

        loader = make_loader(data_set, StreamSampler(len(data_set), seed, it * batch_size, iterations * batch_size),
                             batch_size=batch_size, workers=workers, pin_memory=dev.type == "cuda")
        bar = None
        if progress and it < iterations:
            from tqdm import tqdm

            bar = tqdm(total=iterations, initial=it, unit="it", desc=f"train dim stage {stage}", smoothing=0.02)
        last_line = None
        with open(out / LOG_NAME, "a", encoding="utf-8") as log:
            t_prev = time.perf_counter()
            for batch in loader:
                t_data = time.perf_counter()
                terms = train_step(model, optimizer, scaler, stage, batch, dev, amp)
                it += 1
                interval.add(terms, t_data - t_prev, time.perf_counter() - t_prev)
                if it % log_interval == 0 or it == iterations:
                    last_line = interval.line(it)
                    _write(log, last_line)
                    if bar is not None:
                        bar.set_postfix(loss=f"{last_line['loss']:.4f}", refresh=False)
                if val_items is not None and (it % val_interval == 0 or it == iterations):
                    t0 = time.perf_counter()
                    scores = validate(model, val_items, dev, val_max_side)
                    improved = best is None or scores["sad"] < best["sad"]
                    if improved:
                        best = {"iteration": it, **scores}
                        checkpoint(out / BEST_NAME, {"val": scores})
                    _write(log, {"kind": "val", "iteration": it, **scores, "best": improved,
                                 "seconds": time.perf_counter() - t0})
                    if bar is not None:
                        bar.set_postfix(loss=last_line and f"{last_line['loss']:.4f}", val_sad=f"{scores['sad']:.2f}",
                                        refresh=False)
                if it % checkpoint_interval == 0 or it == iterations:
                    checkpoint(out / LAST_NAME)
                if bar is not None:
                    bar.update(1)
                t_prev = time.perf_counter()
        if bar is not None:
            bar.close()
        return {"out": str(out), "iteration": it, "resumed_from": resumed_from, "loss": last_line, "best": best,
                "model": model.eval()}
