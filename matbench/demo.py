"""``matbench demo``: the whole job on the built-in sample benchmark, on a fresh machine.

Steps (each resumable; a rerun skips what is done):

1. generate the sample release (``matbench.datasets.sample``) in ``OUT/sample-release``
   unless a complete one with the same parameters is there;
2. build its test set (10 foregrounds × ``bgs_per_fg`` backgrounds, the release's official
   trimaps) with :func:`matbench.build.build_comp1k` into ``OUT/dataset``, and its training
   set (4 foregrounds × ``train_bgs_per_fg`` COCO-named backgrounds) with
   :func:`matbench.build.build_train` into ``OUT/dim-train``; backgrounds per foreground come
   from the release's lists, as they do for the real release;
3. run the baselines that need no weights (``trimap-mid``, ``closed-form``) with
   :func:`matbench.baselines.run_baseline` into ``OUT/predictions/<name>``;
4. score them (:func:`matbench.score`) and write what ``matbench score --by class
   --with-published comp1k --out OUT`` writes (:func:`matbench.scorefiles.write_score_outputs`:
   ``OUT/per_image.{csv,json}``, ``OUT/leaderboard.{csv,md}`` with the published Composition-1K
   rows appended and labelled as another dataset, ``OUT/leaderboard_by_class.{csv,md}``,
   ``OUT/classwise.*``, ``OUT/comparison.{csv,json,md}``), and ``OUT/report.html`` (the report of
   ``matbench report OUT``: :func:`matbench.report.write_report` on the files just written);
5. the SIM test set the same way (:func:`sim_demo`): the sample's SIMD-like split
   (``matbench.datasets.sample_sim``) built with :func:`matbench.build_sim.build_sim` into
   ``OUT/sim/dataset``, ``trimap-mid`` run on it, scored per class (the SIM paper's class order
   and per-class tables, :mod:`matbench.classwise`) into ``OUT/sim`` with its own report;
6. print the leaderboards and the ``matbench`` commands that do steps 2–5 by hand
   (:func:`by_hand_commands`).

``OUT`` defaults to ``matbench-demo-<user>`` in the system's temporary folder
(:func:`default_out`): outside any source tree, one per user on a shared machine.
``closed-form`` goes through PyMatting, whose first import compiles with numba (cached
afterwards).
"""
from __future__ import annotations

import shlex
import time
import warnings
from pathlib import Path

DEMO_BASELINES = ("trimap-mid", "closed-form")
DEMO_BGS_PER_FG = 5
PUBLISHED_NOTE = ("The published rows are Composition-1K results (1000 composites of the licensed Adobe "
                  "release, each paper's own evaluation): another dataset, shown for scale only; they are "
                  "not comparable with the numbers measured here on the generated sample.")


DEMO_MARKER = "matbench-demo.json"  # in OUT: the folder is a demo's, so a rerun may write there


def check_demo_out(out: Path) -> float | None:
    """Refuse (one line) an ``out`` that is a file, a folder inside a matbench-built dataset
    (:func:`matbench.io.check_not_in_dataset`), or a non-empty folder that is not a demo's
    (no :data:`DEMO_MARKER`, nor the ``sample-release`` folder of a demo from before the
    marker): the demo writes dozens of files and folders there, which would mix with the
    user's. Otherwise create the folder and write the marker. Returns when an existing demo
    folder was started (the marker's modification time, seconds since the epoch; the demo
    reuses its finished steps), None for a new or empty folder."""
    import json

    from matbench import __version__
    from matbench.errors import MatbenchError
    from matbench.io import LOCK_NAME, check_not_in_dataset, write_text_atomic

    if out.exists() and not out.is_dir():
        raise MatbenchError(f"{out}: exists and is not a folder; pass another --out")
    check_not_in_dataset(out)
    old = next((p for p in (out / DEMO_MARKER, out / "sample-release" / "sample.json") if p.is_file()), None)
    marked = old is not None
    if out.is_dir() and not marked and any(not p.name.startswith(LOCK_NAME) for p in out.iterdir()):
        raise MatbenchError(f"{out}: not empty and not a matbench demo folder (no {DEMO_MARKER}); pass a new or "
                            f"empty --out")
    if not (out / DEMO_MARKER).is_file():
        write_text_atomic(out / DEMO_MARKER, json.dumps(
            {"what": "a folder written by matbench demo (a rerun resumes here)", "matbench": __version__},
            indent=2) + "\n")
    return old.stat().st_mtime if old is not None else None


def default_out() -> Path:
    """``<system temporary folder>/matbench-demo-<user name>``."""
    import getpass
    import tempfile

    try:
        user = getpass.getuser()
    except (OSError, KeyError, ImportError):  # no user name (some containers)
        user = "user"
    return Path(tempfile.gettempdir()) / f"matbench-demo-{user}"


