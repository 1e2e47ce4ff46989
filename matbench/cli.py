"""The ``matbench`` command: a thin layer over the Python API.

Each command parses its options, calls one API function and prints the result. Heavy
modules (torch, pymatting, pandas) are imported inside the commands so that
``matbench --help`` and ``matbench score`` start fast. A ``MatbenchError`` is printed as
one line ``matbench: error: ...`` with exit status 2, without a traceback; so is a usage error
(``... (see matbench <command> --help)``), in :func:`main`.
"""
from __future__ import annotations

import sys

import click

from matbench.baselines.runner import BASELINES  # a tuple of names; torch/pymatting load only when run
from matbench.errors import MatbenchError


# Options several commands share, defined once.
def jobs_option(help_text="Worker processes."):
    return click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(min=1), help=help_text)


quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
adobe_root_option = click.option("--adobe-root", required=True, type=click.Path(file_okay=False),
                                 help="The release's Combined_Dataset folder or its parent.")
dataset_out_option = click.option("--out", required=True, type=click.Path(file_okay=False),
                                  help="Output dataset folder.")
matte_channel_option = click.option(
    "--matte-channel", type=click.Choice(["red", "alpha"]), default=None,
    help="Read colour matte files that are otherwise refused as ambiguous: red = channel 1 (what the MATLAB "
         "driver reads), alpha = the alpha channel (RGBA cut-outs). Recorded in the outputs. See README, Strictness.")
baseline_option = click.option("--baseline", metavar="NAME",
                               help="Paired comparison of each model against NAME [default: every pair].")
scheduler_option = click.option(
    "--scheduler", metavar="ADDRESS", envvar="MATBENCH_SCHEDULER", show_envvar=True,
    help="Run the work on the dask.distributed cluster whose scheduler is at ADDRESS (e.g. tcp://host:8786) "
         "instead of local processes (--jobs is then ignored). Workers must see the same paths. README: "
         "Running on a cluster.")
