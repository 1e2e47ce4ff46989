"""Peak memory: of each classical baseline per megapixel, and of the pipelines as the work grows.

Every measurement runs in a fresh Python process and reads its peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, Linux: KiB).

``baselines`` (default): each method (``--methods``) predicts one synthetic composite of each
``--sizes`` (textured foreground disc with a soft edge over a textured background; trimap with
an unknown ring of ~15 % of the pixels, as Composition-1K's official trimaps) after a warm-up on
a 64×64 image (imports, numba). Printed: the peak RSS of the prediction above the process's RSS
before it, in GiB, and per megapixel of image (all pixels); the largest per-Mpx figure of the
sizes is what ``matbench run`` uses to refuse a run that would not fit
(``matbench.baselines.classical.PEAK_GIB_PER_MPX``).

``pipelines``: peak RSS of ``build_comp1k`` (``--jobs 1``) on 20 and 400 small composites
(320×240 fgs, 200×150 VOC-like JPEG bgs upscaled by the recipe), of ``score`` (``--jobs 1``)
on 20 and 400 images (320×240), and of reading and validating the real DIM training lists
(``--lists``: ``training_fg_names.txt`` and its 43,100-line ``training_bg_names.txt``) with
``load_split`` over a stand-in release (431 tiny foregrounds, 43,100 hard links to one tiny
COCO-named JPEG).

    python benchmarks/memory.py [baselines|pipelines] [--sizes 512x512,724x724] [--methods ...]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CLASSICAL = ("closed-form", "knn", "lkm", "random-walk", "shared")
HERE = Path(__file__).resolve()


def synthetic(w, h, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - h / 2, xx - w / 2)
    rad = min(h, w) * 0.3
    alpha = np.clip((rad - r) / (min(h, w) / 64) + 0.5, 0, 1)
    wave = np.sin(xx / 17.0)[..., None] * np.cos(yy / 23.0)[..., None]
    fg = np.clip(np.array([200, 80, 60]) + 40 * wave + rng.normal(0, 8, (h, w, 3)), 0, 255)
    bg = np.clip(np.array([40, 110, 190]) - 50 * wave + rng.normal(0, 8, (h, w, 3)), 0, 255)
    image = np.rint(alpha[..., None] * fg + (1 - alpha[..., None]) * bg).astype(np.uint8)
    trimap = np.full((h, w), 128, np.uint8)
    band = 0.06 * min(h, w)
    trimap[r > rad + band] = 0
    trimap[r < rad - band] = 255
    return image, trimap


def peak_kib() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child_baseline(method: str, w: int, h: int) -> dict:
    """In a fresh process: peak RSS of one prediction, above the RSS before it."""
    from matbench.baselines.classical import classical_predictor

    predict = classical_predictor(method)
    predict(*synthetic(64, 64, 1))  # imports, numba
    image, trimap = synthetic(w, h)
    with open("/proc/self/statm") as f:
        before = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    predict(image, trimap)
    return {"before_kib": before, "peak_kib": peak_kib(), "unknown": float((trimap == 128).mean())}


def child_pipeline(what: str, n: int, root: str) -> dict:
    """In a fresh process: peak RSS of one pipeline run of ``n`` items (see the module doc)."""
    import warnings

    warnings.simplefilter("ignore")
    root = Path(root)
    if what == "build":
        from matbench.build import build_comp1k

        build_comp1k(root / "adobe", root / "voc", root / f"out{n}", trimaps="generate", progress=False)
    elif what == "score":
        import matbench

        matbench.score([root / "pred"], alpha_dir=root / "alpha", trimap_dir=root / "trimap", progress=False)
    else:
        from matbench.datasets.adobe import load_split

        split = load_split(root / "adobe", "train", root / "coco")
        assert len(split.bg_paths) == n
    return {"peak_kib": peak_kib()}


def run_child(*args) -> dict:
    out = subprocess.run([sys.executable, str(HERE), "--child", json.dumps(args)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def baselines(args):
    print(f"{'method':<12} {'size':>9} {'Mpx':>5} {'unknown':>7} {'peak GiB':>9} {'GiB/Mpx':>8}")
    for method in args.methods.split(","):
        for size in args.sizes.split(","):
            w, h = map(int, size.split("x"))
            r = run_child("baseline", method, w, h)
            gib = (r["peak_kib"] - r["before_kib"]) / 2 ** 20
            mpx = w * h / 1e6
            print(f"{method:<12} {size:>9} {mpx:5.2f} {r['unknown']:7.1%} {gib:9.2f} {gib / mpx:8.2f}", flush=True)


def pipelines(args):
    import numpy as np
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="matbench-memory-") as tmp:
        tmp = Path(tmp)
        for n in (20, 400):
            root = tmp / f"build{n}"
            base = root / "adobe" / "Combined_Dataset" / "Test_set" / "Adobe-licensed images"
            for d in (base / "fg", base / "alpha", root / "voc"):
                d.mkdir(parents=True, exist_ok=True)
            image, trimap = synthetic(320, 240)
            alpha = np.where(trimap == 128, 128, trimap).astype(np.uint8)
            fgs, bgs = [], []
            for i in range(n // 20):
                Image.fromarray(image).save(base / "fg" / f"fg{i}.png")
                Image.fromarray(alpha).save(base / "alpha" / f"fg{i}.png")
                fgs.append(f"fg{i}.png")
                for k in range(20):
                    name = f"2008_{i:03d}{k:03d}.jpg"
                    Image.fromarray(image[:150, :200]).save(root / "voc" / name)
                    bgs.append(name)
            (base.parent / "test_fg_names.txt").write_text("\n".join(fgs))
            (base.parent / "test_bg_names.txt").write_text("\n".join(bgs))
            print(f"build-comp1k --jobs 1, {n} composites of 320x240: peak RSS "
                  f"{run_child('pipeline', 'build', n, str(root))['peak_kib'] / 1024:.0f} MiB", flush=True)
            for folder in ("alpha", "trimap", "pred"):
                (root / folder).mkdir()
            for j in range(n):
                Image.fromarray(alpha).save(root / "alpha" / f"i{j}.png")
                Image.fromarray(trimap).save(root / "trimap" / f"i{j}.png")
                Image.fromarray(np.roll(alpha, j % 7)).save(root / "pred" / f"i{j}.png")
            print(f"score --jobs 1, {n} images of 320x240: peak RSS "
                  f"{run_child('pipeline', 'score', n, str(root))['peak_kib'] / 1024:.0f} MiB", flush=True)
        lists = Path(args.lists)
        if (lists / "training_bg_names.txt").is_file():
            root = tmp / "lists"
            split = root / "adobe" / "Combined_Dataset" / "Training_set"
            base = split / "Adobe-licensed images"
            for d in (base / "fg", base / "alpha", root / "coco"):
                d.mkdir(parents=True, exist_ok=True)
            fgs = (lists / "training_fg_names.txt").read_text().split("\n")
            bgs = (lists / "training_bg_names.txt").read_text().split("\n")
            tiny = np.zeros((8, 8, 3), np.uint8)
            for name in fgs:
                Image.fromarray(tiny).save(base / "fg" / name, format="JPEG")
                Image.fromarray(tiny[..., 0]).save(base / "alpha" / name, format="JPEG")
            Image.fromarray(tiny).save(root / "one.jpg")
            for name in bgs:
                os.link(root / "one.jpg", root / "coco" / name)
            shutil_lists(lists, split)
            r = run_child("pipeline", "lists", len(bgs), str(root))
            print(f"load_split of the real training lists ({len(fgs)} fgs, {len(bgs)} bg names): peak RSS "
                  f"{r['peak_kib'] / 1024:.0f} MiB")
        else:
            print(f"{lists}: no training_bg_names.txt; the list measurement is skipped")


def shutil_lists(lists: Path, split: Path) -> None:
    import shutil

    for name in ("training_fg_names.txt", "training_bg_names.txt"):
        shutil.copyfile(lists / name, split / name)


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        kind, *rest = json.loads(sys.argv[2])
        print(json.dumps(child_baseline(*rest) if kind == "baseline" else child_pipeline(*rest)))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="?", default="baselines", choices=("baselines", "pipelines"))
    ap.add_argument("--methods", default=",".join(CLASSICAL))
    ap.add_argument("--sizes", default="512x512,724x724")
    ap.add_argument("--lists", default=str(Path(os.environ.get("MATBENCH_SHARED", HERE.parents[2] / "shared")) / "adobe-lists"))
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs; fresh process per measurement; peak RSS (ru_maxrss)")
    baselines(args) if args.what == "baselines" else pipelines(args)


if __name__ == "__main__":
    main()