def by_hand_commands(out, release, baselines=DEMO_BASELINES, *, jobs: int = 1) -> list[str]:
    """The ``matbench`` command lines that build, predict and score as :func:`demo` does, with
    its paths (shell-quoted): ``OUT/dataset``, ``OUT/dim-train``, ``OUT/predictions/<name>``,
    then ``OUT/per_image.csv`` and ``OUT/leaderboard.{csv,md}``."""
    out = Path(out)
    q = lambda p: shlex.quote(str(p))  # noqa: E731
    j = f" --jobs {jobs}"
    preds = [out / "predictions" / name for name in baselines]
    return [
        f"matbench build-comp1k --adobe-root {q(release.adobe_root)} --voc-root {q(release.voc_root)} "
        f"--out {q(out / 'dataset')}{j}",
        f"matbench build-train --adobe-root {q(release.adobe_root)} --coco-root {q(release.coco_root)} "
        f"--out {q(out / 'dim-train')}{j}",
        *(f"matbench run {name} --dataset {q(out / 'dataset')} --out {q(p)}{j}" for name, p in zip(baselines, preds)),
        f"matbench score {' '.join(q(p) for p in preds)} --dataset {q(out / 'dataset')} --by class "
        f"--with-published comp1k --out {q(out)} --format md{j}",
        f"matbench report {q(out)} --with-published comp1k --out {q(out / 'report.html')}",
    ]


def sim_by_hand_commands(out, sim, *, jobs: int = 1) -> list[str]:
    """The ``matbench`` command lines of :func:`sim_demo` (paths under ``OUT/sim``)."""
    q = lambda p: shlex.quote(str(p))  # noqa: E731
    d, preds = Path(out) / "sim" / "dataset", Path(out) / "sim" / "predictions" / "trimap-mid"
    return [
        f"matbench build-sim --simd-root {q(sim.simd_root)} --voc-root {q(sim.voc_root)} "
        f"--file-list {q(sim.file_list)} --out {q(d)} --jobs {jobs}",
        f"matbench run trimap-mid --dataset {q(d)} --out {q(preds)} --jobs {jobs}",
        f"matbench score {q(preds)} --dataset {q(d)} --by class --out {q(Path(out) / 'sim')} --format md,latex",
        f"matbench report {q(Path(out) / 'sim')} --out {q(Path(out) / 'sim' / 'report.html')}",
    ]


def sim_demo(out, *, jobs: int = 1, progress: bool = True) -> dict:
    """The SIM path on the sample's SIMD-like split, in ``OUT/sim``: generate the split
    (``OUT/sample-sim``), build it as the SIM authors' script does, run ``trimap-mid``, score it
    per class and write the class-wise tables and the report. Returns the paths, the per-class
    table (:func:`matbench.classwise.class_means`) and the by-hand commands."""
    import matbench
    from matbench.baselines import run_baseline
    from matbench.build_sim import build_sim
    from matbench.datasets.sample_sim import make_sample_sim
    from matbench.report import write_report
    from matbench.scorefiles import score_tables, write_score_outputs

    out = Path(out)
    sim = make_sample_sim(out / "sample-sim")
    dataset, preds = out / "sim" / "dataset", out / "sim" / "predictions" / "trimap-mid"
    build_sim(sim.simd_root, sim.voc_root, sim.file_list, dataset, jobs=jobs, progress=progress)
    run_baseline("trimap-mid", preds, dataset=dataset, jobs=jobs, progress=progress)
    per_image = matbench.score({"trimap-mid": str(preds)}, dataset=dataset, jobs=jobs, progress=progress)
    tables = score_tables(per_image, by="class")  # = score --by class --out OUT/sim --format md,latex
    write_score_outputs(per_image, out / "sim", formats=("md", "latex"), tables=tables)
    report = write_report(out / "sim" / "report.html", out / "sim", title="matbench sample SIM test set",
                          notes="Generated with `matbench demo`: a SIMD-like split built exactly as the SIM "
                                "authors' generation script does (OpenCV, bilinear size normalisation, EXIF "
                                "orientation applied, trimaps by a 3×3 ellipse × 5).")
    return {"dataset": dataset, "per_image": out / "sim" / "per_image.csv", "classes": tables["classwise"],
            "report": report,
            "commands": sim_by_hand_commands(out, sim, jobs=jobs)}


