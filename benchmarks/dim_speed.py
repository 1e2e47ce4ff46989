"""DIM inference on this machine's CPU: seconds per megapixel of each path against a floor.

Floor: the network's floating-point operations per megapixel (every convolution's
2·C_in·C_out·k²·H_out·W_out, counted with forward hooks; max-pool, unpool, ReLU and sigmoid
left out) divided by this machine's measured matrix-multiply throughput (``torch.mm`` of two
4096×4096 float32 matrices, best of 5, with torch's thread count): the time the arithmetic
alone would take at the speed of a large GEMM (not the machine's peak: oneDNN's convolutions
can run faster than it).

Paths, timed in the same process, interleaved, best of ``--repeat``:

- default (``matbench run dim``; ``fast=True``): PyTorch's default oneDNN convolutions;
- native (``--no-fast``): oneDNN off, PyTorch's own im2col + GEMM in strips.

Inputs: one synthetic composite of ``--size`` (smooth colour noise, a soft-edged disc as alpha,
an erode/dilate trimap); weights: the golden generator's synthetic checkpoint (seed 5, the
published layout) for stages 1 and 3 (speed does not depend on the weights' values). Both
paths keep the DIM guarantee (tests/test_dim.py; ``benchmarks/dim_fast.py`` prints their
differences).

    python benchmarks/dim_speed.py [--size 640x480] [--repeat 2] [--threads N]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dim_fast import synthetic  # noqa: E402,F401 - also used by dim_gpu.py

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "data" / "golden" / "dim"


def checkpoint(folder: Path, stage: int) -> Path:
    """The golden synthetic checkpoint of ``stage`` (seed 5) written to ``folder``."""
    import torch

    spec = importlib.util.spec_from_file_location("make_weights", GOLDEN / "make_weights.py")
    mw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mw)
    path = folder / f"stage{stage}_5.pth"
    torch.save({"state_dict": mw.make_state_dict(str(GOLDEN / f"keys_stage{stage}.tsv"), 5), "meta": {}}, path)
    return path


def flops_per_megapixel(model) -> float:
    """Convolution FLOPs of one forward pass per megapixel of input (every layer's cost is a fixed
    share of the pixels, so a 256×256 pass gives it exactly)."""
    import torch

    total = [0]

    def hook(m, inp, out):
        total[0] += 2 * m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1] * out[0, 0].numel()

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.inference_mode():
            model(torch.zeros(1, 4, 256, 256, device=next(model.parameters()).device))
    finally:
        for h in hooks:
            h.remove()
    return total[0] / (256 * 256 / 1e6)


def matmul_flops(device="cpu", n=2048, repeat=5, tf32=False) -> float:
    """Measured FLOP/s of ``torch.mm`` of two n×n float32 matrices (best of ``repeat``)."""
    import torch

    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    if device != "cpu":
        torch.backends.cuda.matmul.allow_tf32 = tf32
    best = float("inf")
    for _ in range(repeat + 1):
        sync(device)
        t0 = time.perf_counter()
        torch.mm(a, b)
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best


def sync(device) -> None:
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    import torch

    from matbench.baselines import dim

    if args.threads:
        torch.set_num_threads(args.threads)
    w, h = map(int, args.size.split("x"))
    mpx = w * h / 1e6
    image, trimap = synthetic(w, h)
    gemm = matmul_flops(n=4096)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()}, "
          f"load average {os.getloadavg()[0]:.2f}; torch.mm 4096² float32: {gemm / 1e9:.0f} GFLOP/s")
    with tempfile.TemporaryDirectory() as tmp:
        models = {stage: dim.load_dim(checkpoint(Path(tmp), stage), stage) for stage in (1, 3)}
    for stage, model in models.items():
        flops = flops_per_megapixel(model)
        floor = flops / gemm
        dim.predict_alpha(model, image[:64, :64], trimap[:64, :64])  # warm both paths up
        dim.predict_alpha(model, image[:64, :64], trimap[:64, :64], fast=False)
        times = {True: [], False: []}
        for _ in range(args.repeat):
            for fast in (True, False):
                t0 = time.perf_counter()
                dim.predict_alpha(model, image, trimap, fast=fast)
                times[fast].append((time.perf_counter() - t0) / mpx)
        d, n = min(times[True]), min(times[False])
        print(f"stage {stage}: {flops / 1e12:.2f} TFLOP/Mpx, floor {floor:.1f} s/Mpx | default (oneDNN) "
              f"{d:.1f} s/Mpx = {d / floor:.2f}x floor | native (--no-fast) {n:.1f} s/Mpx = {n / floor:.2f}x floor, "
              f"{n / d:.2f}x the default  [{w}x{h}, best of {args.repeat}]", flush=True)


if __name__ == "__main__":
    main()
