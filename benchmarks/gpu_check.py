"""A short end-to-end check of the CUDA paths on a GPU machine: build the golden fake
release's training and test sets, train DIM stages 1–3 for a few iterations with
``--device cuda`` (fp32 with TF32 off, then AMP), validate on the test set, and predict with
``run dim``'s inference path from the written ``best.pth``. Prints what ran and the losses;
fails loudly if a CUDA path breaks. Needs only torch, numpy, OpenCV, Pillow, numba (no click,
pandas or tqdm: it calls the Python API).

    PYTHONPATH=. python benchmarks/gpu_check.py [--device cuda] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "data" / "golden" / "composition" / "input"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--out", help="working folder [default: a temporary one]")
    p.add_argument("--iterations", type=int, default=20)
    a = p.parse_args(argv)
    import numpy as np
    import torch

    from matbench.baselines import dim
    from matbench.build import build_comp1k, build_train
    from matbench.io import read_rgb8
    from matbench.mattes import read_matte
    from matbench.training.samples import Recipe
    from matbench.training.train import train_dim

    work = Path(a.out or tempfile.mkdtemp(prefix="matbench-gpu-check-"))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fake release's JPEG alphas
        build_train(GOLDEN / "adobe", GOLDEN / "coco", work / "train", bgs_per_fg=5, progress=False)
        build_comp1k(GOLDEN / "adobe", GOLDEN / "voc", work / "test", bgs_per_fg=4, trimaps="generate", progress=False)
    recipe = Recipe(crop_sizes=(64, 96, 128), out_size=64)
    report = {"device": torch.cuda.get_device_name(0) if a.device.startswith("cuda") else "cpu",
              "torch": torch.__version__, "runs": []}
    prev = None
    for stage in (1, 2, 3):
        for amp in (False, True):
            out = work / f"stage{stage}{'-amp' if amp else ''}"
            r = train_dim(stage, work / "train", out, iterations=a.iterations, batch_size=4, lr=1e-4,
                          init=prev, recipe=recipe, device=a.device, amp=amp, val=work / "test",
                          val_interval=a.iterations, checkpoint_interval=a.iterations, log_interval=5,
                          progress=False)
            best = out / "best.pth"
            model = dim.load_dim(best, stage, a.device)
            row = json.loads((out / "log.jsonl").read_text().splitlines()[-1])
            image = read_rgb8(work / "test" / "merged" / "test_fg_01_235456_0.png")
            trimap = read_matte(work / "test" / "trimaps" / "test_fg_01_235456_0.png")
            alpha = dim.alpha_to_uint8(dim.predict_alpha(model, image, trimap, device=a.device))
            report["runs"].append({"stage": stage, "amp": amp, "iteration": r["iteration"], "last_log": row,
                                   "best": r["best"], "alpha_mean": float(np.mean(alpha))})
            print(f"stage {stage} {'AMP ' if amp else 'fp32'}: {r['iteration']} iterations, last log {row}",
                  flush=True)
        prev = work / f"stage{stage}" / "best.pth"
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
