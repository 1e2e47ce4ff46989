"""Speed of the Adobe builders against the floor and, given its file, Adobe's own script.

Inputs (synthetic releases laid out like Adobe's; photo-like images: scikit-image's bundled
photographs upscaled with sensor-like noise, so that they compress like photos):

- ``comp1k``: Composition-1K-like: PNG foregrounds of 1.2, 2.2 and 3.0 Mpx (1200×1000,
  1800×1200, 2000×1500) with an alpha that has a soft band and hair-like partial strands,
  official trimaps, VOC-size JPEG backgrounds (500×375 and 375×500) that the recipe upscales
  to the foreground: ``build_comp1k`` with ``--bgs`` backgrounds per foreground;
- ``large-bg``: the same foregrounds at 1500×1000 with 2600×1900 JPEG backgrounds (larger
  than the foreground: cropped, never resized);
- ``train``: training-like: 1.2 and 2.2 Mpx JPEG foregrounds with JPEG alphas, COCO-size JPEG
  backgrounds (640×480 and 480×640): ``build_train``, which also writes each composite's
  background crop.

Compared with, in the same process, interleaved, ``--repeat`` times (ranges printed):

- floor: decode the inputs (foreground and alpha once per foreground, each background),
  Pillow's bicubic resize where the recipe resizes, and encode the PNGs a composite needs (the
  composite; in ``train`` also the background crop) with our encoder and level; one thread;
- ours: the builder with ``--jobs 1`` and ``--jobs 2``; with one job it overlaps encoding with
  compositing in a writer thread, so its wall time can fall below the floor's on an idle
  machine; both wall and CPU ratios are printed (CPU: this process, all its threads; the CPU
  ratio shows the extra work, steady under load; the wall ratio what a user waits for);
- Adobe's ``Composition_code.py`` (``--reference-script PATH``: your copy from the release,
  run unmodified): the script reads hard-coded folders (``fg/``, ``mask/``, ``bg/``, writes
  ``merged/``, ``num_bgs`` composites per foreground in ``os.listdir`` order); for each case this
  benchmark lays one foreground and ``num_bgs`` backgrounds out so, runs ``python PATH`` there
  and times the composites as they appear (``--reference-composites`` + 1 of them, then stops it;
  seconds per composite = time between the first and the last one written / their number − 1),
  for each foreground; compared per megapixel with ours.

Then a projection of the full DIM training set (431 × 100 composites) on 2, 16 and 64 cores
from the ``train`` CPU time per composite (assumes CPU-bound work that scales with cores and a
file system that keeps up).

    python benchmarks/build.py [--bgs 20] [--repeat 2] [--reference-script Composition_code.py]
"""
from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from matbench.build import DEFAULT_COMPRESS_LEVEL, build_comp1k, build_train
from matbench.io import encode_png

TEST_FGS = [(1200, 1000), (1800, 1200), (2000, 1500)]
TRAIN_FGS = [(1200, 1000), (1800, 1200)]
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def photo(i: int, size, rng) -> np.ndarray:
    """A photograph of scikit-image upscaled to ``size`` (w, h), with sensor-like noise."""
    import cv2
    import skimage.data

    img = getattr(skimage.data, PHOTOS[i % len(PHOTOS)])()
    img = cv2.resize(img, size, interpolation=cv2.INTER_CUBIC)
    return np.clip(img + rng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8)


def matte(w: int, h: int, rng) -> np.ndarray:
    """An object alpha with a soft band and hair-like partial strands (uint8)."""
    yy, xx = np.mgrid[:h, :w]
    d = np.hypot((yy - h / 2) / (h * 0.35), (xx - w / 2) / (w * 0.3))
    alpha = np.clip((1.1 - d) / 0.15 * 255, 0, 255)
    hair = (d > 0.95) & (d < 1.25) & (rng.random((h, w)) < 0.3)
    alpha[hair] = rng.integers(20, 230, int(hair.sum()))
    return alpha.astype(np.uint8)


