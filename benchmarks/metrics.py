"""How fast ``matbench.metrics.evaluate`` is, against decoding the images and a naive port.

Makes 1080×1920 cases (a smooth object alpha with soft edges, a noisy blurred prediction, a
trimap from erosion/dilation), writes them as PNGs to a temporary folder and prints, per image
and on one thread: the time to decode the three PNGs with ``matbench.io.read_matte``, each
metric on its own, ``evaluate`` (all four, and with the extras), and a straightforward
numpy/scipy implementation of the same formulas (float64, scipy.ndimage.convolve and
scipy.ndimage.label), with the ratios evaluate/decode (``extra=False``, and in brackets the
default call, with the extras) and naive/evaluate. Times are the best of ``--repeat`` runs.
First it prints the one-off cost of the first call in a process (importing numba and
compiling, or loading from numba's cache, the metric kernels).

    python benchmarks/metrics.py [--images 3] [--repeat 5] [--no-naive]
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import math  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import scipy.ndimage as ndi  # noqa: E402

from matbench import metrics  # noqa: E402
from matbench.io import write_png_atomic  # noqa: E402
from matbench.mattes import read_matte

H, W = 1080, 1920


def make_case(seed: int):
    """A realistic test image: one object with a wavy soft boundary and holes, noisy prediction."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    r = np.hypot((yy - H * 0.55) / (H * 0.42), (xx - W * 0.5) / (W * 0.27))
    wobble = cv2.resize(rng.standard_normal((9, 16)).astype(np.float32), (W, H), interpolation=cv2.INTER_CUBIC)
    detail = cv2.resize(rng.standard_normal((54, 96)).astype(np.float32), (W, H), interpolation=cv2.INTER_CUBIC)
    s = (1.0 - r) + 0.18 * wobble + 0.05 * detail
    alpha = np.clip(0.5 + s * 25.0, 0, 1)  # soft edge some 10-20 px wide
    alpha = cv2.GaussianBlur(alpha, (0, 0), 1.5)
    gt = np.round(alpha * 255).astype(np.uint8)
    band = cv2.dilate(((gt > 0) & (gt < 255)).astype(np.uint8), np.ones((41, 41), np.uint8)) > 0
    noise = cv2.GaussianBlur(rng.standard_normal((H, W)).astype(np.float32), (0, 0), 1.2) * 30.0
    pred = cv2.GaussianBlur(gt.astype(np.float32), (0, 0), 2.0) + noise * band
    pred = np.clip(np.round(pred), 0, 255).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (31, 31))
    fg = cv2.erode((gt == 255).astype(np.uint8), k) > 0
    anything = cv2.dilate((gt > 0).astype(np.uint8), k) > 0
    trimap = np.where(fg, 255, np.where(anything, 128, 0)).astype(np.uint8)
    return pred, gt, trimap


# --------------------------------------------------------------------------- naive port

