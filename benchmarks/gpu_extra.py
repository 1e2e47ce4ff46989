"""Two GPU-machine figures that ``benchmarks/gpu_all.sh`` left open: the largest square DIM
(stage 3, TF32 off) predicts without tiling, searched from 8192 px upward (each try one forward
pass, within ``--budget`` seconds); and DataLoader samples/s over a *materialised* sample set
(``build-train-samples``: five 320×320 PNGs per sample) with 8 and 15 workers, to compare with
the on-the-fly recipe's figure (four 1500×1000 PNGs decoded per sample).

    PYTHONPATH=. python benchmarks/gpu_extra.py [--budget 200]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=200)
    a = ap.parse_args()
    import torch

    from dim_gpu import FAILURES, fits
    from dim_speed import checkpoint
    from matbench.baselines import dim
    from matbench.training.dataset import FixedSamples, StreamSampler, make_loader
    from matbench.training.materialise import build_train_samples
    from training import write_training_set

    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp())
    dim.configure_device("cuda")
    model = dim.load_dim(checkpoint(tmp, 3), 3, "cuda")
    lo, hi, side = 0, None, 8192
    while hi is None and time.perf_counter() - t0 < 0.4 * a.budget:
        ok = fits(model, side, "cuda")
        print(f"  {side}: {'fits' if ok else 'no: ' + FAILURES.get(side, '?')}", flush=True)
        lo, side, hi = (side, side + 2048, None) if ok else (lo, side, side)
    while hi is not None and hi - lo > 256 and time.perf_counter() - t0 < 0.5 * a.budget:
        mid = (lo + hi) // 2 // 32 * 32
        lo, hi = (mid, hi) if fits(model, mid, "cuda") else (lo, mid)
    print(f"largest square without tiling (stage 3, TF32 off): {lo}x{lo} = {lo * lo / 1e6:.0f} Mpx; "
          f"next failing try {hi} ({FAILURES.get(hi, 'not reached')})", flush=True)
    del model
    torch.cuda.empty_cache()
    src = write_training_set(tmp / "train", 8, 1500, 1000)
    build_train_samples(src, tmp / "samples", per_composite=4, jobs=1, progress=False)  # 32 samples, reused
    ds = FixedSamples(tmp / "samples")
    for workers in (8, 15):
        loader = make_loader(ds, StreamSampler(len(ds), 0, 0, 64 * workers), workers=workers)
        it = iter(loader)
        for _ in range(workers):
            next(it)
        t1, n = time.perf_counter(), 0
        for _ in it:
            n += 1
        print(f"materialised samples, DataLoader {workers} workers: {n / (time.perf_counter() - t1):.0f} samples/s",
              flush=True)
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