def make_release(root: Path, kind: str, n_bg: int) -> tuple[Path, Path, list]:
    """A release of one kind (see the module doc): ``(adobe root, bg root, [(fg path, alpha path,
    [bg paths])])``."""
    rng = np.random.default_rng(0)
    train = kind == "train"
    split = root / "adobe" / "Combined_Dataset" / ("Training_set" if train else "Test_set")
    base = split / "Adobe-licensed images"
    bg_dir = root / ("coco" if train else "voc")
    for d in (base / "fg", base / "alpha", base / "trimaps", bg_dir):
        d.mkdir(parents=True, exist_ok=True)
    sizes = TRAIN_FGS if train else [(1500, 1000)] * 2 if kind == "large-bg" else TEST_FGS
    bg_size = (2600, 1900) if kind == "large-bg" else (640, 480) if train else (500, 375)
    fg_names, bg_names, files = [], [], []
    for i, (w, h) in enumerate(sizes):
        name = f"fg_{i:02d}." + ("jpg" if train else "png")
        fg_names.append(name)
        alpha = matte(w, h, rng)
        fmt = {"quality": 95} if train else {"compress_level": 6}
        Image.fromarray(photo(i, (w, h), rng)).save(base / "fg" / name, **fmt)
        Image.fromarray(alpha).save(base / "alpha" / name, **fmt)
        bgs = []
        for k in range(n_bg):
            bname = (f"COCO_train2014_{i:06d}{k:06d}.jpg" if train else f"2008_{i:03d}{k:03d}.jpg")
            bw, bh = bg_size if k % 3 else bg_size[::-1]
            Image.fromarray(photo(i + k + 1, (bw, bh), rng)).save(bg_dir / bname, quality=90)
            bg_names.append(bname)
            bgs.append(bg_dir / bname)
            if not train:
                trimap = np.where(alpha == 0, 0, np.where(alpha == 255, 255, 128)).astype(np.uint8)
                Image.fromarray(trimap).save(base / "trimaps" / f"fg_{i:02d}_{k}.png")
        files.append((base / "fg" / name, base / "alpha" / name, bgs))
    lists = ("training_fg_names.txt", "training_bg_names.txt") if train else ("test_fg_names.txt",
                                                                             "test_bg_names.txt")
    (split / lists[0]).write_text("\n".join(fg_names))
    (split / lists[1]).write_text("\n".join(bg_names))
    return root / "adobe", bg_dir, files


def floor(files, built: Path, level: int, write_bg: bool) -> tuple[float, float]:
    """(wall, CPU) seconds per composite of decoding, resizing and encoding only (see the module
    doc); the pixels encoded are those of the composites (and bg crops) in ``built``, read
    beforehand."""
    seconds, cpu, n = 0.0, 0.0, 0
    for fg_path, alpha_path, bgs in files:
        stem = fg_path.stem
        outputs = [np.asarray(Image.open(built / "merged" / f"{stem}_{k}.png")) for k in range(len(bgs))]
        t0, c0 = time.perf_counter(), time.process_time()
        fg = Image.open(fg_path)
        fg.load()
        Image.open(alpha_path).load()
        w, h = fg.size
        for p, composite in zip(bgs, outputs):
            bg = Image.open(p)
            bg.load()
            bw, bh = bg.size
            ratio = max(w / bw, h / bh)
            if ratio > 1:
                bg = bg.resize((math.ceil(bw * ratio), math.ceil(bh * ratio)), Image.BICUBIC)
            crop = np.asarray(bg.crop((0, 0, w, h)))
            encode_png(composite, level)
            if write_bg:
                encode_png(crop, level)
            n += 1
        seconds += time.perf_counter() - t0
        cpu += time.process_time() - c0
    return seconds / n, cpu / n


def ours(kind, adobe, bg_root, out: Path, n_bg: int, jobs: int, level: int) -> tuple[float, float]:
    """(wall, CPU) seconds per composite of a fresh build with ``jobs``."""
    shutil.rmtree(out, ignore_errors=True)
    t, c = time.perf_counter(), time.process_time()
    if kind == "train":
        r = build_train(adobe, bg_root, out, bgs_per_fg=n_bg, jobs=jobs, progress=False, compress_level=level)
    else:
        r = build_comp1k(adobe, bg_root, out, bgs_per_fg=n_bg, jobs=jobs, progress=False, compress_level=level)
    n = r["composites"]
    return (time.perf_counter() - t) / n, (time.process_time() - c) / n