def demo(out=None, *, jobs: int = 1, progress: bool = True, baselines=DEMO_BASELINES,
         bgs_per_fg: int = DEMO_BGS_PER_FG, size: int | None = None, train_bgs_per_fg: int | None = None,
         echo=print) -> dict:
    """Run the sample benchmark end to end in ``out`` (default :func:`default_out`); return the
    paths written, the by-hand commands and timings (seconds per step).

    ``jobs``: worker processes for building, the baselines and scoring. ``baselines``: names
    accepted by :func:`matbench.baselines.run_baseline` that need no checkpoint. ``size``,
    ``bgs_per_fg``, ``train_bgs_per_fg``: the sample release's parameters (defaults
    ``matbench.datasets.sample.DEFAULT_SIZE``, 5, ``DEFAULT_TRAIN_BGS_PER_FG``). ``echo``: where
    the leaderboard, the commands and progress lines go (``None`` for silence). Raises
    MatbenchError when ``out`` is a file, or a non-empty folder that is not a demo's
    (:func:`check_demo_out`).
    """
    import matbench
    from matbench.baselines import run_baseline
    from matbench.build import build_comp1k, build_train
    from matbench.classwise import format_classwise
    from matbench.datasets import sample
    from matbench.io import out_lock
    from matbench.leaderboard import format_leaderboard
    from matbench.report import write_report
    from matbench.scorefiles import score_tables, write_score_outputs

    say = echo or (lambda *a, **k: None)
    params = {"size": sample.DEFAULT_SIZE if size is None else int(size), "bgs_per_fg": int(bgs_per_fg),
              "train_bgs_per_fg": sample.DEFAULT_TRAIN_BGS_PER_FG if train_bgs_per_fg is None
              else int(train_bgs_per_fg)}
    out = default_out() if out is None else Path(out)
    started = check_demo_out(out)
    with out_lock(out):  # one matbench command writes into out at a time
        say(f"matbench demo: working in {out}")
        if started is not None:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(started))
            say(f"matbench demo: reusing the existing demo folder {out} (started {when}): its finished steps are kept; "
                f"delete it or pass --out NEW_FOLDER to start fresh")
        timings = {}
        t_start = t0 = time.perf_counter()

        release_dir = out / "sample-release"
        if sample.sample_is_complete(release_dir, **params):
            release = sample.read_sample_release(release_dir)
        else:
            say(f"generating the sample release in {release_dir}")
            release = sample.make_sample_release(release_dir, progress=progress, **params)
        timings["sample"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        dataset = out / "dataset"
        build_comp1k(release.adobe_root, release.voc_root, dataset, jobs=jobs, progress=progress)
        timings["build"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        train = out / "dim-train"
        trained = build_train(release.adobe_root, release.coco_root, train, jobs=jobs, progress=progress)
        timings["build-train"] = time.perf_counter() - t0

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
            tables = score_tables(per_image, by="class", with_published="comp1k")  # = the printed score command
        write_score_outputs(per_image, out, formats=("md",), tables=tables)
        board = tables["leaderboards"][0][2]
        n_fg = per_image["fg"].nunique() if "fg" in per_image.columns else 0
        title = f"matbench sample benchmark ({n_fg} generated foregrounds × {release.bgs_per_fg} backgrounds)"
        with warnings.catch_warnings():  # as above: PUBLISHED_NOTE says so in the report
            warnings.filterwarnings("ignore", message="--with-published comp1k: the measured rows are not comparable")
            report = write_report(out / "report.html", out, with_published="comp1k", published_label=PUBLISHED_NOTE,
                                  title=title, notes="Generated with `matbench demo`: a synthetic release with exact "
                                  "alpha mattes, composited by the Composition-1K recipe; the release's official "
                                  "trimaps (erode/dilate of the alphas, kernel 25).")
        timings["score+report"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        sim = sim_demo(out, jobs=jobs, progress=progress)
        timings["sim"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - t_start

        commands = by_hand_commands(out, release, baselines, jobs=jobs)
        say("")
        say(format_leaderboard(board, "md", title=title).rstrip())
        say("")
        say(PUBLISHED_NOTE)
        say("")
        say(f"training set: {trained['composites']} composites in {train}")
        say(f"report: {report}")
        say("")
        say(format_classwise(sim["classes"], "md", title="SIM test set (sample split), per class").rstrip())
        say(f"SIM report: {sim['report']}")
        say(f"done in {timings['total']:.0f} s")
        say("")
        say("The same by hand (copy-paste; a rerun skips finished files, so delete a folder to rebuild it):")
        for line in commands + sim["commands"]:
            say(f"  {line}")
        return {"out": out, "release": release_dir, "dataset": dataset, "train": train, "predictions": pred_dirs,
                "per_image": out / "per_image.csv", "leaderboard": out / "leaderboard.csv",
                "leaderboard_md": out / "leaderboard.md",
                "leaderboard_by_class": out / "leaderboard_by_class.csv", "report": report, "commands": commands,
                "sim": sim, "seconds": timings}
