"""Where commands may write: never over a user's files, never around an input folder, never
inside a matbench-built dataset (except its builder resuming); resume messages."""
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from matbench.cli import cli, interrupted_line
from matbench.errors import MatbenchError


def snapshot(folder):
    """{relative path: (bytes, mtime_ns)} of everything under folder (files and folders)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def refused(result, *words):
    """The command refused with a MatbenchError (one line, printed by the CLI's main) naming
    ``words``."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, MatbenchError), (result.exception, result.output)
    message = str(result.exception)
    assert "\n" not in message
    for w in words:
        assert w in message, message


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    from matbench.datasets.sample import make_sample_release

    root = tmp_path_factory.mktemp("release")
    return make_sample_release(root / "rel", size=64, bgs_per_fg=1, progress=False)


@pytest.fixture
def dcopy(small_dataset, tmp_path):
    """A copy of a built dataset (dataset.json + manifest.csv), to try writing into."""
    d = tmp_path / "dcopy"
    shutil.copytree(small_dataset, d)
    return d


def small_images(folder, n=2, value=128):
    folder.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(np.full((8, 8), value, np.uint8)).save(folder / f"im{i}.png")
    return folder


# ------------------------------------------------------------ 1. score over a user's files

def test_score_refuses_a_folder_of_user_files(small_dataset, tmp_path):
    pred = tmp_path / "pred"
    r = invoke("run", "trimap-mid", "--dataset", small_dataset, "--out", pred, "--quiet")
    assert r.exit_code == 0, r.output
    paper = tmp_path / "paper"
    paper.mkdir()
    (paper / "leaderboard.md").write_text("my hand-written table\n")
    before = snapshot(paper)
    refused(invoke("score", pred, "--dataset", small_dataset, "--out", paper), "leaderboard.md",
            "no per_image.json")
    assert snapshot(paper) == before
    from matbench.scorefiles import check_score_out

    with pytest.raises(MatbenchError, match="no per_image.json"):
        check_score_out(paper, pred_dirs=[pred], dataset=small_dataset)
    # a folder of other files only, then a score folder: written, and rewritten by a rerun
    (paper / "leaderboard.md").unlink()
    (paper / "notes.txt").write_text("mine\n")
    for _ in range(2):
        r = invoke("score", pred, "--dataset", small_dataset, "--out", paper)
        assert r.exit_code == 0, r.output
        assert (paper / "per_image.json").is_file() and (paper / "notes.txt").read_text() == "mine\n"


# ------------------------------------------------------------ 2. --out around an input

def test_builders_refuse_out_containing_a_source(release, tmp_path):
    from matbench.build import build_comp1k

    src = tmp_path / "src"
    shutil.copytree(release.adobe_root, src / "adobe")
    shutil.copytree(release.voc_root, src / "voc")
    before = snapshot(src)
    refused(invoke("build-comp1k", "--adobe-root", src / "adobe", "--voc-root", src / "voc", "--out", src,
                   "--quiet"), "contains the source folder")
    with pytest.raises(MatbenchError, match="contains the source folder"):
        build_comp1k(src / "adobe", src / "voc", src, progress=False)
    assert snapshot(src) == before


def test_run_and_trimap_refuse_out_containing_an_input(tmp_path):
    small = tmp_path / "small"
    small_images(small / "images", value=100)
    small_images(small / "trimaps", value=128)
    before = snapshot(small)
    refused(invoke("run", "trimap-mid", "--images", small / "images", "--trimaps", small / "trimaps",
                   "--out", small, "--quiet"), "contains the image folder")
    refused(invoke("trimap", small / "trimaps", small), "contains the alpha folder")
    from matbench.trimap import make_trimaps

    with pytest.raises(MatbenchError, match="contains the alpha folder"):
        make_trimaps(small / "trimaps", small)
    assert snapshot(small) == before


def test_train_samples_and_train_refuse_out_containing_the_data(golden_train_set, tmp_path):
    from matbench.training.materialise import build_train_samples

    parent = golden_train_set.parent
    before = snapshot(parent)
    with pytest.raises(MatbenchError, match="contains the source folder"):
        build_train_samples(golden_train_set, parent, progress=False)
    pytest.importorskip("torch")
    from matbench.training.train import train_dim

    with pytest.raises(MatbenchError, match="contains the training data"):
        train_dim(1, golden_train_set, parent, iterations=1, progress=False)
    assert snapshot(parent) == before


def test_score_and_report_may_hold_their_inputs(small_dataset, tmp_path):
    """The demo layout: predictions in DEMO/predictions, scores in DEMO, DEMO/report.html."""
    demo = tmp_path / "demo"
    pred = demo / "predictions" / "trimap-mid"
    assert invoke("run", "trimap-mid", "--dataset", small_dataset, "--out", pred, "--quiet").exit_code == 0
    r = invoke("score", f"trimap-mid={pred}", "--dataset", small_dataset, "--out", demo)
    assert r.exit_code == 0, r.output
    r = invoke("report", demo, "--out", demo / "report.html")
    assert r.exit_code == 0, r.output


# ------------------------------------------------------------ 3. builders over foreign folders

def test_builders_refuse_a_foreign_non_empty_folder(release, tmp_path):
    noisy = tmp_path / "noisy"
    small_images(noisy / "merged")
    before = snapshot(noisy)
    refused(invoke("build-comp1k", "--adobe-root", release.adobe_root, "--voc-root", release.voc_root,
                   "--out", noisy, "--quiet"), "not a matbench build", "merged")
    assert snapshot(noisy) == before
    # an empty folder, or one holding only hidden files, is fine
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".DS_Store").write_bytes(b"x")
    r = invoke("build-comp1k", "--adobe-root", release.adobe_root, "--voc-root", release.voc_root, "--out", empty,
               "--quiet")
    assert r.exit_code == 0, r.output


