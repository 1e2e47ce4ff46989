"""What oneDNN convolutions on CPU (``matbench run dim``'s default, ``--fast``) change against
PyTorch's own path (``--no-fast``, "exact" below), and how much faster they are.

Inputs: the DIM golden cases (``tests/data/golden/dim``: 4 small composites with trimaps, and the
reference's own float and uint8 predictions) and a few larger synthetic composites (smooth colour
noise, a soft-edged disc as alpha, an erode/dilate trimap). Weights: the golden synthetic
checkpoints (``make_weights.py``, seed 5, the published layout), stage 1 and stage 3. Random
weights are not a trained network: how often values land near a rounding tie may differ with
real checkpoints, so read the shares as indicative.

For every input and stage it predicts with the default path (oneDNN off) and with ``fast=True``
in the same process, and prints: the largest difference between the two uint8 outputs (levels of
1/255), the share of pixels that differ, the largest float difference (levels), and against the
reference (golden cases only) the same for each path; then seconds per image of each path (best of
``--repeat``) and the speed ratio exact / fast. Usage: ``python benchmarks/dim_fast.py [--repeat 2]
[--sizes 320x240,640x480] [--threads N]``. Timings on a shared machine are noisy; the ratios
are measured within one process, interleaved.
"""
from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "data" / "golden" / "dim"
CASES = ["h100w75", "h33w130", "h61w93", "h64w64"]


def load_models(folder: Path):
    import torch

    from matbench.baselines import dim

    spec = importlib.util.spec_from_file_location("make_weights", GOLDEN / "make_weights.py")
    mw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mw)
    models = {}
    for stage in (1, 3):
        path = folder / f"stage{stage}_5.pth"
        torch.save({"state_dict": mw.make_state_dict(str(GOLDEN / f"keys_stage{stage}.tsv"), 5), "meta": {}}, path)
        models[stage] = dim.load_dim(path, stage)
    return models


def synthetic(w: int, h: int, seed: int = 0):
    """A composite of smooth colour noise over a soft-edged disc, with its erode/dilate trimap."""
    import cv2

    from matbench.trimap import erode_dilate

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - h / 2, xx - w / 2)
    alpha = np.clip((min(h, w) * 0.3 - r) / 12 + 0.5, 0, 1)
    fg = cv2.resize(rng.random((h // 16 + 1, w // 16 + 1, 3)), (w, h), interpolation=cv2.INTER_CUBIC)
    bg = cv2.resize(rng.random((h // 8 + 1, w // 8 + 1, 3)), (w, h), interpolation=cv2.INTER_CUBIC)
    image = np.clip(np.rint((alpha[..., None] * fg + (1 - alpha[..., None]) * bg) * 255), 0, 255).astype(np.uint8)
    a8 = np.rint(alpha * 255).astype(np.uint8)
    return image, erode_dilate(a8, 25)


def timed(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def compare(a8: np.ndarray, b8: np.ndarray, af: np.ndarray, bf: np.ndarray) -> str:
    d = np.abs(a8.astype(np.int16) - b8.astype(np.int16))
    return (f"max {int(d.max())} lv, {np.count_nonzero(d)} px ({100 * np.count_nonzero(d) / d.size:.4f}%), "
            f"float max {np.abs(af.astype(np.float64) - bf).max() * 255:.1e} lv")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--sizes", default="320x240,640x480")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    import torch

    from matbench.baselines import dim
    from matbench.io import read_rgb8
    from matbench.mattes import read_matte

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{torch.backends.cpu.get_cpu_capability()}")
    with tempfile.TemporaryDirectory() as tmp:
        models = load_models(Path(tmp))
    inputs = [(case, read_rgb8(GOLDEN / "cases" / case / "merged.png"),
               read_matte(GOLDEN / "cases" / case / "trimap.png")) for case in CASES]
    for i, size in enumerate(s for s in args.sizes.split(",") if s):
        w, h = map(int, size.split("x"))
        inputs.append((f"synthetic {w}x{h}", *synthetic(w, h, seed=i)))
    ratios = []
    for stage in (1, 3):
        for name, image, trimap in inputs:
            model = models[stage]
            dim.predict_alpha(model, image, trimap, fast=True)  # warm both paths once
            dim.predict_alpha(model, image, trimap, fast=False)
            exact, t_exact = timed(lambda: dim.predict_alpha(model, image, trimap, fast=False), args.repeat)
            fast, t_fast = timed(lambda: dim.predict_alpha(model, image, trimap, fast=True), args.repeat)
            e8, f8 = dim.alpha_to_uint8(exact), dim.alpha_to_uint8(fast)
            line = f"stage {stage} {name:>18}: fast vs exact {compare(f8, e8, fast, exact)}"
            if name in CASES:
                ref = np.load(GOLDEN / "expected" / f"stage{stage}_5" / f"{name}.npy")
                png = read_matte(GOLDEN / "expected" / f"stage{stage}_5" / f"{name}.png")
                line += (f" | exact vs reference {compare(e8, png, exact, ref)}"
                         f" | fast vs reference {compare(f8, png, fast, ref)}")
            mpx = image.shape[0] * image.shape[1] / 1e6
            ratios.append((mpx, t_exact / t_fast))
            print(f"{line} | exact {t_exact:.3f} s, fast {t_fast:.3f} s ({t_exact / mpx:.1f} / {t_fast / mpx:.1f} "
                  f"s/Mpx), ratio {t_exact / t_fast:.2f}")
    big = [r for mpx, r in ratios if mpx >= 0.05]
    if big:
        print(f"speed ratio exact/fast on inputs >= 0.05 Mpx: {min(big):.2f}-{max(big):.2f}")


if __name__ == "__main__":
    main()