def naive_metrics(pred, gt, trimap):
    """The formulas written the obvious way: float64, scipy.ndimage, no shared work."""
    p, g = pred.astype(np.float64) / 255, gt.astype(np.float64) / 255
    unk = trimap == 128
    sad = np.abs(p - g)[unk].sum() / 1000
    mse = ((p - g) ** 2)[unk].sum() / unk.sum() if unk.any() else float("nan")

    sigma, half = 1.4, 4
    x = np.arange(-half, half + 1)
    gauss = np.exp(-x ** 2 / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
    hx = np.outer(gauss, -x * gauss / sigma ** 2)
    hx /= np.sqrt((hx ** 2).sum())

    def amp(a):
        a = a.astype(np.float64)
        a = (a - a.min()) / (a.max() - a.min()) if a.max() > a.min() else np.clip(a, 0, 1)
        return np.hypot(ndi.convolve(a, hx, mode="nearest"), ndi.convolve(a, hx.T, mode="nearest"))

    grad = ((amp(pred) - amp(gt)) ** 2)[unk].sum() / 1000

    pf, gf = pred.astype(np.float32) / np.float32(255), gt.astype(np.float32) / np.float32(255)
    steps = np.arange(11) * 0.1
    l_map = -np.ones(pred.shape)
    for i in range(1, 11):
        lab, n = ndi.label(((pf >= steps[i]) & (gf >= steps[i])).T)
        lab = lab.T
        omega = lab == np.argmax(np.bincount(lab.ravel())[1:]) + 1 if n else np.zeros(pred.shape, bool)
        l_map[(l_map == -1) & ~omega] = steps[i - 1]
    l_map[l_map == -1] = 1
    dp, dg = pf - l_map, gf - l_map
    phi_p, phi_g = 1 - dp * (dp >= 0.15), 1 - dg * (dg >= 0.15)
    conn = np.abs(phi_p - phi_g)[unk].sum() / 1000
    return {"sad": sad, "mse": mse, "grad": grad, "conn": conn}


# --------------------------------------------------------------------------- timing

def best_of(fn, repeat):
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-naive", action="store_true", help="skip the slow naive implementation")
    args = ap.parse_args()
    cv2.setNumThreads(1)

    # One-off costs of the compiled kernels, paid by the first call in a process: importing
    # numba, then compiling the kernels (first run ever) or loading them from numba's cache.
    t0 = time.perf_counter()
    import numba  # noqa: F401
    t_numba = time.perf_counter() - t0
    tiny = np.full((4, 4), 128, np.uint8)
    t0 = time.perf_counter()
    metrics.evaluate(tiny, tiny // 2, tiny)
    t_first = time.perf_counter() - t0
    print(f"one-off: import numba {t_numba:.2f} s, first evaluate (compile or load cached kernels) {t_first:.2f} s")

    ratios_dec, ratios_dec_extra, ratios_naive = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.images):
            pred, gt, trimap = make_case(i)
            paths = []
            for name, a in (("pred", pred), ("gt", gt), ("trimap", trimap)):
                paths.append(Path(tmp) / f"{i}_{name}.png")
                write_png_atomic(paths[-1], a)
            t_dec, (p, g, t) = best_of(lambda: [read_matte(q) for q in paths], args.repeat)
            times = {k: best_of(lambda f=getattr(metrics, k): f(p, g, t), args.repeat)[0]
                     for k in ("sad", "mse", "grad", "conn")}
            t_eval, res = best_of(lambda: metrics.evaluate(p, g, t, extra=False), args.repeat)
            t_extra, _ = best_of(lambda: metrics.evaluate(p, g, t), args.repeat)
            print(f"image {i}: {H}x{W}, {100 * (t == 128).mean():.1f}% unknown; "
                  f"sad {res['sad']:.3f} mse {res['mse']:.5f} grad {res['grad']:.3f} conn {res['conn']:.3f}")
            print(f"  decode 3 PNGs   {1e3 * t_dec:8.1f} ms")
            for k, v in times.items():
                print(f"  {k:<15} {1e3 * v:8.1f} ms")
            print(f"  evaluate        {1e3 * t_eval:8.1f} ms   (with extras {1e3 * t_extra:.1f} ms)")
            ratios_dec.append(t_eval / t_dec)
            ratios_dec_extra.append(t_extra / t_dec)
            line = f"  evaluate/decode {t_eval / t_dec:8.2f}   (with extras {t_extra / t_dec:.2f})"
            if not args.no_naive:
                t_naive, ref = best_of(lambda: naive_metrics(p, g, t), 1)
                ratios_naive.append(t_naive / t_eval)
                worst = max(abs(ref[k] - res[k]) / max(abs(ref[k]), 1e-12) for k in ref)
                print(f"  naive (scipy)   {1e3 * t_naive:8.1f} ms   (largest relative difference {worst:.1e})")
                line += f"   naive/evaluate {t_naive / t_eval:6.1f}   naive/decode {t_naive / t_dec:6.1f}"
            print(line)
    print(f"mean evaluate/decode {np.mean(ratios_dec):.2f} (with extras {np.mean(ratios_dec_extra):.2f})"
          + (f", mean naive/evaluate {np.mean(ratios_naive):.1f}" if ratios_naive else ""))


if __name__ == "__main__":
    main()
