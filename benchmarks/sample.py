"""Cost of generating the sample release vs. the floor of only encoding its files.

Prints the generator's time (``make_sample_release``, default size, 5 backgrounds per
foreground), the time of just encoding the same files (PNG fg/alpha with Pillow, JPEG
backgrounds) from arrays already in memory, and their ratio; then the demo's stages.

    python benchmarks/sample.py [--demo]
"""
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def main():
    from matbench.datasets import sample

    import skimage.data  # noqa: F401  (import cost is not the generator's)

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        rel = sample.make_sample_release(Path(tmp) / "r")
        gen = time.perf_counter() - t0
        files = sorted(p for p in rel.root.rglob("*") if p.suffix in (".png", ".jpg"))
        arrays = [(p.suffix, np.asarray(Image.open(p))) for p in files]
    t0 = time.perf_counter()
    for suffix, a in arrays:
        buf = io.BytesIO()
        mode = "L" if a.ndim == 2 else ("RGBA" if a.shape[2] == 4 else "RGB")
        im = Image.fromarray(a, mode)
        if suffix == ".png":
            im.save(buf, format="PNG", compress_level=6)
        else:
            im.save(buf, format="JPEG", quality=90)
    floor = time.perf_counter() - t0
    print(f"sample release: {len(arrays)} files in {gen:.2f} s; encoding them alone {floor:.2f} s; "
          f"ratio {gen / floor:.1f}x")

    if "--demo" in sys.argv:
        from matbench.demo import demo

        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            res = demo(Path(tmp) / "demo", jobs=2, progress=False, echo=None)
            total = time.perf_counter() - t0
        print("demo stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in res["seconds"].items()))
        print(f"demo total {total:.1f} s; closed-form share {res['seconds']['closed-form'] / total:.0%}")


if __name__ == "__main__":
    main()
