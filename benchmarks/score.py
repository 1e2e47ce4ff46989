"""How fast ``matbench score`` is end to end, against only decoding the PNGs it reads.

Inputs (synthetic, made to look like a Composition-1K scoring run; seeds fixed):

- 6 ground-truth alphas of about 1.4 Mpx (1080×1296, 1200×1200, 1440×960, 1000×1400,
  1350×1080, 1280×1100): an object with a wavy boundary whose soft edge is 1–6 px wide, hair
  strands (thin curves of partial alpha crossing the boundary) and a semi-transparent region;
- their trimaps as the official ones look: unknown = dilate(alpha > 0) minus erode(alpha == 255),
  elliptic kernels of 21–41 px;
- 4 kinds of prediction per alpha: a good model (the alpha blurred, a little noise, hair
  thinned), a noisy model (blotches and speckles in the unknown region: many small components,
  the case where Conn costs most), a coarse model (predicted at 1/4 size, upscaled: no strands)
  and trimap-mid (128 in the unknown region);
- written as a lab's files are: alphas and trimaps by matbench's builder (PNG level 1),
  predictions half by ``cv2.imwrite`` and half by Pillow's ``save``, each with its defaults;
- ``--images`` (default 120) reference images cycle through the 6 × 4 (alpha, prediction)
  combinations (file copies, so the OS file cache holds them as it would on a second run).

Measured in one process, interleaved, ``--repeat`` times (the machine may be shared: ranges
and the load average are printed):

- decode: read the three PNGs of every image with ``matbench.mattes.read_matte`` (the rule's
  reading, one thread: what scoring cannot avoid), and Pillow's plain ``Image.open().load()``
  (no checks, no numpy array) for comparison; ratios are printed against both;
- header checks: what ``score`` does first for every file (size, mode, bit depth; no decoding);
- ``matbench score PRED --alpha-dir --trimap-dir --jobs 1 -q`` as a fresh process: wall time
  with start-up (interpreter, imports, loading the compiled metric kernels), pairing, header
  checks, decoding, all metrics, the leaderboard (with its bootstrap intervals) printed;
- the same with ``--jobs 2``;
- ``matbench score PRED --dataset ROOT --jobs 1 -q``: the same files as a matbench dataset
  (``ROOT/manifest.csv`` with the decoded-pixel hashes a build records), so every alpha and
  trimap is also checked against the manifest (the cost of that check, against the folder run).

Goal (issue 15): one job ≤ 1.5× decode, start-up included.

    python benchmarks/score.py [--images 120] [--repeat 3] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from matbench.io import write_png_atomic
from matbench.mattes import InputCheck, read_matte

SIZES = [(1080, 1296), (1200, 1200), (1440, 960), (1000, 1400), (1350, 1080), (1280, 1100)]  # (w, h)
KINDS = ("good", "noisy", "coarse", "trimap-mid")


def make_alpha(w: int, h: int, rng) -> np.ndarray:
    """An object alpha: wavy soft boundary, hair strands, a semi-transparent region (uint8)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((yy - h * 0.55) / (h * 0.38), (xx - w * 0.5) / (w * 0.3))
    wobble = cv2.resize(rng.standard_normal((8, 8)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    edge = cv2.resize(rng.uniform(1, 6, (6, 6)).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    s = ((1.0 - r) + 0.12 * wobble) * min(w, h) * 0.35  # ~ signed distance in px
    alpha = np.clip(0.5 + s / edge, 0, 1)
    hair = np.zeros((h, w), np.float32)
    for _ in range(160):  # strands from inside the object outwards
        t = rng.uniform(0, 2 * np.pi)
        x, y = w * 0.5 + np.cos(t) * w * 0.27, h * 0.55 + np.sin(t) * h * 0.34
        pts = []
        for _ in range(12):
            t += rng.normal(0, 0.15)
            x, y = x + np.cos(t) * 9, y + np.sin(t) * 9
            pts.append((x, y))
        cv2.polylines(hair, [np.int32(pts)], False, float(rng.uniform(0.3, 0.9)), int(rng.integers(1, 3)),
                      cv2.LINE_AA)
    alpha = np.maximum(alpha, hair)
    glass = np.exp(-(((xx - w * 0.75) / (w * 0.08)) ** 2 + ((yy - h * 0.2) / (h * 0.1)) ** 2))
    alpha = np.maximum(alpha, 0.5 * glass * (glass > 0.05))
    return np.round(alpha * 255).astype(np.uint8)


def make_trimap(alpha: np.ndarray, k: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    fg = cv2.erode((alpha == 255).astype(np.uint8), kernel) > 0
    anything = cv2.dilate((alpha > 0).astype(np.uint8), kernel) > 0
    return np.where(fg, 255, np.where(anything, 128, 0)).astype(np.uint8)


def make_prediction(kind: str, alpha: np.ndarray, trimap: np.ndarray, rng) -> np.ndarray:
    h, w = alpha.shape
    a = alpha.astype(np.float32)
    unknown = trimap == 128
    if kind == "good":
        p = cv2.GaussianBlur(a, (0, 0), 1.0) + rng.normal(0, 2.0, a.shape) * unknown
    elif kind == "noisy":
        blotch = cv2.resize(rng.standard_normal((h // 12, w // 12)).astype(np.float32), (w, h))
        speckle = (rng.random(a.shape) < 0.01) * rng.uniform(-120, 120, a.shape)
        p = cv2.GaussianBlur(a, (0, 0), 2.0) + (60 * blotch + speckle) * unknown
    elif kind == "coarse":
        small = cv2.resize(a, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
        p = cv2.resize(cv2.GaussianBlur(small, (0, 0), 1.0), (w, h), interpolation=cv2.INTER_LINEAR)
    else:  # trimap-mid
        p = trimap.astype(np.float32)
    return np.clip(np.round(p), 0, 255).astype(np.uint8)


def build(root: Path, n: int) -> None:
    """``root/{alpha,trimap,pred}/imgNNNN.png`` for ``n`` images."""
    src = root / "src"
    src.mkdir(parents=True, exist_ok=True)
    for i, (w, h) in enumerate(SIZES):
        rng = np.random.default_rng(i)
        alpha = make_alpha(w, h, rng)
        trimap = make_trimap(alpha, 21 + 4 * i)
        write_png_atomic(src / f"alpha{i}.png", alpha)
        write_png_atomic(src / f"trimap{i}.png", trimap)
        for j, kind in enumerate(KINDS):
            pred = make_prediction(kind, alpha, trimap, rng)
            if (i + j) % 2:
                cv2.imwrite(str(src / f"pred{i}_{kind}.png"), pred)
            else:
                Image.fromarray(pred).save(src / f"pred{i}_{kind}.png")
    for folder in ("alpha", "trimap", "pred"):
        (root / folder).mkdir(exist_ok=True)
    combos = [(i, kind) for kind in KINDS for i in range(len(SIZES))]
    for j in range(n):
        i, kind = combos[j % len(combos)]
        stem = f"img{j:04d}.png"
        shutil.copyfile(src / f"alpha{i}.png", root / "alpha" / stem)
        shutil.copyfile(src / f"trimap{i}.png", root / "trimap" / stem)
        shutil.copyfile(src / f"pred{i}_{kind}.png", root / "pred" / stem)


def decode(root: Path, stems, how: str) -> float:
    t0 = time.perf_counter()
    for s in stems:
        for folder in ("pred", "alpha", "trimap"):
            if how == "rule":
                read_matte(root / folder / s)
            else:
                with Image.open(root / folder / s) as im:
                    im.load()
    return time.perf_counter() - t0


def headers(root: Path, stems) -> float:
    t0 = time.perf_counter()
    check = InputCheck()
    for s in stems:
        gt = check.matte(root / "alpha" / s, "ground-truth alpha")
        check.matte(root / "trimap" / s, "trimap", like=gt)
        check.matte(root / "pred" / s, "prediction", like=gt)
    return time.perf_counter() - t0


def write_dataset(root: Path, stems) -> None:
    """``root/manifest.csv`` over the alpha and trimap files, with their decoded-pixel hashes."""
    from matbench.manifest import decoded_sha256, write_manifest

    rows = [{"split": "test", "image": s[:-4], "merged": "", "alpha": f"alpha/{s}", "trimap": f"trimap/{s}",
             "alpha_sha256": decoded_sha256(root / "alpha" / s, "matte"),
             "trimap_sha256": decoded_sha256(root / "trimap" / s, "matte")} for s in stems]
    write_manifest(root, rows)


def score_cli(root: Path, jobs: int, dataset: bool = False) -> float:
    reference = ["--dataset", str(root)] if dataset else ["--alpha-dir", str(root / "alpha"),
                                                          "--trimap-dir", str(root / "trimap")]
    cmd = [sys.executable, "-m", "matbench.cli", "score", str(root / "pred"), *reference, "--jobs", str(jobs), "-q"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=120)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="Build (or reuse) the files in DIR instead of a temporary folder.")
    args = ap.parse_args()

    tmp = None
    if args.keep:
        root = args.keep
    else:
        tmp = tempfile.TemporaryDirectory(prefix="matbench-score-bench-")
        root = Path(tmp.name)
    try:
        if not (root / "pred" / f"img{args.images - 1:04d}.png").is_file():
            build(root, args.images)
        stems = sorted(p.name for p in (root / "pred").glob("*.png"))[: args.images]
        mpx = np.mean([Image.open(root / "alpha" / s).size[0] * Image.open(root / "alpha" / s).size[1]
                       for s in stems]) / 1e6
        n = len(stems)
        print(f"{n} images of {mpx:.2f} Mpx on average (6 alphas × 4 kinds of prediction, see the doc); "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        score_cli(root, 1)  # warm the file cache and numba's kernel cache
        decode(root, stems, "rule")
        write_dataset(root, stems)
        ratios = {1: [], 2: []}
        vs_pillow = {1: [], 2: []}
        decodes, pillow, checked = [], [], []
        for _ in range(args.repeat):
            for jobs in (1, 2):
                d = decode(root, stems, "rule")
                decodes.append(d)
                pillow.append(decode(root, stems, "pillow"))
                t = score_cli(root, jobs)
                ratios[jobs].append(t / d)
                vs_pillow[jobs].append(t / pillow[-1])
            checked.append(score_cli(root, 1, dataset=True) / decodes[-1])
        print(f"decode (read_matte, 3 PNGs/image, 1 thread): {min(decodes):.2f}-{max(decodes):.2f} s "
              f"({1e3 * min(decodes) / n:.1f} ms/image); Pillow open+load alone: {min(pillow):.2f}-{max(pillow):.2f} s")
        print(f"header checks (3 files/image, part of score): {headers(root, stems) / min(decodes):.3f}x decode")
        for jobs, r in ratios.items():
            print(f"matbench score --jobs {jobs} (fresh process, start-up included) / decode: "
                  f"{min(r):.2f}-{max(r):.2f}x" + ("   (goal <= 1.5x)" if jobs == 1 else "")
                  + f"; / Pillow's decode alone: {min(vs_pillow[jobs]):.2f}-{max(vs_pillow[jobs]):.2f}x")
        print(f"matbench score --jobs 1 --dataset (every alpha and trimap checked against the manifest's hashes) "
              f"/ decode: {min(checked):.2f}-{max(checked):.2f}x   (goal <= 1.5x)")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
