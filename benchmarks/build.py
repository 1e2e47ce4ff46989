"""Speed of the Composition-1K builder: ours vs Adobe's per-pixel loop vs the floor.

A synthetic release with Composition-1K-like sizes (1500×1000 foregrounds whose alpha has
a soft band and hair-like partial region, 500×375 VOC-size JPEG backgrounds, 20 per fg,
official trimaps present) is built with ``matbench.build.build_comp1k``. Compared with:

* reference: a faithful rendering of ``Composition_code.py`` (Pillow open/convert, resize,
  the per-pixel ``load()`` loop, ``save(..., "PNG")``); the loop is timed on a few rows and
  extrapolated to the full image, everything else is timed in full;
* floor: decode the inputs (fg and alpha once per fg, the bg per composite), Pillow-bicubic
  resize, and encode the composite PNG with our encoder and level.

Prints seconds per composite and the ratios, and an estimate for the full Composition-1K
(1,000 composites) on 2 cores. Usage: ``python benchmarks/build.py [--fgs 2] [--bgs 20]``.
"""
from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from matbench.build import DEFAULT_COMPRESS_LEVEL, build_comp1k
from matbench.io import encode_png


def make_release(root: Path, n_fg: int, n_bg: int, fg_size=(1500, 1000), bg_size=(500, 375)) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    split = root / "adobe" / "Combined_Dataset" / "Test_set"
    base = split / "Adobe-licensed images"
    voc = root / "voc" / "JPEGImages"
    for d in (base / "fg", base / "alpha", base / "trimaps", voc):
        d.mkdir(parents=True, exist_ok=True)
    w, h = fg_size
    yy, xx = np.mgrid[:h, :w]
    fgs, bgs = [], []
    for i in range(n_fg):
        name = f"fg_{i:02d}.png"
        fgs.append(name)
        smooth = (np.sin(xx / 37.0 + i) * np.cos(yy / 53.0) * 120 + 128).astype(np.uint8)
        fg = np.dstack([smooth, np.roll(smooth, 50, 0), rng.integers(0, 256, (h, w), dtype=np.uint8) // 4 + 100])
        Image.fromarray(fg.astype(np.uint8)).save(base / "fg" / name, compress_level=1)
        d = np.hypot((yy - h / 2) / (h * 0.35), (xx - w / 2) / (w * 0.3))
        alpha = np.clip((1.15 - d) / 0.3 * 255, 0, 255)
        hair = (d > 0.9) & (d < 1.3)
        alpha[hair] = np.clip(alpha[hair] * 0.5 + rng.integers(0, 128, hair.sum()), 0, 255)
        alpha = alpha.astype(np.uint8)
        Image.fromarray(alpha).save(base / "alpha" / name)
        for k in range(n_bg):
            bname = f"2008_{i:03d}{k:03d}.jpg"
            bgs.append(bname)
            bw, bh = bg_size if k % 3 else bg_size[::-1]
            by, bx = np.mgrid[:bh, :bw]
            bg = np.dstack([(bx * 255 // bw), (by * 255 // bh), ((bx + by + 40 * k) % 256)]).astype(np.uint8)
            bg = np.clip(bg.astype(int) + rng.integers(-20, 20, bg.shape), 0, 255).astype(np.uint8)
            Image.fromarray(bg).save(voc / bname, quality=90)
            Image.fromarray(np.where(alpha == 0, 0, np.where(alpha == 255, 255, 128)).astype(np.uint8)).save(
                base / "trimaps" / f"{name[:-4]}_{k}.png")
    (split / "test_fg_names.txt").write_text("\n".join(fgs))
    (split / "test_bg_names.txt").write_text("\n".join(bgs))
    return root / "adobe", root / "voc"


def reference_composite(fg_path, a_path, bg_path, out_path, loop_rows: int):
    """Adobe's Composition_code.py for one composite; returns (seconds excluding the loop,
    seconds of the loop extrapolated to the whole image)."""
    t0 = time.perf_counter()
    im = Image.open(fg_path)
    a = Image.open(a_path)
    w, h = im.size
    if im.mode != "RGB" and im.mode != "RGBA":
        im = im.convert("RGB")
    bg = Image.open(bg_path)
    if bg.mode != "RGB":
        bg = bg.convert("RGB")
    bw, bh = bg.size
    wratio, hratio = w / bw, h / bh
    ratio = wratio if wratio > hratio else hratio
    if ratio > 1:
        bg = bg.resize((math.ceil(bw * ratio), math.ceil(bh * ratio)), Image.BICUBIC)
    bg = bg.crop((0, 0, w, h))
    fg_list, bg_list, a_list = im.load(), bg.load(), a.load()
    t1 = time.perf_counter()
    # The per-pixel loop on rows spread over the image (the alpha band is in the middle rows).
    rows = np.linspace(0, h - 1, loop_rows).astype(int)
    for y in rows:
        for x in range(w):
            alpha = a_list[x, y] / 255
            if alpha >= 1:
                r, g, b = int(fg_list[x, y][0]), int(fg_list[x, y][1]), int(fg_list[x, y][2])
                bg_list[x, y] = (r, g, b)
            elif alpha > 0:
                r = int(alpha * fg_list[x, y][0] + (1 - alpha) * bg_list[x, y][0])
                g = int(alpha * fg_list[x, y][1] + (1 - alpha) * bg_list[x, y][1])
                b = int(alpha * fg_list[x, y][2] + (1 - alpha) * bg_list[x, y][2])
                bg_list[x, y] = (r, g, b)
    t2 = time.perf_counter()
    bg.save(out_path, "PNG")
    t3 = time.perf_counter()
    return (t1 - t0) + (t3 - t2), (t2 - t1) * h / loop_rows


def floor_composite(fg_path, a_path, bg_paths, composites, level):
    """Decode fg+alpha once, then per bg: decode, bicubic resize, and encode the composite's
    PNG (the composite's pixels are given: computing them is what the floor leaves out);
    seconds per composite."""
    t0 = time.perf_counter()
    fg = Image.open(fg_path)
    fg.load()
    a = Image.open(a_path)
    a.load()
    w, h = fg.size
    for p, merged in zip(bg_paths, composites):
        bg = Image.open(p)
        bg.load()
        bw, bh = bg.size
        ratio = max(w / bw, h / bh)
        bg = bg.resize((math.ceil(bw * ratio), math.ceil(bh * ratio)), Image.BICUBIC)
        np.asarray(bg)
        encode_png(merged, level)
    return (time.perf_counter() - t0) / len(bg_paths)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fgs", type=int, default=2)
    ap.add_argument("--bgs", type=int, default=20)
    ap.add_argument("--loop-rows", type=int, default=12)
    ap.add_argument("--level", type=int, default=DEFAULT_COMPRESS_LEVEL)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        adobe, voc = make_release(tmp / "src", args.fgs, args.bgs)
        n = args.fgs * args.bgs
        base = adobe / "Combined_Dataset/Test_set/Adobe-licensed images"
        bgs = sorted((voc / "JPEGImages").iterdir())

        t, c = time.perf_counter(), time.process_time()
        build_comp1k(adobe, voc, tmp / "ours1", bgs_per_fg=args.bgs, progress=False, compress_level=args.level)
        ours1 = (time.perf_counter() - t) / n
        ours1_cpu = (time.process_time() - c) / n  # steadier than wall time on a shared machine
        t = time.perf_counter()
        build_comp1k(adobe, voc, tmp / "ours2", bgs_per_fg=args.bgs, jobs=2, progress=False,
                     compress_level=args.level)
        ours2 = (time.perf_counter() - t) / n
        t = time.perf_counter()
        build_comp1k(adobe, voc, tmp / "ours1", bgs_per_fg=args.bgs, progress=False, compress_level=args.level)
        resume = time.perf_counter() - t

        floors = []
        for i in range(args.fgs):
            merged = [np.asarray(Image.open(tmp / "ours1" / "merged" / f"fg_{i:02d}_{k}.png"))
                      for k in range(args.bgs)]
            floors.append(floor_composite(base / "fg" / f"fg_{i:02d}.png", base / "alpha" / f"fg_{i:02d}.png",
                                          bgs[i * args.bgs:(i + 1) * args.bgs], merged, args.level))
            del merged
        floor = float(np.mean(floors))
        ref_fixed, ref_loop = [], []
        for k in range(2):
            f, lp = reference_composite(base / "fg" / "fg_00.png", base / "alpha" / "fg_00.png", bgs[k],
                                        tmp / "ref.png", args.loop_rows)
            ref_fixed.append(f)
            ref_loop.append(lp)
        ref = float(np.mean(ref_fixed) + np.mean(ref_loop))

    print(f"{n} composites, fg 1500x1000, bg 500x375 / 375x500 JPEG, PNG level {args.level}")
    print(f"reference script (loop extrapolated from {args.loop_rows} rows): {ref:8.3f} s/composite "
          f"(loop {np.mean(ref_loop):.3f} s)")
    print(f"floor (decode + bicubic resize + encode):  {floor:8.4f} s/composite")
    print(f"ours, 1 job:                                {ours1:8.4f} s/composite ({ours1_cpu:.4f} s CPU)")
    print(f"ours, 2 jobs:                               {ours2:8.4f} s/composite")
    print(f"speed-up vs reference loop (1 job): {ref / ours1:7.1f}x   (goal >= 20x)")
    print(f"ours / floor (1 job):               {ours1 / floor:7.2f}x   (goal <= 2x)")
    print(f"resume of a finished build: {resume:.2f} s for {n} composites")
    print(f"estimated full Composition-1K (1,000 composites) on 2 cores: {1000 * ours2 / 60:.1f} min "
          f"(reference script: {1000 * ref / 3600:.1f} h on 1 core)")


if __name__ == "__main__":
    main()
