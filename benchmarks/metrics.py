"""How fast ``matbench.metrics.evaluate`` is, against decoding the images and a naive port.

Makes 11 synthetic cases of 1–2 Mpx (see ``CASES``: smooth objects, a noisy prediction with
many small components, hair strands, many small particles under a large unknown region, a tiny
unknown region, a constant prediction, all-zero and all-255 images, a trimap without unknown
pixel), writes each as three PNGs to a temporary folder and prints, per case: the time to
decode the three PNGs with ``matbench.mattes.read_matte``, the time of ``evaluate`` (the
default call, with the extras) and their ratio; then the summed ratio (Σ evaluate / Σ decode)
and the worst one; optionally each metric on its own (``--each``); and a straightforward
numpy/scipy implementation of the same formulas (float64, scipy.ndimage.convolve and
scipy.ndimage.label; skipped with ``--no-naive``), with its largest relative difference to
``evaluate``.

Times are the thread's CPU time (``time.thread_time``: other processes on a shared machine do
not count; ``--wall`` for wall-clock time), the best of ``--repeat`` runs, decode and evaluate
interleaved, one thread (OpenCV's too). The one-off cost of the first call in a process
(importing numba, then compiling the kernels or loading them from numba's cache) is printed
first and kept out of the figures.

    python benchmarks/metrics.py [--repeat 7] [--each] [--no-naive] [--wall] [--cases 0,2,4]
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
from matbench.mattes import read_matte  # noqa: E402


# --------------------------------------------------------------------------- cases

def _u8(a):
    return np.clip(np.round(a), 0, 255).astype(np.uint8)


def _trimap(gt, k):
    """Foreground eroded, anything dilated by a k×k disc; between them unknown."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    fg = cv2.erode((gt == 255).astype(np.uint8), disc) > 0
    anything = cv2.dilate((gt > 0).astype(np.uint8), disc) > 0
    return np.where(fg, 255, np.where(anything, 128, 0)).astype(np.uint8)


def _object(rng, h, w, cy, cx, ry, rx, edge):
    """A blob alpha (float, 0..255) with a wavy boundary; edge: how sharp (larger: sharper)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((yy - h * cy) / (h * ry), (xx - w * cx) / (w * rx))
    wobble = cv2.resize(rng.standard_normal((9, 16)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    detail = cv2.resize(rng.standard_normal((h // 20, w // 20)).astype(np.float32), (w, h),
                        interpolation=cv2.INTER_CUBIC)
    s = (1.0 - r) + 0.18 * wobble + 0.05 * detail
    return cv2.GaussianBlur(np.clip(0.5 + s * edge, 0, 1), (0, 0), 1.5) * 255


def smooth(rng, h, w):
    """One object with a soft, wavy boundary (holes where the boundary folds); the prediction
    blurred, with smooth noise in a band around the boundary."""
    gt = _u8(_object(rng, h, w, 0.55, 0.5, 0.42, 0.27, edge=25.0))
    band = cv2.dilate(((gt > 0) & (gt < 255)).astype(np.uint8), np.ones((41, 41), np.uint8)) > 0
    noise = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 1.2) * 30.0
    pred = _u8(cv2.GaussianBlur(gt.astype(np.float32), (0, 0), 2.0) + noise * band)
    return pred, gt, _trimap(gt, 31)


def noisy(rng, h, w):
    """A grainy prediction: per-pixel noise (σ = 25 levels) over the object and its wide soft
    edge, speckles in the background: at every threshold Conn sees many small components."""
    gt = _u8(_object(rng, h, w, 0.5, 0.5, 0.4, 0.35, edge=8.0))
    trimap = _trimap(gt, 51)
    pred = gt.astype(np.float32) + rng.normal(0, 25, (h, w)).astype(np.float32) * (trimap > 0)
    pred += (rng.random((h, w)) < 0.05) * rng.uniform(0, 120, (h, w)).astype(np.float32)
    return _u8(pred), gt, trimap


def hair(rng, h, w, strands=2500):
    """Hair: a head and thousands of 1-px anti-aliased strands of varied opacity curling out
    of it; a wide unknown region; the prediction a blurred, dimmed, noisy copy."""
    head = _object(rng, h, w, 0.62, 0.5, 0.33, 0.33, edge=12.0)
    lines = np.zeros((h, w), np.uint8)
    cy, cx = 0.62 * h, 0.5 * w
    for _ in range(strands):
        angle = rng.uniform(np.pi * 0.95, np.pi * 2.05)
        r0 = rng.uniform(0.25, 0.33) * min(h, w)
        y, x = cy + r0 * np.sin(angle), cx + r0 * np.cos(angle)
        curl = rng.normal(0, 0.04)
        points = []
        for _ in range(int(rng.integers(20, 90))):
            points.append((x, y))
            angle += curl + rng.normal(0, 0.03)
            x, y = x + 4 * np.cos(angle), y + 4 * np.sin(angle)
        cv2.polylines(lines, [np.round(np.array(points) * 4).astype(np.int32)], False,
                      int(rng.integers(90, 256)), 1, cv2.LINE_AA, shift=2)
    gt = _u8(np.maximum(head, lines.astype(np.float32)))
    trimap = _trimap(gt, 25)
    pred = cv2.GaussianBlur(gt.astype(np.float32), (0, 0), 1.0) * rng.uniform(0.8, 1.0)
    pred += rng.normal(0, 6, (h, w)).astype(np.float32) * (trimap == 128)
    return _u8(pred), gt, trimap


def particles(rng, h, w, n=6000):
    """Many small soft discs (snow, bubbles, lace) under a trimap that is almost all unknown."""
    canvas = np.zeros((h, w), np.float32)
    for y, x, r, v in zip(rng.integers(0, h, n), rng.integers(0, w, n), rng.integers(1, 7, n),
                          rng.uniform(0.3, 1.0, n)):
        cv2.circle(canvas, (int(x), int(y)), int(r), float(v), -1, cv2.LINE_AA)
    gt = _u8(cv2.GaussianBlur(canvas, (0, 0), 0.8) * 255)
    trimap = np.full((h, w), 128, np.uint8)
    trimap[: h // 12] = 0
    pred = _u8(cv2.GaussianBlur(gt.astype(np.float32), (0, 0), 1.3) + rng.normal(0, 10, (h, w)) * (gt > 0))
    return pred, gt, trimap


def tiny_unknown(rng, h, w):
    """A small object with a narrow unknown band (1% of the image)."""
    gt = _u8(_object(rng, h, w, 0.5, 0.5, 0.12, 0.1, edge=40.0))
    return _u8(cv2.GaussianBlur(gt.astype(np.float32), (0, 0), 1.5)), gt, _trimap(gt, 7)


def constant_prediction(rng, h, w):
    """A model that predicts 128 everywhere, against the smooth object."""
    pred, gt, trimap = smooth(rng, h, w)
    return np.full_like(pred, 128), gt, trimap


def all_zero(rng, h, w):
    """Empty alpha predicted empty, with the smooth object's unknown band."""
    _, gt, trimap = smooth(rng, h, w)
    return np.zeros_like(gt), np.zeros_like(gt), trimap