def reference(script: Path, files, work: Path, count: int) -> float:
    """Seconds per megapixel of composite of Adobe's script, run unmodified on its own folder
    layout, once per foreground (``count`` composites each)."""
    text = script.read_text(encoding="utf-8", errors="replace")
    m = re.search(r"^num_bgs\s*=\s*(\d+)", text, re.M)
    num_bgs = int(m.group(1)) if m else 100
    times = []
    for fg_path, alpha_path, bgs in files:
        shutil.rmtree(work, ignore_errors=True)
        for d in ("fg", "mask", "bg", "merged"):
            (work / d).mkdir(parents=True)
        shutil.copyfile(fg_path, work / "fg" / fg_path.name)
        shutil.copyfile(alpha_path, work / "mask" / fg_path.name)
        for k in range(num_bgs):  # the script takes num_bgs backgrounds per foreground
            os.link(bgs[k % len(bgs)], work / "bg" / f"{k:04d}_{bgs[k % len(bgs)].name}")
        proc = subprocess.Popen([sys.executable, str(script.resolve())], cwd=work,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seen: dict[str, float] = {}
        try:
            while len(seen) < min(count, num_bgs) + 1 and proc.poll() is None:
                for p in os.listdir(work / "merged"):
                    seen.setdefault(p, time.perf_counter())
                time.sleep(0.02)
        finally:
            proc.kill()
            proc.wait()
        if proc.returncode not in (0, -9) and len(seen) < 2:
            raise SystemExit(f"{script}: failed: {proc.stderr.read().decode()[-500:]}")
        stamps = sorted(seen.values())  # a file appears when the script starts saving it
        w, h = Image.open(fg_path).size
        times.append((stamps[-1] - stamps[0]) / (len(stamps) - 1) / (w * h / 1e6))
    return float(np.mean(times))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bgs", type=int, default=20, help="backgrounds per foreground (Composition-1K: 20)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--level", type=int, default=DEFAULT_COMPRESS_LEVEL)
    ap.add_argument("--cases", default="comp1k,large-bg,train")
    ap.add_argument("--reference-script", type=Path, help="your copy of the release's Composition_code.py")
    ap.add_argument("--reference-composites", type=int, default=4)
    args = ap.parse_args()
    warnings.filterwarnings("ignore", message="the release ships")  # the training alphas are JPEG, as Adobe's
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; PNG level {args.level}; "
          f"{args.bgs} backgrounds per foreground")
    train_cpus = []
    with tempfile.TemporaryDirectory(prefix="matbench-build-bench-") as tmp:
        tmp = Path(tmp)
        for kind in args.cases.split(","):
            adobe, bg_root, files = make_release(tmp / kind, kind, args.bgs)
            write_bg = kind == "train"
            ours(kind, adobe, bg_root, tmp / "out", args.bgs, 1, args.level)  # warm the file cache
            walls, cpus, twos, floors, seconds = [], [], [], [], []
            for _ in range(args.repeat):
                floor_wall, floor_cpu = floor(files, tmp / "out", args.level, write_bg)
                floors.append(floor_wall)
                wall, cpu = ours(kind, adobe, bg_root, tmp / "out", args.bgs, 1, args.level)
                seconds.append(wall)
                walls.append(wall / floor_wall)
                cpus.append(cpu / floor_cpu)
                if kind == "train":
                    train_cpus.append(cpu)
                twos.append(ours(kind, adobe, bg_root, tmp / "out", args.bgs, 2, args.level)[0] / floors[-1])
            sizes = ", ".join(f"{Image.open(f).size[0]}x{Image.open(f).size[1]}" for f, _, _ in files)
            bgs = sorted({Image.open(b).size for _, _, bl in files for b in bl})
            print(f"\n[{kind}] fgs {sizes}; bgs {', '.join(f'{w}x{h}' for w, h in bgs)}; "
                  f"{len(files) * args.bgs} composites")
            print(f"  floor (decode + resize + encode{' composite and bg' if write_bg else ''}): "
                  f"{min(floors):.3f}-{max(floors):.3f} s/composite")
            print(f"  ours --jobs 1 / floor: {min(walls):.2f}-{max(walls):.2f}x wall, "
                  f"{min(cpus):.2f}-{max(cpus):.2f}x CPU   (goal <= 1.5x)")
            print(f"  ours --jobs 2 / floor (wall): {min(twos):.2f}-{max(twos):.2f}x")
            print(f"  ours --jobs 1: {min(seconds):.3f}-{max(seconds):.3f} s/composite")
            if args.reference_script:
                ref = reference(args.reference_script, files, tmp / "reference", args.reference_composites)
                mpx = np.mean([Image.open(f).size[0] * Image.open(f).size[1] for f, _, _ in files]) / 1e6
                ours_mpx = float(np.median(seconds)) / mpx
                print(f"  Adobe's script (unmodified, {args.reference_script.name}, {args.reference_composites} "
                      f"composites per fg): {ref:.3f} s/Mpx = {ref / ours_mpx:.1f}x ours --jobs 1 ({ours_mpx:.3f} s/Mpx)")
    if train_cpus:
        train_cpu = float(np.median(train_cpus))
        n = 431 * 100
        print(f"\nfull DIM training set ({n} composites), projected from {train_cpu:.3f} CPU s/composite "
              f"(train case): " + ", ".join(f"{cores} cores {n * train_cpu / cores / 60:.0f} min"
                                          for cores in (2, 16, 64)))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