compress_level_option = click.option("--compress-level", default=1, show_default=True, type=click.IntRange(0, 9),
                                     help="PNG zlib level (pixels are the same for any level).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="matbench")
def cli():
    """Build the standard matting datasets exactly, score models as the MATLAB reference does."""


# --- dataset building: build-comp1k, build-train, build-sim (issue 16), trimap, verify (issue 4) ---

def _composites(r) -> str:
    return f"{r['composites']} composites ({r['foregrounds']} foregrounds × {r['bgs_per_fg']} backgrounds)"


def _resumed(r) -> str:
    """What a build wrote now vs kept from an earlier (interrupted or finished) run."""
    if not r.get("reused"):
        return f"; all {r['written']} written" if "written" in r else ""
    if not r["written"]:
        return f"; nothing left to do: all {r['reused']} kept from an earlier run"
    return f"; {r['written']} written, {r['reused']} kept from an earlier run"


@cli.command("build-comp1k")
@adobe_root_option
@click.option("--voc-root", required=True, type=click.Path(file_okay=False),
              help="Folder of the VOC 2012 JPEGs (or JPEGImages/VOC2012/VOCdevkit above it).")
@dataset_out_option
@click.option("--bgs-per-fg", type=click.IntRange(min=1), metavar="N",
              help="Backgrounds per foreground [default: from the release's lists, len(test_bg_names.txt) / "
                   "len(test_fg_names.txt): 20 for Composition-1K].")
@click.option("--trimaps", type=click.Choice(["official", "generate"]), default="official", show_default=True,
              help="official: the release's trimaps/ (an error when it has none); generate: from the alphas.")
@click.option("--trimap-kernel", type=int, default=None, help="Kernel of generated trimaps [default: 25].")
@click.option("--write-bg/--no-write-bg", default=False, show_default=True,
              help="Also write each composite's resized and cropped background.")
@jobs_option("Parallel workers (by foreground).")
@scheduler_option
@compress_level_option
@matte_channel_option
@quiet_option
def build_comp1k_cmd(adobe_root, voc_root, out, bgs_per_fg, trimaps, trimap_kernel, write_bg, jobs, scheduler,
                     compress_level, matte_channel, quiet):
    """Build Composition-1K, pixel-identical to Adobe's composition script."""
    from matbench.build import build_comp1k

    r = build_comp1k(adobe_root, voc_root, out, bgs_per_fg=bgs_per_fg, trimaps=trimaps, jobs=jobs,
                     progress=not quiet, write_bg=write_bg, trimap_kernel=trimap_kernel,
                     compress_level=compress_level, matte_channel=matte_channel, scheduler=scheduler)
    click.echo(f"{_composites(r)} in {r['out']} ({r['seconds']:.1f} s; trimaps: {r['trimaps']}{_resumed(r)})")


@cli.command("build-train")
@adobe_root_option
@click.option("--coco-root", required=True, type=click.Path(file_okay=False),
              help="Folder of the COCO train2014 (or train2017) images.")
@dataset_out_option
@click.option("--bgs-per-fg", type=click.IntRange(min=1), metavar="N",
              help="Backgrounds per foreground [default: from the release's lists, len(training_bg_names.txt) / "
                   "len(training_fg_names.txt): 100 for the DIM training set].")
@click.option("--write-bg/--no-write-bg", default=True, show_default=True,
              help="Write each composite's resized and cropped background (for the compositional loss).")
@jobs_option("Parallel workers (by foreground).")
@scheduler_option
@compress_level_option
@matte_channel_option
@quiet_option
def build_train_cmd(adobe_root, coco_root, out, bgs_per_fg, write_bg, jobs, scheduler, compress_level, matte_channel,
                    quiet):
    """Build the Deep Image Matting training set, pixel-identical to Adobe's script."""
    from matbench.build import build_train

    r = build_train(adobe_root, coco_root, out, bgs_per_fg=bgs_per_fg, jobs=jobs, write_bg=write_bg,
                    progress=not quiet, compress_level=compress_level, matte_channel=matte_channel,
                    scheduler=scheduler)
    click.echo(f"{_composites(r)} in {r['out']} ({r['seconds']:.1f} s{_resumed(r)})")


@cli.command("build-sim")
@click.option("--simd-root", required=True, type=click.Path(file_okay=False),
              help="The SIMD folder holding <class>/fg and <class>/alpha.")
@click.option("--voc-root", required=True, type=click.Path(file_okay=False),
              help="Folder of the VOC 2012 JPEGs (or JPEGImages/VOC2012/VOCdevkit above it).")
@click.option("--file-list", required=True, type=click.Path(dir_okay=False),
              help="The authors' SIMD_composition_test_filelist.txt (class:fg:bg per line).")
@dataset_out_option
@click.option("--matte-channel", type=click.Choice(["luma"]),
              help="Accept alphas whose colour channels differ, read as the script does (OpenCV gray).")
@jobs_option("Parallel workers (by foreground).")
@scheduler_option
@compress_level_option
@quiet_option
def build_sim_cmd(simd_root, voc_root, file_list, out, matte_channel, jobs, scheduler, compress_level, quiet):
    """Build the SIM test set (SIMD), pixel-identical to the authors' generation script."""
    from matbench.build_sim import build_sim

    r = build_sim(simd_root, voc_root, file_list, out, jobs=jobs, progress=not quiet, matte_channel=matte_channel,
                  compress_level=compress_level, scheduler=scheduler)
    click.echo(f"{r['composites']} composites of {r['classes']} classes in {r['out']} "
               f"({r['seconds']:.1f} s{_resumed(r)})")


@cli.command("trimap")
@click.argument("alpha_dir", required=False, type=click.Path(file_okay=False))
@click.argument("out_dir", required=False, type=click.Path(file_okay=False))
@click.option("--dataset", type=click.Path(file_okay=False),
              help="A dataset built by matbench: one trimap per composite, named like it (<image>.png).")
@click.option("--out", "out_opt", type=click.Path(file_okay=False), help="Output folder (with --dataset).")
@click.option("--method", type=click.Choice(["erode-dilate", "random", "distance"]), default="erode-dilate",
              show_default=True)
@click.option("--width", default=None,
              help="Band half-width in px or small/medium/large (5/12/20); erode-dilate uses a 2w+1 kernel. "
                   "Several (5,12,20): one subfolder w<px> each. [default: erode-dilate --kernel 25, "
                   "distance medium]")
@click.option("--kernel", type=click.IntRange(min=1), default=None,
              help="erode-dilate kernel size in px (not with --width). [default: 25]")
@click.option("--seed", type=int, default=None, help="Seed of the random method (with the name). [default: 0]")
@jobs_option("Worker processes (with --dataset, by foreground).")
@matte_channel_option
@quiet_option
def trimap_cmd(alpha_dir, out_dir, dataset, out_opt, method, width, kernel, seed, jobs, matte_channel, quiet):
    """Generate trimaps (values 0/128/255): for every alpha in ALPHA_DIR into OUT_DIR, or for
    every composite of --dataset into --out (e.g. --width 5,12,20 for a trimap-width sweep)."""
    from matbench.trimap import write_trimaps

    if dataset is not None and (alpha_dir is not None or out_dir is not None):
        raise MatbenchError("give either ALPHA_DIR OUT_DIR or --dataset DIR --out DIR, not both")
    if dataset is None and (alpha_dir is None or out_dir is None or out_opt is not None):
        raise MatbenchError("give ALPHA_DIR OUT_DIR, or --dataset DIR --out DIR")
    if dataset is not None and out_opt is None:
        raise MatbenchError("--dataset needs --out DIR")
    written = write_trimaps(out_opt or out_dir, method, dataset=dataset, alpha_dir=alpha_dir, width=width,
                            kernel=kernel, seed=seed, jobs=jobs, matte_channel=matte_channel, progress=not quiet)
    channel = f" (alphas read with --matte-channel {matte_channel})" if matte_channel else ""
    for folder, n in written.items():
        click.echo(f"{n} trimaps written to {folder}{channel}")


@cli.command("verify")
@click.argument("dataset", type=click.Path(file_okay=False))
@jobs_option()
@scheduler_option
@quiet_option
def verify_cmd(dataset, jobs, scheduler, quiet):
    """Recompute the pixel hashes of every file of a built dataset; exit 1 if files are missing or changed."""
    from matbench.build import verify

    r = verify(dataset, jobs=jobs, progress=not quiet, scheduler=scheduler)
    for p in r["missing"]:
        click.echo(f"missing: {p}")
    for p in r["changed"]:
        click.echo(f"changed: {p}")
    click.echo(f"{r['files']} files of {r['checked']} composites checked: {len(r['missing'])} missing, "
               f"{len(r['changed'])} changed")
    if not r["ok"]:
        click.echo(r["repair"])
        sys.exit(1)


# --- scoring: score (issue 3) ---

def _formats(values) -> list[str]:
    out = []
    for v in values:
        out += [f.strip() for f in v.split(",") if f.strip()]
    return out or ["md"]


@cli.command("score")
@click.argument("pred_dirs", nargs=-1, required=True)
@click.option("--dataset", type=click.Path(file_okay=False), help="Dataset folder built by matbench (manifest.csv).")
@click.option("--alpha-dir", type=click.Path(file_okay=False), help="Folder of ground-truth alphas (matched by stem).")
@click.option("--trimap-dir", type=click.Path(file_okay=False),
              help="Folder of trimaps: the reference image set; with --dataset, used instead of the dataset's "
                   "trimaps (<image>.png, e.g. from matbench trimap --dataset).")
@click.option("--out", type=click.Path(file_okay=False),
              help="Write per_image.csv/.json, leaderboard.csv (and leaderboard_by_<group>.csv) and the formats here.")
@click.option("--format", "formats", multiple=True, metavar="md|csv|latex|html|json",
              help="Leaderboard format (repeatable or comma list) [default: md]. Without --out: the one format "
                   "printed; with --out: the files written (the terminal shows Markdown).")
@jobs_option()
@scheduler_option
@click.option("--mask-known", is_flag=True, help="Set predictions to 0/255 where the trimap is 0/255 before scoring.")
@click.option("--allow-missing", is_flag=True,
              help="Score the images that have predictions; means and ranks over the images all models have.")
@click.option("--by", type=click.Choice(["fg", "bg", "class"]),
              help="Also a leaderboard per group, ranked within each group (needs --dataset); class adds the SIM "
                   "paper's per-class tables (classwise.*).")
@click.option("--with-published", metavar="comp1k|sim|CSV", help="Append published results (marked, never ranked).")
@click.option("--units", type=click.Choice(["paper", "raw"]), default="paper", show_default=True,
              help="paper: MSE x1e3 as Composition-1K tables; raw: MSE unscaled. SAD/Grad/Conn are sums / 1000.")
@matte_channel_option
@baseline_option
@quiet_option
def score_cmd(pred_dirs, dataset, alpha_dir, trimap_dir, out, formats, jobs, scheduler, mask_known, allow_missing,
              by, with_published, units, matte_channel, baseline, quiet):
    """Score prediction folders (one model each; NAME=PATH renames) with the DIM MATLAB metrics."""
    from matbench.compare import format_comparison
    from matbench.leaderboard import FORMATS, format_leaderboard
    from matbench.score import parse_pred_dirs, score
    from matbench.scorefiles import check_score_out, score_tables, write_score_outputs

    fmts = list(dict.fromkeys(_formats(formats)))
    bad = [f for f in fmts if f not in FORMATS]
    if bad:
        raise MatbenchError(f"--format {bad[0]}: expected md, csv, latex, html or json")
    if not out and len(fmts) > 1:
        raise MatbenchError(f"--format {','.join(fmts)}: several formats need --out DIR (the terminal shows one)")
    if not out and by and fmts[0] in ("csv", "json"):
        raise MatbenchError(f"--format {fmts[0]} --by {by}: two tables (overall and by {by}) need --out DIR")
    if by and not dataset:
        raise MatbenchError(f"--by {by} needs --dataset DIR (the groups come from its manifest)" if alpha_dir is None
                            else f"--by {by}: --alpha-dir/--trimap-dir folders carry no {by} (it comes from a "
                                 f"dataset's manifest): score with --dataset DIR instead, or drop --by")
    names = [name for name, _ in parse_pred_dirs(list(pred_dirs))]
    if baseline is not None and baseline not in names:
        raise MatbenchError(f"--baseline {baseline}: not one of the models ({', '.join(names)})")

    if out:  # before scoring: an --out inside an input folder is refused at once
        check_score_out(out, pred_dirs=list(pred_dirs), dataset=dataset, alpha_dir=alpha_dir, trimap_dir=trimap_dir)
    df = score(list(pred_dirs), dataset=dataset, alpha_dir=alpha_dir, trimap_dir=trimap_dir, jobs=jobs,
               mask_known=mask_known, allow_missing=allow_missing, matte_channel=matte_channel, progress=not quiet,
               scheduler=scheduler)
    tables = score_tables(df, units=units, by=by, with_published=with_published, baseline=baseline)
    shown = "md" if out else fmts[0]
    click.echo("\n".join(format_leaderboard(lb, shown, title=title) for _, title, lb in tables["leaderboards"]),
               nl=False)
    if tables["classwise"] is not None:  # --by class: the paper's per-class tables (matbench.classwise)
        from matbench.classwise import format_classwise

        click.echo("\n" + format_classwise(tables["classwise"], "md" if shown in ("md", "html") else shown), nl=False)
    if tables["comparison"] is not None and shown == "md":
        click.echo("\n" + format_comparison(tables["comparison"], "md"), nl=False)
    if out:
        paths = write_score_outputs(df, out, formats=fmts, tables=tables)
        click.echo("wrote " + ", ".join(str(p) for p in paths))


@cli.command("report")
@click.argument("scores", nargs=-1, required=True)
@click.option("--out", required=True, type=click.Path(),
              help="The HTML file to write (report.html); an existing folder: FOLDER/report.html. Never inside a "
                   "prediction folder or the dataset.")
@click.option("--dataset", type=click.Path(file_okay=False),
              help="Dataset folder for the gallery [default: the one the scores record].")
@click.option("--predictions", multiple=True, metavar="MODEL=DIR",
              help="Prediction folder of a model for the gallery (repeatable) [default: those the scores record].")
@baseline_option
@click.option("--with-published", metavar="comp1k|sim|CSV", help="Show published results apart (never ranked).")
@click.option("--units", type=click.Choice(["paper", "raw"]), default="paper", show_default=True,
              help="paper: MSE x1e3 as Composition-1K tables; raw: MSE unscaled. SAD/Grad/Conn are sums / 1000.")
@click.option("--worst", default=3, show_default=True, type=click.IntRange(min=0),
              help="Gallery images per model (0: no gallery).")
@click.option("--title", help="Page title [default: the models' names].")
@click.option("--matte-channel", type=click.Choice(["red", "alpha"]), default=None,
              help="Channel of colour matte files for the gallery [default: the one the scores record, as "
                   "scored].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (report draws none; accepted as by score, run, "
                                                  "trimap). Warnings and the report's path are still printed.")
def report_cmd(scores, out, dataset, predictions, baseline, with_published, units, worst, title, matte_channel,
               quiet):
    """Write a self-contained HTML report of SCORES (a `score --out` folder or its per_image.csv).

    Several SCORES add a trimap-width sweep (each metric against the width, every model; the
    first is reported in full): one dataset scored with a different trimap set each (--trimap-dir
    from `matbench trimap`; WIDTH=PATH only for trimaps without its trimaps.json). To compare
    models, score their prediction folders in one `matbench score` call and report that folder.
    """
    from matbench.report import write_report
    from matbench.score import split_label

    points = [split_label(s, "LABEL") for s in scores]
    folders = dict(split_label(p, "MODEL") for p in predictions)
    if None in folders:
        raise MatbenchError(f"--predictions {folders[None]}: expected MODEL=DIR")
    path = write_report(out, points[0][1], dataset=dataset, predictions=folders,
                        units=units, with_published=with_published, baseline=baseline,
                        sweep=points if len(points) > 1 else None, title=title, worst=worst,
                        matte_channel=matte_channel)
    click.echo(f"report: {path}")


# --- baselines: run (issue 6) ---

@cli.command("run")
@click.argument("name", type=click.Choice(BASELINES))
@click.option("--dataset", type=click.Path(file_okay=False), help="Dataset folder built by matbench (manifest.csv).")
@click.option("--images", type=click.Path(file_okay=False), help="Folder of images (paired with trimaps by name).")
@click.option("--trimaps", type=click.Path(file_okay=False),
              help="Folder of trimaps named like the images; with --dataset, used instead of the dataset's "
                   "(<image>.png, e.g. from matbench trimap --dataset).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for <image>.png predictions and run.json.")
@click.option("--checkpoint", type=click.Path(dir_okay=False), help="dim: mmediting/mmagic DIM checkpoint (.pth).")
@click.option("--stage", type=click.IntRange(1, 3), help="dim: 1 = encoder-decoder, 2/3 = with refiner (default: from the checkpoint).")
@click.option("--device", default="cpu", show_default=True, help="dim: cpu or cuda[:N].")
@click.option("--max-side", type=click.IntRange(32),
              help="dim and the classical methods: predict images whose longer side exceeds N on a downscaled copy, "
                   "upscale the alpha back (approximate; less memory and time).")
@click.option("--tile", type=click.IntRange(64), help="dim: predict in overlapping N×N windows (approximate; for huge images).")
@click.option("--fast/--no-fast", default=True, show_default=True,
              help="dim on CPU: oneDNN convolutions (PyTorch's default), or --no-fast for PyTorch's own im2col + GEMM "
                   "path (slower). Both keep the DIM guarantee (README, Running baselines); recorded as conv_path.")
@click.option("--threads", type=click.IntRange(1),
              help="dim: torch CPU threads (recorded; resuming needs the same count).")
@jobs_option("Worker processes (classical methods and trimap-mid).")
@scheduler_option
@matte_channel_option
@quiet_option
def run_command(name, dataset, images, trimaps, out, checkpoint, stage, device, max_side, tile, fast, threads, jobs,
                scheduler, matte_channel, quiet):
    """Predict alpha mattes with baseline NAME; resume skips predictions already in --out."""
    from matbench.baselines import run_baseline

    run_json = run_baseline(name, out, dataset=dataset, images=images, trimaps=trimaps, checkpoint=checkpoint,
                            stage=stage, device=device, max_side=max_side, tile=tile, fast=fast, threads=threads,
                            jobs=jobs, matte_channel=matte_channel, progress=not quiet, scheduler=scheduler)
    click.echo(f"{name}: predictions in {out} ({run_json.name} written)")


# --- training: build-train-samples, train dim (issue 13) ---

def _int_list(ctx, param, value):
    if value is None:
        return None
    try:
        sizes = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected comma-separated integers, e.g. 320,480,640") from None
    if not sizes:
        raise click.BadParameter("expected at least one size")
    return sizes


def _int_range(ctx, param, value):
    if value is None:
        return None
    lo, sep, hi = value.partition("-")
    try:
        return int(lo), int(hi if sep else lo)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected MIN-MAX (inclusive), e.g. 1-29") from None


def recipe_options(f):
    """The sample recipe's options (defaults: the published DIM recipe, docs/specs/training.md)."""
    for opt in reversed([
        click.option("--crop-sizes", default="320,480,640", show_default=True, callback=_int_list,
                     help="Crop sizes drawn uniformly (px)."),
        click.option("--size", "out_size", default=320, show_default=True, type=click.IntRange(32),
                     help="Sample side after the resize (px, a multiple of 32)."),
        click.option("--trimap-kernels", default="1-29", show_default=True, callback=_int_range,
                     help="Elliptical erosion/dilation kernel sizes, drawn independently (inclusive, px)."),
        click.option("--trimap-iterations", default="1-1", show_default=True, callback=_int_range,
                     help="Erosion/dilation iteration counts (inclusive; SIM's recipe: 5-15 with kernels 2-9)."),
    ]):
        f = opt(f)
    return f


def _recipe(crop_sizes, out_size, trimap_kernels, trimap_iterations, online_merge=False):
    from matbench.training.samples import Recipe

    return Recipe(crop_sizes, out_size, trimap_kernels, trimap_iterations, online_merge)


@cli.command("build-train-samples")
@click.argument("dataset", type=click.Path(file_okay=False))
@dataset_out_option
@click.option("--per-composite", default=1, show_default=True, type=click.IntRange(1),
              help="Samples per composite (sample j = epoch j of the on-the-fly recipe).")
@click.option("--seed", default=0, show_default=True, type=int)
@recipe_options
@jobs_option("Parallel workers (by foreground).")
@scheduler_option
@compress_level_option
@quiet_option
def build_train_samples_cmd(dataset, out, per_composite, seed, crop_sizes, out_size, trimap_kernels,
                            trimap_iterations, jobs, scheduler, compress_level, quiet):
    """Write a fixed set of DIM training samples (PNGs, manifest with pixel hashes) from a
    built training set; resumable."""
    from matbench.training.materialise import build_train_samples

    r = build_train_samples(dataset, out, per_composite=per_composite, seed=seed,
                            recipe=_recipe(crop_sizes, out_size, trimap_kernels, trimap_iterations), jobs=jobs,
                            scheduler=scheduler, progress=not quiet, compress_level=compress_level)
    click.echo(f"{r['samples']} samples in {r['out']} ({r['seconds']:.1f} s{_resumed(r)})")


@cli.group("train")
def train_group():
    """Train a model (DIM) from scratch."""


@train_group.command("dim")
@click.option("--stage", required=True, type=click.IntRange(1, 3),
              help="1: encoder-decoder; 2: refiner only (encoder-decoder frozen); 3: everything.")
@click.option("--data", required=True, type=click.Path(file_okay=False),
              help="Built training set (build-train) or materialised samples (build-train-samples).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Run folder (train.json, log.jsonl, last.pth, best.pth); an existing run resumes.")
@click.option("--vgg16", type=click.Path(dir_okay=False),
              help="Stage 1: torchvision's ImageNet VGG16 weights (vgg16-397923af.pth, downloaded by you) for the "
                   "encoder, as the paper. Without it (and without --init) the encoder starts random, with a warning.")
@click.option("--init", type=click.Path(dir_okay=False),
              help="Stages 2/3: the previous stage's checkpoint. Stage 1 (instead of --vgg16): start from a DIM "
                   "checkpoint's encoder-decoder.")
@click.option("--iterations", default=1_000_000, show_default=True, type=click.IntRange(1))
@click.option("--batch-size", default=1, show_default=True, type=click.IntRange(1))
@click.option("--lr", default=1e-5, show_default=True, type=float, help="Adam learning rate.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the initial weights and the samples.")
@recipe_options
@click.option("--online-merge", is_flag=True, help="Compose each sample from fg, bg, alpha in float (training sets).")
@click.option("--val", type=click.Path(file_okay=False), help="Built test set (with trimaps) for validation.")
@click.option("--val-interval", default=40_000, show_default=True, type=click.IntRange(1))
@click.option("--val-max-side", type=click.IntRange(32), help="Validate on images downscaled to this longer side "
              "(as run dim --max-side).")
@click.option("--checkpoint-interval", default=5_000, show_default=True, type=click.IntRange(1))
@click.option("--log-interval", default=100, show_default=True, type=click.IntRange(1))
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda[:N].")
@click.option("--amp", is_flag=True, help="Mixed precision (float16 on CUDA, bfloat16 on CPU).")
@click.option("--tf32", is_flag=True, help="Allow TF32 matmuls/convolutions on CUDA (off by default).")
@click.option("--threads", type=click.IntRange(1), help="torch CPU threads.")
@click.option("--workers", type=click.IntRange(0), help="DataLoader processes [default: min(8, cores - 1)].")
@quiet_option
def train_dim_cmd(stage, data, out, vgg16, init, iterations, batch_size, lr, seed, crop_sizes, out_size,
                  trimap_kernels, trimap_iterations, online_merge, val, val_interval, val_max_side,
                  checkpoint_interval, log_interval, device, amp, tf32, threads, workers, quiet):
    """Train DIM stage 1, 2 or 3 (Adam, docs/specs/training.md); resumes an interrupted run."""
    import os

    from matbench.baselines.runner import import_dim

    import_dim()  # one line when torch is missing
    from matbench.training.train import train_dim

    if workers is None:
        workers = max(0, min(8, (os.cpu_count() or 1) - 1))
    r = train_dim(stage, data, out, iterations=iterations, batch_size=batch_size, lr=lr, seed=seed, vgg16=vgg16,
                  init=init, recipe=_recipe(crop_sizes, out_size, trimap_kernels, trimap_iterations, online_merge),
                  device=device, amp=amp, tf32=tf32, threads=threads, workers=workers, val=val,
                  val_interval=val_interval, val_max_side=val_max_side, checkpoint_interval=checkpoint_interval,
                  log_interval=log_interval,
                  progress=not quiet)
    loss = f"; last loss {r['loss']['loss']:.4f}" if r["loss"] else ""
    best = (f"; best validation SAD/1e3 {r['best']['sad']:.3f} (mean SAD per image ÷ 1000) at iteration "
            f"{r['best']['iteration']}" if r["best"] else "")
    if r["resumed_from"] and r["resumed_from"] >= r["iteration"]:
        click.echo(f"stage {stage}: nothing left to do: the run in {r['out']} had finished its {r['iteration']} "
                   f"iterations (pass a larger --iterations to continue it, or a new --out){loss}{best}")
        return
    resumed = f" (resumed at iteration {r['resumed_from']})" if r["resumed_from"] else ""
    click.echo(f"stage {stage}: {r['iteration']} iterations in {r['out']}{resumed}{loss}{best}")


# --- sample benchmark: demo (issue 5) ---

@cli.command("demo")
@click.option("--out", "out", type=click.Path(file_okay=False),
              help="Folder for the sample release, datasets, predictions, leaderboards and report.html "
                   "[default: matbench-demo-<user> in the system's temporary folder].")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Worker processes for building, the baselines and scoring [default: all cores].")
@quiet_option
def demo_command(out, jobs, quiet):
    """Run the built-in sample benchmark end to end (no download, no licence).

    Generates a small release laid out like Adobe's (test set: 10 foregrounds with exact
    alpha mattes of distinct matting classes and official trimaps; training set: 4 JPEG
    foregrounds; backgrounds from scikit-image's photographs, VOC- and COCO-named), builds
    its test set (10 × 5) and training set (4 × 4), runs the weight-free baselines
    (trimap-mid, closed-form), scores them, prints the leaderboard (published Composition-1K
    rows below, as another dataset), writes OUT/report.html; then builds a small SIM-like test
    split as the SIM authors' script does, runs trimap-mid, scores it per class (OUT/sim);
    and prints the matbench commands that do all of it by hand.
    """
    import os

    from matbench.demo import demo

    demo(out, jobs=jobs or os.cpu_count() or 1, progress=not quiet, echo=click.echo)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"matbench: warning: {message}", err=True)