def all_255(rng, h, w):
    """Everything opaque, every pixel unknown."""
    return (np.full((h, w), 255, np.uint8),) * 2 + (np.full((h, w), 128, np.uint8),)


def no_unknown(rng, h, w):
    """A trimap of 0 and 255 only: every metric is over an empty region."""
    pred, gt, trimap = smooth(rng, h, w)
    return pred, gt, np.where(trimap == 128, 0, trimap).astype(np.uint8)


CASES = [  # (name, generator, height, width)
    ("smooth", smooth, 1080, 1920),
    ("smooth", smooth, 1200, 1000),
    ("noisy prediction", noisy, 1080, 1920),
    ("noisy prediction", noisy, 1280, 960),
    ("hair", hair, 1400, 1050),
    ("particles", particles, 1000, 1250),
    ("tiny unknown", tiny_unknown, 1000, 1500),
    ("constant prediction", constant_prediction, 1080, 1920),
    ("all zero", all_zero, 1024, 1024),
    ("all 255", all_255, 1200, 1200),
    ("no unknown", no_unknown, 1000, 1400),
]


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

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="runs per measurement, the best counts")
    ap.add_argument("--each", action="store_true", help="also time each metric on its own")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive numpy/scipy port (slow)")
    ap.add_argument("--wall", action="store_true", help="wall-clock time instead of the thread's CPU time")
    ap.add_argument("--cases", help="comma-separated case numbers (default: all)")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    clock = time.perf_counter if args.wall else time.thread_time
    chosen = [int(i) for i in args.cases.split(",")] if args.cases else range(len(CASES))

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
    print(f"times: {'wall clock' if args.wall else 'thread CPU time'}, best of {args.repeat}, one thread")

    def best(fns):
        """Best time of each function, the functions interleaved."""
        times = [math.inf] * len(fns)
        for _ in range(args.repeat):
            for i, fn in enumerate(fns):
                t = clock()
                fn()
                times[i] = min(times[i], clock() - t)
        return times

    total_dec = total_eval = 0.0
    worst = (0.0, "")
    with tempfile.TemporaryDirectory() as tmp:
        for i in chosen:
            name, make, h, w = CASES[i]
            pred, gt, trimap = make(np.random.default_rng(i), h, w)
            paths = []
            for part, a in (("pred", pred), ("gt", gt), ("trimap", trimap)):
                paths.append(Path(tmp) / f"{i}_{part}.png")
                write_png_atomic(paths[-1], a)
            p, g, t = (read_matte(q) for q in paths)
            t_dec, t_eval = best([lambda: [read_matte(q) for q in paths], lambda: metrics.evaluate(p, g, t)])
            total_dec += t_dec
            total_eval += t_eval
            worst = max(worst, (t_eval / t_dec, f"case {i}"))
            line = (f"{i:2d} {name:<19} {h}x{w} {100 * (t == 128).mean():5.1f}% unknown: decode {1e3 * t_dec:6.1f} ms, "
                    f"evaluate {1e3 * t_eval:6.1f} ms, evaluate/decode {t_eval / t_dec:5.2f}")
            if args.each:
                parts = best([lambda f=getattr(metrics, k): f(p, g, t) for k in metrics.REFERENCE_KEYS]
                             + [lambda: metrics.sad_regions(p, g, t)])
                line += "\n     each on its own: " + ", ".join(
                    f"{k} {1e3 * v:.1f} ms" for k, v in zip(metrics.REFERENCE_KEYS + ("extras",), parts))
            if not args.no_naive:
                res = metrics.evaluate(p, g, t)
                t1 = clock()
                ref = naive_metrics(p, g, t)
                t_naive = clock() - t1
                diff = max((abs(ref[k] - res[k]) / max(abs(ref[k]), 1e-12) for k in ref
                            if not (math.isnan(ref[k]) and math.isnan(res[k]))), default=0.0)
                line += (f"\n     naive numpy/scipy port {1e3 * t_naive:.0f} ms = {t_naive / t_eval:.0f}x evaluate "
                         f"(largest relative difference {diff:.1e})")
            print(line, flush=True)
    print(f"summed evaluate/decode {total_eval / total_dec:.2f} ({1e3 * total_eval:.1f} ms / {1e3 * total_dec:.1f} ms), "
          f"worst {worst[0]:.2f} ({worst[1]})")


if __name__ == "__main__":
    main()
