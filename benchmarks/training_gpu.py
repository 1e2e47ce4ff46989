"""Training DIM on a GPU: stage-1 iterations/s and whether the data pipeline keeps up.

One prepared run of at most ~8 minutes on a CUDA machine (``--device cuda``, the default):

- stage-1 training iterations/s at 320×320 for batch 1 and 16, ``--iterations`` (100) each
  after a warm-up, fp32 (TF32 off, as ``train dim`` without ``--tf32``) and AMP (float16
  autocast with loss scaling); the median iteration (synchronised), prepared batches on the
  device, data excluded;
- DataLoader samples/s with ``--workers`` (8) processes over a synthetic training set of
  ``--composites`` composites of 1500×1000 (``benchmarks/training.py``'s generator), and the
  ratio "samples/s the loader delivers / samples/s the step consumes" (≥ 1: data is not the
  bottleneck).

``--device cpu --quick`` runs the same code paths small (64×64, batch 1 and 2, 2 iterations,
2 workers) to check the script on a machine without a GPU; its figures mean nothing.

    python benchmarks/training_gpu.py [--device cuda] [--iterations 100] [--workers 8] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from training import samples_per_second, step_seconds, write_training_set  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--composites", type=int, default=16)
    p.add_argument("--samples", type=int, default=400)
    p.add_argument("--quick", action="store_true", help="tiny sizes, to check the script on CPU")
    p.add_argument("--json", help="also write the figures to this JSON file")
    a = p.parse_args(argv)
    import torch

    from matbench.training.train import configure

    size, batches, iterations, workers, samples, composites = 320, (1, 16), a.iterations, a.workers, a.samples, \
        a.composites
    if a.quick:
        size, batches, iterations, workers, samples, composites = 64, (1, 2), 2, 2, 8, 2
    dev = configure(a.device)  # TF32 off, deterministic cuDNN, as train dim
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    print(f"{name}, torch {torch.__version__}, {os.cpu_count()} CPUs; stage 1 at {size}x{size}, "
          f"{iterations} iterations after 3 warm-up", flush=True)
    t_start = time.perf_counter()
    figures = {"device": name, "size": size, "iterations": iterations, "steps": {}}
    for batch in batches:
        for amp in (False, True):
            s = step_seconds(1, size, batch, iterations, str(dev), amp=amp, warmup=3)
            key = f"batch{batch}_{'amp' if amp else 'fp32'}"
            figures["steps"][key] = {"it_per_s": 1 / s, "samples_per_s": batch / s}
            print(f"batch {batch:>2} {'AMP ' if amp else 'fp32'}: {1 / s:7.2f} it/s = {batch / s:7.1f} samples/s",
                  flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        root = write_training_set(Path(tmp), composites, 1500, 1000)
        print(f"synthetic training set: {composites} composites of 1500x1000 in {time.perf_counter() - t0:.1f} s",
              flush=True)
        sps = samples_per_second(root, samples, workers)
    figures["loader"] = {"workers": workers, "samples_per_s": sps}
    need = max(v["samples_per_s"] for v in figures["steps"].values())
    print(f"DataLoader, {workers} workers: {sps:.1f} samples/s; the fastest step consumes {need:.1f} samples/s: "
          f"loader / step = {sps / need:.2f} ({'data keeps up' if sps >= need else 'data is the bottleneck'})")
    figures["loader_over_fastest_step"] = sps / need
    print(f"total {time.perf_counter() - t_start:.0f} s")
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
