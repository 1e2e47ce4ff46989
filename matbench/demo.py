"""``matbench demo``: the whole job on the built-in sample benchmark, on a fresh machine.

Steps (each resumable; a rerun skips what is done):

1. generate the sample release (``matbench.datasets.sample``) in ``OUT/sample-release``
   unless a complete one with the same parameters is there;
2. build its Composition set (10 foregrounds × ``bgs_per_fg`` backgrounds, trimaps generated
   from the alphas) with :func:`matbench.build.build_comp1k` into ``OUT/dataset``;
3. run the baselines that need no weights (``trimap-mid``, ``closed-form``) with
   :func:`matbench.baselines.run_baseline` into ``OUT/predictions/<name>``;
4. score them (:func:`matbench.score`), rank them (:func:`matbench.leaderboard`, with the
   published Composition-1K rows appended and labelled as another dataset) and write
   ``OUT/per_image.{csv,json}``, ``OUT/leaderboard.{csv,md}``, ``OUT/leaderboard_by_class.csv``,
   ``OUT/comparison.{csv,json}`` (:mod:`matbench.compare`) and ``OUT/report.html`` (the report of
   ``matbench report OUT``: :func:`matbench.report.write_report` on the files just written).

``closed-form`` goes through PyMatting, whose first import compiles with numba (cached
afterwards).
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path

DEMO_BASELINES = ("trimap-mid", "closed-form")
DEMO_BGS_PER_FG = 5
PUBLISHED_NOTE = ("The published rows are Composition-1K results (1000 composites of the licensed Adobe "
                  "release, each paper's own evaluation): another dataset, shown for scale only; they are "
                  "not comparable with the numbers measured here on the generated sample.")


def demo(out="matbench-demo", *, jobs: int = 1, progress: bool = True, baselines=DEMO_BASELINES,
         bgs_per_fg: int = DEMO_BGS_PER_FG, size: int | None = None, echo=print) -> dict:
    """Run the sample benchmark end to end in ``out``; return the paths written and timings.

    ``jobs``: worker processes for building and scoring. ``baselines``: names accepted by
    :func:`matbench.baselines.run_baseline` that need no checkpoint. ``size``: sample
    foreground size in px (default ``matbench.datasets.sample.DEFAULT_SIZE``). ``echo``:
    where the leaderboard and progress lines go (``None`` for silence).
    """
    import matbench
    from matbench.baselines import run_baseline
    from matbench.build import build_comp1k
    from matbench.compare import compare, write_comparison
    from matbench.datasets import sample
    from matbench.errors import MatbenchError
    from matbench.leaderboard import format_leaderboard, write_leaderboard
    from matbench.report import write_report
    from matbench.scorefiles import write_per_image

    say = echo or (lambda *a, **k: None)
    size = sample.DEFAULT_SIZE if size is None else int(size)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise MatbenchError(f"{out}: exists and is not a folder")
    timings = {}
    t_start = t0 = time.perf_counter()

    release_dir = out / "sample-release"
    if sample.sample_is_complete(release_dir, size=size, bgs_per_fg=bgs_per_fg):
        release = sample.SampleRelease(release_dir, release_dir / "adobe", release_dir / "voc",
                                       release_dir / "adobe" / "Combined_Dataset" / "Test_set", bgs_per_fg)
    else:
        say(f"generating the sample release in {release_dir}")
        release = sample.make_sample_release(release_dir, size=size, bgs_per_fg=bgs_per_fg, progress=progress)
    timings["sample"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    dataset = out / "dataset"
    build_comp1k(release.adobe_root, release.voc_root, dataset, bgs_per_fg=bgs_per_fg, trimaps="official",
                 jobs=jobs, progress=progress)
    timings["build"] = time.perf_counter() - t0

    pred_dirs = {}
    for name in baselines:
        t0 = time.perf_counter()
        if name != "trimap-mid" and progress:
            say(f"{name}: first use compiles PyMatting with numba (cached afterwards)")
        pred_dirs[name] = out / "predictions" / name
        run_baseline(name, pred_dirs[name], dataset=dataset, jobs=jobs, progress=progress)
        timings[name] = time.perf_counter() - t0

    t0 = time.perf_counter()
    per_image = matbench.score({k: str(v) for k, v in pred_dirs.items()}, dataset=dataset, jobs=jobs,
                               progress=progress)
    with warnings.catch_warnings():  # the sample is not Composition-1K: PUBLISHED_NOTE says so below
        warnings.filterwarnings("ignore", message="--with-published comp1k: the measured rows are not comparable")
        board = matbench.leaderboard(per_image, with_published="comp1k")
    by_class = matbench.leaderboard(per_image, by="class", ci=False)
    write_per_image(per_image, out)
    written = write_leaderboard(board, out, ("csv", "md"))
    write_leaderboard(by_class, out, ("csv",), stem="leaderboard_by_class", title="Matting leaderboard by class")
    n_fg = per_image["fg"].nunique() if "fg" in per_image.columns else 0
    title = f"matbench sample benchmark ({n_fg} generated foregrounds × {bgs_per_fg} backgrounds)"
    write_comparison(compare(per_image), out)
    with warnings.catch_warnings():  # as above: PUBLISHED_NOTE says so in the report
        warnings.filterwarnings("ignore", message="--with-published comp1k: the measured rows are not comparable")
        report = write_report(out / "report.html", out, with_published="comp1k", published_label=PUBLISHED_NOTE,
                              title=title, notes="Generated with `matbench demo`: a synthetic release with exact "
                              "alpha mattes, composited by the Composition-1K recipe; trimaps generated from the alphas.")
    timings["score+report"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_start

    say("")
    say(format_leaderboard(board, "md", title=title).rstrip())
    say("")
    say(PUBLISHED_NOTE)
    say("")
    say(f"report: {report}")
    say(f"done in {timings['total']:.0f} s")
    return {"out": out, "release": release_dir, "dataset": dataset, "predictions": pred_dirs,
            "per_image": out / "per_image.csv", "leaderboard": written[0], "leaderboard_md": written[1],
            "leaderboard_by_class": out / "leaderboard_by_class.csv", "report": report, "seconds": timings}
