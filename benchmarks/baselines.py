"""Seconds per 1-megapixel image for every baseline runner, on this machine's CPU.

Each runner predicts one synthetic 1024×1024 composite (textured foreground disc with a soft
edge over a textured background; trimap with a 64-px unknown ring, ~12 % of the pixels) after
a warm-up on a small image, so one-time costs (numba compilation, model loading, oneDNN
kernel selection) are excluded. DIM uses the golden generator's synthetic weights (seed 5,
published layout); its speed does not depend on the weights' values. Ratios are against the
cost of just decoding the image and trimap PNGs and encoding the alpha PNG.

dimN is DIM stage N on its default CPU path (oneDNN), dimN-native with ``--no-fast``.

usage: python benchmarks/baselines.py [--size 1024] [--methods dim1,dim3,...] [--threads N]
"""
import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from matbench.io import encode_png, read_rgb8, write_png_atomic
from matbench.mattes import read_matte

SHARED = Path(os.environ.get("MATBENCH_SHARED", Path(__file__).resolve().parents[2] / "shared"))
ALL = ["trimap-mid", "dim1", "dim1-native", "dim3", "dim3-native",
       "closed-form", "knn", "lkm", "random-walk", "shared"]


def synthetic(size, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - size / 2, xx - size / 2)
    alpha = np.clip((size * 0.3 - r) / (size / 64) + 0.5, 0, 1)
    wave = np.sin(xx / 17.0)[..., None] * np.cos(yy / 23.0)[..., None]
    fg = np.clip(np.array([200, 80, 60]) + 40 * wave + rng.normal(0, 8, (size, size, 3)), 0, 255)
    bg = np.clip(np.array([40, 110, 190]) - 50 * wave + rng.normal(0, 8, (size, size, 3)), 0, 255)
    image = np.rint(alpha[..., None] * fg + (1 - alpha[..., None]) * bg).astype(np.uint8)
    trimap = np.full((size, size), 128, np.uint8)
    band = size / 32
    trimap[r > size * 0.3 + band] = 0
    trimap[r < size * 0.3 - band] = 255
    return image, trimap


def dim_weights(folder, stage):
    path = Path(folder) / f"stage{stage}_5.pth"
    if not path.exists():
        import torch

        spec = importlib.util.spec_from_file_location("make_weights", SHARED / "golden/dim/make_weights.py")
        mw = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mw)
        sd = mw.make_state_dict(str(SHARED / f"golden/dim/keys_stage{stage}.tsv"), 5)
        torch.save({"state_dict": sd, "meta": {}}, path)
    return path


def predictor(method, folder, threads):
    if method.startswith("dim"):
        from matbench.baselines import dim

        stage = int(method[3])
        predict, _ = dim.make_predictor(dim_weights(folder, stage), stage, "cpu",
                                        fast=not method.endswith("native"), threads=threads)
        return predict
    if method == "trimap-mid":
        from matbench.baselines.trivial import trimap_mid

        return trimap_mid
    from matbench.baselines.classical import classical_predictor

    return classical_predictor(method)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--methods", default=",".join(ALL))
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args(argv)
    image, trimap = synthetic(a.size)
    small_image, small_trimap = synthetic(64, seed=1)
    mpx = a.size * a.size / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        write_png_atomic(Path(tmp) / "i.png", image)
        write_png_atomic(Path(tmp) / "t.png", trimap)
        t0 = time.perf_counter()
        for _ in range(3):
            read_rgb8(Path(tmp) / "i.png")
            read_matte(Path(tmp) / "t.png")
            encode_png(trimap)
        io = (time.perf_counter() - t0) / 3
        print(f"{a.size}x{a.size} ({mpx:.2f} Mpx), unknown {np.mean(trimap == 128):.1%}, "
              f"{os.cpu_count()} CPUs; decode image+trimap and encode alpha: {io:.3f} s")
        print(f"{'runner':<12} {'s/Mpx':>9} {'x decode':>10}")
        for method in a.methods.split(","):
            predict = predictor(method, tmp, a.threads)
            predict(small_image, small_trimap)  # warm-up: compilation, kernel selection
            t0 = time.perf_counter()
            try:
                alpha = predict(image, trimap)
            except Exception as e:  # report and go on with the other runners
                print(f"{method:<12} failed: {e}")
                continue
            dt = (time.perf_counter() - t0) / mpx
            assert alpha.shape == trimap.shape and alpha.dtype == np.uint8
            print(f"{method:<12} {dt:9.2f} {dt * mpx / io:10.1f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
