"""DIM inference on a GPU: seconds per megapixel at 1 and 4 Mpx, TF32 off and on, and the largest
image that fits without tiling. Prepared to finish within ``--budget`` seconds (default 420, the
issue's limit being 8 minutes); ``--quick`` runs the same steps on small sizes, on the CPU if
there is no GPU, to check the script itself.

Weights: the golden generator's synthetic checkpoints (seed 5, published layout), stages 1 and 3
(speed does not depend on the weights' values). Inputs: synthetic composites (smooth colour
noise, a soft-edged disc, erode/dilate trimap) of 1024×1024 and 2048×2048.

For each stage and TF32 setting (off is matbench's default: ``configure_device`` turns it off,
because TF32 can flip a near-tied max-pool): ``matbench.baselines.dim.predict_alpha`` timed after
a warm-up (cuDNN autotuning off, as matbench runs it), best of ``--repeat``, with
``torch.cuda.synchronize``; the peak GPU memory per Mpx; the largest float difference of TF32 on
against off (levels of 1/255) and the pixels whose uint8 value differs. The floor: FLOPs per Mpx
(``dim_speed.flops_per_megapixel``) over ``torch.mm`` throughput of 8192² float32 (TF32 off/on).

Largest image without tiling (stage 3, TF32 off): square sides doubled from 2048 until the GPU
runs out of memory (or ``--max-side`` is reached), then bisected to 256 px, each try one forward
pass; stops early when the budget runs low and says so.

    python benchmarks/dim_gpu.py [--device cuda] [--repeat 3] [--budget 420] [--json OUT.json] [--quick]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dim_speed import checkpoint, flops_per_megapixel, matmul_flops, sync, synthetic  # noqa: E402


def set_tf32(on: bool) -> None:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def timed(fn, device, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        sync(device)
        t0 = time.perf_counter()
        out = fn()
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return out, best


FAILURES: dict[int, str] = {}  # side -> why a forward pass of that size failed


def fits(model, side, device) -> bool:
    """Whether one forward pass of a side × side input runs (out of memory, or a kernel that
    refuses so large a tensor, e.g. 32-bit indexing: it does not; the reason is kept)."""
    import torch

    x = None
    try:
        x = torch.zeros(1, 4, side, side, device=device)
        with torch.inference_mode():
            model(x)
        sync(device)
        return True
    except (RuntimeError, MemoryError) as e:  # torch.cuda.OutOfMemoryError is a RuntimeError
        FAILURES[side] = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        return False
    finally:
        del x
        if str(device).startswith("cuda"):
            torch.cuda.empty_cache()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--budget", type=float, default=420.0, help="seconds for the whole script")
    ap.add_argument("--max-side", type=int, default=16384)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--quick", action="store_true", help="small sizes (and the CPU without a GPU): a check")
    args = ap.parse_args()
    t_start = time.perf_counter()
    import torch

    from matbench.baselines import dim

    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        if not args.quick:
            raise SystemExit("no CUDA device: run with --quick to check the script on the CPU")
        device = "cpu"
    sides = (128, 256) if args.quick else (1024, 2048)
    gemm_n = 512 if args.quick else 8192
    cuda = device.startswith("cuda")
    name = torch.cuda.get_device_name() if cuda else "cpu"
    print(f"torch {torch.__version__}, device {name}", flush=True)
    results = {"device": name, "torch": torch.__version__, "runs": []}
    dev = dim.configure_device(device)
    with tempfile.TemporaryDirectory() as tmp:
        models = {stage: dim.load_dim(checkpoint(Path(tmp), stage), stage, device) for stage in (1, 3)}
    inputs = {s: synthetic(s, s, seed=s) for s in sides}
    for tf32 in (False, True):
        if cuda:
            set_tf32(tf32)
        elif tf32:
            continue  # TF32 is a GPU setting
        gemm = matmul_flops(device, n=gemm_n, tf32=tf32)
        print(f"TF32 {'on' if tf32 else 'off'}: torch.mm {gemm_n}² float32 {gemm / 1e12:.1f} TFLOP/s", flush=True)
        for stage, model in models.items():
            floor = flops_per_megapixel(model) / gemm
            for s in sides:
                image, trimap = inputs[s]
                dim.predict_alpha(model, image, trimap, device=dev)  # warm-up
                if cuda:
                    torch.cuda.reset_peak_memory_stats()
                alpha, t = timed(lambda: dim.predict_alpha(model, image, trimap, device=dev), device, args.repeat)
                mpx = s * s / 1e6
                peak = torch.cuda.max_memory_allocated() / 2 ** 30 / mpx if cuda else float("nan")
                run = {"stage": stage, "tf32": tf32, "side": s, "s_per_mpx": t / mpx, "floor_s_per_mpx": floor,
                       "peak_gib_per_mpx": peak}
                if tf32:
                    set_tf32(False)
                    off = dim.predict_alpha(model, image, trimap, device=dev)
                    set_tf32(True)
                    run["tf32_max_float_levels"] = float(np.abs(alpha.astype(np.float64) - off).max() * 255)
                    run["tf32_uint8_pixels_differ"] = int(np.count_nonzero(dim.alpha_to_uint8(alpha)
                                                                           != dim.alpha_to_uint8(off)))
                results["runs"].append(run)
                extra = (f", vs TF32 off: max {run['tf32_max_float_levels']:.2e} levels, "
                         f"{run['tf32_uint8_pixels_differ']} px differ in uint8") if tf32 else ""
                print(f"  stage {stage} {s}x{s} ({mpx:.2f} Mpx): {t / mpx:.4f} s/Mpx = {t / mpx / floor:.1f}x floor "
                      f"({floor:.4f}), peak {peak:.2f} GiB/Mpx{extra}", flush=True)
    if cuda:
        set_tf32(False)
    # the largest square that fits without tiling (stage 3, TF32 off)
    model = models[3]
    lo, hi, side = 0, None, 128 if args.quick else 2048
    stopped = None
    while hi is None and side <= (512 if args.quick else args.max_side):
        if time.perf_counter() - t_start > 0.8 * args.budget:
            stopped = "budget"
            break
        if fits(model, side, device):
            lo, side = side, side * 2
        else:
            hi = side
    if hi is not None:
        while hi - lo > 256 and not stopped:
            if time.perf_counter() - t_start > 0.9 * args.budget:
                stopped = "budget"
                break
            mid = (lo + hi) // 2 // 32 * 32
            lo, hi = (mid, hi) if fits(model, mid, device) else (lo, mid)
    results["largest_side"] = lo
    results["largest_stopped"] = stopped or ("max-side" if hi is None else None)
    note = {"budget": " (stopped: time budget)", "max-side": " (fits up to the largest size tried)"}.get(
        results["largest_stopped"], f" (the next try, {hi}, did not fit: {FAILURES.get(hi, '?')})")
    results["failures"] = {str(k): v for k, v in FAILURES.items()}
    print(f"largest square without tiling (stage 3, TF32 off): {lo}x{lo} = {lo * lo / 1e6:.1f} Mpx{note}")
    print(f"total {time.perf_counter() - t_start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
