"""Training DIM on this machine's CPU: the step, the data pipeline, and which one limits.

Inputs: a synthetic training set written to a temporary folder, laid out as ``build-train``
writes it (merged/alpha/fg/bg PNGs at zlib level 1, manifest): ``--composites`` composites of
``--width``×``--height`` (default 8 of 1500×1000, a typical Adobe training foreground), each a
textured object with a soft 40-px edge over a textured background. Prints:

- decode floor: reading the four PNGs of one composite (what any loader must do);
- Dataset samples/s (the full recipe of docs/specs/training.md: 320/480/640 crops around the
  unknown region, flip, 320×320, random trimap) through a DataLoader with 0 and 2 workers,
  and the time per sample as a ratio to the decode floor;
- the training step at 320×320 (stage 1 and stage 3, batch 1, fp32, fused Adam): the median
  of ``--iterations`` after a warm-up, with a prepared batch (data excluded);
- data time / step time (0 workers: how much of an iteration the data would take without
  workers) and the projected wall time of 1,000,000 iterations (the spec's length of one stage).

Timings on a shared machine are noisy; the ratios are measured in one process.

    python benchmarks/training.py [--composites 8] [--samples 24] [--iterations 5] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_training_set(root: Path, n: int, width: int, height: int, seed: int = 0) -> Path:
    """``n`` synthetic composites in the layout of ``build-train`` (manifest, merged, alpha, fg, bg)."""
    import cv2

    from matbench.io import write_png_atomic
    from matbench.manifest import write_manifest

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    rows = []
    for i in range(n):
        cy, cx = height * rng.uniform(0.4, 0.6), width * rng.uniform(0.4, 0.6)
        radius = min(height, width) * rng.uniform(0.25, 0.35) + 15 * np.sin(np.arctan2(yy - cy, xx - cx) * 7)
        a = np.clip((radius - np.hypot(yy - cy, xx - cx)) / 40 + 0.5, 0, 1)
        alpha = np.rint(a * 255).astype(np.uint8)
        tex = cv2.GaussianBlur(rng.random((height, width, 3), dtype=np.float32), (0, 0), 3) * 255
        fg = np.clip(tex * 0.5 + rng.uniform(60, 200, 3), 0, 255).astype(np.uint8)
        bg = np.clip(tex[::-1] * 0.8 + rng.uniform(0, 120, 3), 0, 255).astype(np.uint8)
        merged = np.rint(a[..., None] * fg + (1 - a[..., None]) * bg).astype(np.uint8)
        name = f"synthetic_{i}_0"
        for folder, arr in (("merged", merged), ("alpha", alpha), ("fg", fg), ("bg", bg)):
            write_png_atomic(root / folder / f"{name}.png", arr)
        rows.append({"split": "train", "image": name, "fg": f"synthetic_{i}.png", "bg": f"bg_{i}.jpg", "k": 0,
                     "width": width, "height": height, "merged": f"merged/{name}.png",
                     "alpha": f"alpha/{name}.png", "fg_path": f"fg/{name}.png", "bg_path": f"bg/{name}.png"})
    write_manifest(root, rows)
    return root


def decode_seconds(root: Path) -> float:
    """Mean seconds to decode the four PNGs of a composite."""
    from matbench.training.samples import composite_rows, read_composite

    rows = composite_rows(root)
    t0 = time.perf_counter()
    for row in rows:
        read_composite(root, row)
    return (time.perf_counter() - t0) / len(rows)


def samples_per_second(root: Path, n: int, workers: int, recipe=None, seed: int = 0) -> float:
    """Samples/s of the DIM Dataset through a DataLoader (batch 1), after the workers start."""
    from matbench.training.dataset import CompositeSamples, StreamSampler, make_loader
    from matbench.training.samples import Recipe

    ds = CompositeSamples(root, seed, recipe or Recipe())
    loader = make_loader(ds, StreamSampler(len(ds), seed, 0, n + workers), workers=workers)
    it = iter(loader)
    for _ in range(max(workers, 1)):  # start the workers (and the first batches) before timing
        next(it)
    t0 = time.perf_counter()
    count = 0
    for _ in it:
        count += 1
    return count / (time.perf_counter() - t0)


def step_seconds(stage: int, size: int, batch: int, iterations: int, device: str = "cpu", amp: bool = False,
                 warmup: int = 2) -> float:
    """Median seconds per training iteration of DIM ``stage`` (forward, losses, backward, fused
    Adam) on a random batch already on ``device`` (data excluded), after ``warmup`` iterations."""
    import torch

    from matbench.baselines import dim
    from matbench.training import losses

    dev = torch.device(device)
    model = dim.DIM(stage).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-5, fused=True)
    scaler = torch.amp.GradScaler(dev.type, enabled=amp and dev.type == "cuda")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 4, size, size, generator=g).to(dev)
    t = {k: torch.rand(batch, c, size, size, generator=g).to(dev)
         for k, c in (("alpha", 1), ("fg", 3), ("bg", 3), ("merged", 3))}
    t["weight"] = (torch.rand(batch, 1, size, size, generator=g) > 0.7).float().to(dev)
    autocast = torch.autocast(dev.type, dtype=torch.float16 if dev.type == "cuda" else torch.bfloat16, enabled=amp)

    def step():
        with autocast:
            a, r = model.forward_stages(x)
        loss = losses.stage_losses(stage, a.float(), None if r is None else r.float(), t)["loss"]
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    def timed():
        t0 = time.perf_counter()
        step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    for _ in range(warmup):
        timed()
    # the median: robust to other work on a shared machine
    return float(np.median([timed() for _ in range(iterations)]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--composites", type=int, default=8)
    p.add_argument("--width", type=int, default=1500)
    p.add_argument("--height", type=int, default=1000)
    p.add_argument("--samples", type=int, default=24, help="samples timed per DataLoader setting")
    p.add_argument("--iterations", type=int, default=5, help="training iterations timed per stage")
    p.add_argument("--threads", type=int, default=None, help="torch threads for the step")
    a = p.parse_args(argv)
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = write_training_set(Path(tmp), a.composites, a.width, a.height)
        dec = decode_seconds(root)
        print(f"{a.composites} synthetic composites of {a.width}x{a.height}, {os.cpu_count()} CPUs, "
              f"torch {torch.__version__}, {torch.get_num_threads()} threads")
        print(f"decode floor (4 PNGs per composite): {dec * 1000:.1f} ms")
        per_sample = {}
        for workers in (0, 2):
            sps = samples_per_second(root, a.samples, workers)
            per_sample[workers] = 1 / sps
            print(f"Dataset, {workers} workers: {sps:.1f} samples/s = {1 / sps / dec:.2f}x decode per sample",
                  flush=True)
    steps = {}
    for stage in (1, 3):
        steps[stage] = step_seconds(stage, 320, 1, a.iterations)
        print(f"step stage {stage}, 320x320, batch 1, fp32: {steps[stage]:.3f} s/it = {1 / steps[stage]:.2f} it/s",
              flush=True)
    s1 = steps[1]
    print(f"data time / step time (stage 1, 0 workers): {per_sample[0] / s1:.3f}; with 2 workers: "
          f"{per_sample[2] / s1:.3f}")
    wall = 1e6 * max(s1, per_sample[2])
    print(f"projected 1,000,000 iterations of stage 1 on this CPU: {wall / 86400:.1f} days "
          f"({wall / 3600:.0f} h)")


if __name__ == "__main__":
    sys.exit(main())
