"""How fast ``matbench.score`` is, against only decoding the PNGs it reads.

Makes a few distinct Composition-1K-sized cases (1000×1500 ≈ 1.5 Mpx: a soft-edged object
alpha, a noisy blurred prediction, an erode/dilate trimap), writes ``--images`` prediction,
trimap and alpha PNGs (copies of those cases) to a temporary folder, then prints:

- decode: reading the three PNGs of every image with ``matbench.mattes.read_matte`` (1 process),
- header checks: what ``score`` does first for every file (size, mode, bit depth; no decoding),
- score with ``jobs=1`` and ``jobs=2`` (everything: pairing, decoding, checks, all metrics
  and extras), as images/s and as the ratio to the decode time.

Goal: one job ≤ 2× decode; two jobs close to half of one.

    python benchmarks/score.py [--images 1000] [--distinct 4] [--keep DIR]
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from matbench.io import write_png_atomic  # noqa: E402
from matbench.mattes import InputCheck, read_matte  # noqa: E402
from matbench.score import score  # noqa: E402

H, W = 1000, 1500


def make_case(seed: int):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    r = np.hypot((yy - H * 0.55) / (H * 0.4), (xx - W * 0.5) / (W * 0.28))
    wobble = cv2.resize(rng.standard_normal((8, 12)).astype(np.float32), (W, H), interpolation=cv2.INTER_CUBIC)
    detail = cv2.resize(rng.standard_normal((50, 75)).astype(np.float32), (W, H), interpolation=cv2.INTER_CUBIC)
    alpha = np.clip(0.5 + ((1.0 - r) + 0.18 * wobble + 0.05 * detail) * 25.0, 0, 1)
    gt = np.round(cv2.GaussianBlur(alpha, (0, 0), 1.5) * 255).astype(np.uint8)
    band = cv2.dilate(((gt > 0) & (gt < 255)).astype(np.uint8), np.ones((41, 41), np.uint8)) > 0
    noise = cv2.GaussianBlur(rng.standard_normal((H, W)).astype(np.float32), (0, 0), 1.2) * 30.0
    pred = np.clip(np.round(cv2.GaussianBlur(gt.astype(np.float32), (0, 0), 2.0) + noise * band), 0, 255)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (31, 31))
    fg = cv2.erode((gt == 255).astype(np.uint8), k) > 0
    anything = cv2.dilate((gt > 0).astype(np.uint8), k) > 0
    trimap = np.where(fg, 255, np.where(anything, 128, 0)).astype(np.uint8)
    return pred.astype(np.uint8), gt, trimap


def build(root: Path, n: int, distinct: int):
    src = root / "src"
    for i in range(distinct):
        for name, a in zip(("pred", "gt", "trimap"), make_case(i)):
            write_png_atomic(src / f"{name}{i}.png", a)
    for j in range(n):
        i = j % distinct
        stem = f"img{j:04d}"
        for name, folder in (("pred", "pred"), ("gt", "alpha"), ("trimap", "trimap")):
            (root / folder).mkdir(exist_ok=True)
            shutil.copyfile(src / f"{name}{i}.png", root / folder / f"{stem}.png")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--distinct", type=int, default=4)
    ap.add_argument("--keep", type=Path, help="Build (or reuse) the files in DIR instead of a temporary folder.")
    args = ap.parse_args()

    tmp = None
    if args.keep:
        root = args.keep
        root.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="matbench-score-bench-")
        root = Path(tmp.name)
    try:
        if not (root / "pred" / f"img{args.images - 1:04d}.png").is_file():
            t0 = time.perf_counter()
            build(root, args.images, args.distinct)
            print(f"wrote {args.images} × 3 PNGs of {W}×{H} ({W * H / 1e6:.2f} Mpx) in {time.perf_counter() - t0:.1f} s")
        stems = sorted(p.stem for p in (root / "pred").glob("*.png"))[: args.images]
        # other CPU-bound processes make the jobs=2 line meaningless: say how busy the machine is
        print(f"CPUs: {os.cpu_count()}, load average before timing: {os.getloadavg()[0]:.2f}")

        t0 = time.perf_counter()
        for s in stems:
            for folder in ("pred", "alpha", "trimap"):
                read_matte(root / folder / f"{s}.png")
        decode = time.perf_counter() - t0
        n = len(stems)
        print(f"decode only (3 PNGs/image, 1 process): {decode:7.1f} s  {n / decode:6.2f} images/s")
        t0 = time.perf_counter()
        check = InputCheck()
        for s in stems:
            gt = check.matte(root / "alpha" / f"{s}.png", "ground-truth alpha")
            check.matte(root / "trimap" / f"{s}.png", "trimap", like=gt)
            check.matte(root / "pred" / f"{s}.png", "prediction", like=gt)
        headers = time.perf_counter() - t0
        print(f"header checks (3 files/image, part of score): {headers:7.2f} s  {headers / decode:5.3f}× decode")

        base = None
        for jobs in (1, 2):
            t0 = time.perf_counter()
            df = score([root / "pred"], alpha_dir=root / "alpha", trimap_dir=root / "trimap", jobs=jobs,
                       progress=False)
            t = time.perf_counter() - t0
            assert len(df) == n
            base = base or t
            print(f"score jobs={jobs}: {t:7.1f} s  {n / t:6.2f} images/s  "
                  f"{t / decode:5.2f}× decode  {t / base:5.2f}× jobs=1")
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