def main(argv=None):
    """The ``matbench`` entry point: warnings as ``matbench: warning: ...`` lines on stderr, a
    MatbenchError as one ``matbench: error: ...`` line and exit status 2, and so a click usage
    error (unknown option, missing argument, bad choice), with ``(see matbench <command> --help)``
    (:func:`usage_error_line`).

    As the program itself (``argv`` None), a command that succeeded ends without the
    interpreter's teardown (:func:`_exit_now`); called with ``argv`` (tests, scripts) it returns."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning
        _main(argv)
    if argv is None:
        _exit_now()


def _exit_now() -> None:
    """Exit with status 0 skipping the interpreter's teardown of every module and object: with
    numba's compiled kernels loaded it takes ~0.3 s (measured: 0.97 s against 0.65 s for a
    process that loads the metric kernels), a tenth of scoring 120 images. Only when nothing is
    left to shut down in order: no worker processes (joblib's pool) and no other non-daemon
    thread; then the ``atexit`` handlers run and the standard streams are flushed. Every file
    matbench writes is closed (and renamed into place) before this point."""
    import atexit
    import multiprocessing
    import os
    import threading

    if multiprocessing.active_children() or any(
            t is not threading.main_thread() and not t.daemon for t in threading.enumerate()):
        return  # the normal exit shuts them down
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


# commands that resume where an interrupted run stopped (finished files are kept and checked)
RESUMABLE = frozenset({"build-comp1k", "build-train", "build-sim", "build-train-samples", "run", "train", "demo"})


def interrupted_line(argv) -> str:
    """The one line printed on Ctrl-C: says that rerunning the same command resumes, for the
    :data:`RESUMABLE` commands (``argv``: the arguments after ``matbench``)."""
    command = next((a for a in argv if not a.startswith("-")), "")
    if command in RESUMABLE:
        return "matbench: interrupted; rerun the same command to resume (finished files are kept)"
    return "matbench: interrupted"


def _main(argv):
    try:
        cli.main(args=argv, prog_name="matbench", standalone_mode=False)
    except MatbenchError as e:
        click.echo(f"matbench: error: {e}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo(interrupted_line(sys.argv[1:] if argv is None else argv), err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo(interrupted_line(sys.argv[1:] if argv is None else argv), err=True)
        sys.exit(130)
    except _NO_ARGS_IS_HELP as e:  # `matbench` (or a group) alone: the help, as click prints it
        e.show()
        sys.exit(e.exit_code)
    except click.UsageError as e:  # unknown option or command, missing argument, bad value or choice
        click.echo(usage_error_line(e, sys.argv[1:] if argv is None else argv), err=True)
        sys.exit(2)
    except click.ClickException as e:
        click.echo(f"matbench: error: {_one_line(e.format_message())}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)


# click >= 8.2 raises this (a UsageError) for a group called without a command
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def usage_error_line(e: click.UsageError, argv=()) -> str:
    """A click usage error as one line, ``matbench: error: <message> (see matbench <command>
    --help)``, instead of click's usage block; the command is the one whose arguments were wrong
    (``matbench`` itself for an unknown command). Errors click raises without a context (an
    option missing its value) name the command found in ``argv``."""
    where = e.ctx.command_path if e.ctx is not None else _command_path(argv)
    return f"matbench: error: {_one_line(e.format_message())} (see {where} --help)"


def _command_path(argv) -> str:
    """``matbench <command> [<subcommand>]`` as far as the words of ``argv`` name commands."""
    words, group = ["matbench"], cli
    for arg in argv:
        sub = group.commands.get(arg) if isinstance(group, click.Group) else None
        if sub is None:
            if not str(arg).startswith("-"):
                break
            continue
        words.append(arg)
        group = sub
    return " ".join(words)


if __name__ == "__main__":
    main()
