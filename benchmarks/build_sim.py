"""Speed of the SIM test-set builder: ours vs the authors' per-line procedure vs the floor.

Synthetic SIMD-like inputs: ``--fgs`` foregrounds (JPEG fg and gray JPEG alpha; half of them
1920×1280, which the size rule keeps, half 2400×1600, which it shrinks to 1920×1280), each
composited onto ``--bgs`` VOC-size JPEG backgrounds (500×375, upscaled ×3.84 by the recipe).
Compared, in one process and on the same files:

* authors' procedure: what the script does per file-list line, from the spec (docs/specs/sim.md):
  read fg and alpha, size rule and resize, read bg, resize and crop, the float64 numpy blend,
  trimap, and write composite, trimap and alpha with ``cv2.imwrite`` (OpenCV's default PNG
  level); the fg, alpha and trimap are redone for every line, as the script does;
* floor: decode fg and alpha once per fg and each bg once, and encode each composite (our PNG
  encoder and level) and each fg's alpha and trimap once (the pixels are given; the array
  copies of the outputs take about 7 MB per composite of memory);
* ours: ``build_sim`` with 1 and 2 jobs.

Prints seconds per composite and the ratios, and an estimate for the full SIM test set
(890 composites). Usage: ``python benchmarks/build_sim.py [--fgs 2] [--bgs 10]``.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from matbench import sim_compose as sc
from matbench.build import DEFAULT_COMPRESS_LEVEL
from matbench.build_sim import build_sim
from matbench.io import encode_png


def make_inputs(root: Path, n_fg: int, n_bg: int):
    """SIMD root, VOC folder and file list with n_fg × n_bg lines."""
    rng = np.random.default_rng(0)
    simd, voc = root / "SIMD", root / "voc"
    for d in (simd / "fur" / "fg", simd / "fur" / "alpha", voc):
        d.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n_fg):
        w, h = (1920, 1280) if i % 2 == 0 else (2400, 1600)
        yy, xx = np.mgrid[:h, :w]
        fg = np.dstack([(xx * 255 // w), (yy * 255 // h), rng.integers(60, 200, (h, w))]).astype(np.uint8)
        d = np.hypot((yy - h / 2) / (h * 0.35), (xx - w / 2) / (w * 0.3))
        alpha = np.clip((1.15 - d) / 0.3 * 255, 0, 255)
        band = (d > 0.9) & (d < 1.3)
        alpha[band] = np.clip(alpha[band] * 0.5 + rng.integers(0, 128, band.sum()), 0, 255)
        name = f"fg {i:02d} (1).jpg"
        Image.fromarray(fg).save(simd / "fur" / "fg" / name, quality=92)
        Image.fromarray(alpha.astype(np.uint8)).save(simd / "fur" / "alpha" / name, quality=95)
        for k in range(n_bg):
            bname = f"2009_{i:03d}{k:03d}.jpg"
            bg = rng.integers(0, 256, (375, 500, 3), dtype=np.uint8)
            Image.fromarray(cv2.GaussianBlur(bg, (0, 0), 3)).save(voc / bname, quality=90)
            lines.append(f"fur:{name}:{bname}")
    file_list = root / "list.txt"
    file_list.write_text("\n".join(lines) + "\n")
    return simd, voc, file_list


def authors_line(simd, voc, line, out: Path):
    """One file-list line done the way the script does it (every step redone per line)."""
    klass, fg_name, bg_name = line.split(":")
    fg = sc.read_color(simd / klass / "fg" / fg_name)
    alpha = sc.read_alpha(simd / klass / "alpha" / fg_name)
    fg, alpha = sc.normalise(fg, alpha)
    bg, _ = sc.prepare_bg(sc.read_color(voc / bg_name), *alpha.shape)
    a = alpha[:, :, None] / 255.0
    merged = (fg * a + bg * (1.0 - a)).astype(np.uint8)  # the script's float64 numpy blend
    trimap = sc.trimap(alpha).astype(np.float64)        # the script's trimap is float64
    stem = f"{fg_name[:-4]}_{bg_name[:-4]}.png"
    cv2.imwrite(str(out / ("m_" + stem)), merged)
    cv2.imwrite(str(out / ("t_" + stem)), trimap)  # OpenCV warns and stores float64 as 8-bit
    cv2.imwrite(str(out / ("a_" + stem)), alpha)


def floor(simd, voc, lines, built: Path, level: int) -> float:
    """Decode the inputs and encode the outputs only (their pixels read beforehand); seconds per
    composite."""
    outputs, firsts = {}, set()
    for line in lines:
        klass, fg_name, bg_name = line.split(":")
        stem = f"{fg_name[:-4]}_{bg_name[:-4]}"
        kinds = ("merged",) if fg_name in firsts else ("merged", "alpha", "trimap")
        firsts.add(fg_name)
        outputs[line] = [np.asarray(Image.open(built / klass / kind / f"{stem}.png")) for kind in kinds]
    done = set()
    t0 = time.perf_counter()
    for line in lines:
        klass, fg_name, bg_name = line.split(":")
        if fg_name not in done:
            sc.read_color(simd / klass / "fg" / fg_name)
            sc.read_alpha(simd / klass / "alpha" / fg_name)
            done.add(fg_name)
        sc.read_color(voc / bg_name)
        for array in outputs[line]:
            encode_png(array, level)
    return (time.perf_counter() - t0) / len(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fgs", type=int, default=2)
    ap.add_argument("--bgs", type=int, default=10)
    ap.add_argument("--level", type=int, default=DEFAULT_COMPRESS_LEVEL)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        simd, voc, file_list = make_inputs(tmp / "src", args.fgs, args.bgs)
        lines = file_list.read_text().splitlines()
        n = len(lines)
        t = time.perf_counter()
        build_sim(simd, voc, file_list, tmp / "ours1", progress=False, compress_level=args.level)
        ours1 = (time.perf_counter() - t) / n
        t = time.perf_counter()
        build_sim(simd, voc, file_list, tmp / "ours2", jobs=2, progress=False, compress_level=args.level)
        ours2 = (time.perf_counter() - t) / n
        (tmp / "ref").mkdir()
        t = time.perf_counter()
        for line in lines:
            authors_line(simd, voc, line, tmp / "ref")
        ref = (time.perf_counter() - t) / n
        flo = floor(simd, voc, lines, tmp / "ours1", args.level)

    print(f"{n} composites: fgs 1920x1280 and 2400x1600 (-> 1920x1280) JPEG, bgs 500x375 JPEG, PNG level {args.level}")
    print(f"authors' procedure (per line, cv2.imwrite): {ref:8.4f} s/composite")
    print(f"floor (decode + encode):                    {flo:8.4f} s/composite")
    print(f"ours, 1 job:                                {ours1:8.4f} s/composite")
    print(f"ours, 2 jobs:                               {ours2:8.4f} s/composite")
    print(f"authors' procedure / ours (1 job): {ref / ours1:6.2f}x")
    print(f"ours / floor (1 job):              {ours1 / flo:6.2f}x")
    print(f"estimated full SIM test set (890 composites) on 2 cores: {890 * ours2 / 60:.1f} min "
          f"(the authors' procedure: {890 * ref / 60:.1f} min on 1 core)")


if __name__ == "__main__":
    main()