def test_build_resumes_after_interruption_and_counts(release, tmp_path):
    """An interrupted build (dataset.json written first, no manifest yet) resumes; the rerun
    says how many composites it wrote and how many it kept."""
    out = tmp_path / "d"
    r = invoke("build-comp1k", "--adobe-root", release.adobe_root, "--voc-root", release.voc_root, "--out", out,
               "--quiet")
    assert r.exit_code == 0, r.output
    merged = sorted((out / "merged").iterdir())
    n = len(merged)
    assert f"all {n} written" in r.output
    (out / "manifest.csv").unlink()  # as interrupted: no manifest, one composite missing
    merged[0].unlink()
    r = invoke("build-comp1k", "--adobe-root", release.adobe_root, "--voc-root", release.voc_root, "--out", out,
               "--quiet")
    assert r.exit_code == 0, r.output
    # without a manifest the finished composites are re-hashed, i.e. written before this run
    assert "1 written" in r.output and f"{n - 1} kept from an earlier run" in r.output
    r = invoke("build-comp1k", "--adobe-root", release.adobe_root, "--voc-root", release.voc_root, "--out", out,
               "--quiet")
    assert r.exit_code == 0 and f"nothing left to do: all {n} kept" in r.output, r.output


# ------------------------------------------------------------ 4. nothing writes inside a built dataset

def test_trimap_refuses_a_built_dataset(dcopy):
    before = snapshot(dcopy)
    refused(invoke("trimap", dcopy / "alpha", dcopy / "trimaps"), "matbench-built dataset")
    refused(invoke("trimap", dcopy / "alpha", dcopy), "alpha folder")
    refused(invoke("trimap", dcopy / "alpha", dcopy / "new" / "sub"), "matbench-built dataset")
    assert snapshot(dcopy) == before


def test_no_command_writes_inside_a_built_dataset(dcopy, tmp_path, release):
    from matbench.demo import check_demo_out

    pred = tmp_path / "pred"
    assert invoke("run", "trimap-mid", "--dataset", dcopy, "--out", pred, "--quiet").exit_code == 0
    before = snapshot(dcopy)
    refused(invoke("run", "trimap-mid", "--dataset", tmp_path / "dcopy", "--out", dcopy / "preds", "--quiet"),
            "dataset")
    refused(invoke("run", "trimap-mid", "--images", pred, "--trimaps", dcopy / "trimaps",
                   "--out", dcopy / "x" / "preds", "--quiet"), "matbench-built dataset")
    refused(invoke("score", pred, "--dataset", dcopy, "--out", dcopy / "scores"), "dataset")
    refused(invoke("demo", "--out", dcopy / "newsub"), "matbench-built dataset")
    with pytest.raises(MatbenchError, match="matbench-built dataset"):
        check_demo_out(dcopy / "newsub")
    refused(invoke("build-comp1k", "--adobe-root", release.adobe_root, "--voc-root", release.voc_root,
                   "--out", dcopy / "sub", "--quiet"), "matbench-built dataset")
    assert snapshot(dcopy) == before


# ------------------------------------------------------------ 5. the demo folder reused

def test_demo_folder_reuse_is_reported(tmp_path):
    from matbench.demo import DEMO_MARKER, check_demo_out

    out = tmp_path / "demo"
    assert check_demo_out(out) is None
    assert check_demo_out(out) == (out / DEMO_MARKER).stat().st_mtime


# ------------------------------------------------------------ 6. resume messages

def test_interrupted_line_says_rerun_resumes():
    for argv in (["build-comp1k", "--out", "x"], ["run", "knn"], ["train", "dim"], ["demo"], ["build-sim"]):
        assert "rerun the same command to resume" in interrupted_line(argv)
    for argv in (["score", "p"], ["trimap", "a", "b"], []):
        assert interrupted_line(argv) == "matbench: interrupted"


def test_train_rerun_of_a_finished_run_says_nothing_left(monkeypatch, tmp_path):
    from matbench.training import train

    def fake(stage, data, out, **kw):
        return {"out": str(out), "iteration": 2, "resumed_from": 2, "loss": None, "best": None}

    monkeypatch.setattr(train, "train_dim", fake)
    pytest.importorskip("torch")
    (tmp_path / "data").mkdir()
    r = invoke("train", "dim", "--stage", "2", "--data", tmp_path / "data", "--out", tmp_path / "runs",
               "--iterations", "2", "--quiet")
    assert r.exit_code == 0, r.output
    assert "nothing left to do" in r.output and "2 iterations" in r.output


def test_train_samples_rerun_counts(golden_train_set, tmp_path):
    from matbench.training.materialise import build_train_samples

    out = tmp_path / "samples"
    r = build_train_samples(golden_train_set, out, progress=False)
    assert (r["written"], r["reused"]) == (r["samples"], 0)
    first = sorted(out.glob("merged/*.png"))
    first[0].unlink()
    (out / "manifest.csv").unlink()  # as interrupted before the manifest
    r = build_train_samples(golden_train_set, out, progress=False)
    assert (r["written"], r["reused"]) == (1, r["samples"] - 1)
    r = build_train_samples(golden_train_set, out, progress=False)
    assert (r["written"], r["reused"]) == (0, r["samples"])
