"""``matbench demo`` and the HTML report: outputs exist, parse, and say what they should.

One demo run (a smaller sample than the CLI default, to keep the suite fast) is shared by the
tests through a session fixture.
"""
import base64
import io
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

BGS = 2
TRAIN_BGS = 2
SIZE = 192


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    from matbench.demo import demo

    out = tmp_path_factory.mktemp("demo") / "matbench-demo"
    lines = []
    result = demo(out, jobs=2, progress=False, bgs_per_fg=BGS, size=SIZE, train_bgs_per_fg=TRAIN_BGS,
                  echo=lines.append)
    return result, "\n".join(map(str, lines))


def test_outputs_exist(demo_run):
    result, _ = demo_run
    out = result["out"]
    for rel in ("sample-release/sample.json", "dataset/manifest.csv", "dim-train/manifest.csv",
                "dim-train/training_list.json", "per_image.csv", "leaderboard.csv",
                "leaderboard.md", "leaderboard_by_class.csv", "report.html"):
        assert (out / rel).is_file(), rel
    for name in ("trimap-mid", "closed-form"):
        assert len(list((out / "predictions" / name).glob("*.png"))) == 10 * BGS
        assert (out / "predictions" / name / "run.json").is_file()


def test_sim_split_is_built_scored_per_class_and_reported(demo_run):
    """The SIM path of the demo: build-sim on the sample's split, trimap-mid, per-class tables in
    the paper's class order, a report; the printout shows the class-wise table."""
    from matbench.classwise import SIM_CLASSES
    from matbench.manifest import read_manifest
    from matbench.scorefiles import read_per_image

    result, printed = demo_run
    sim = result["out"] / "sim"
    rows = read_manifest(sim / "dataset")
    per_image = read_per_image(sim)
    assert len(per_image) == len(rows) and set(per_image["class"]) == {r["class"] for r in rows}
    table = pd.read_csv(sim / "classwise.csv")
    order = [c for c in table["class"] if c in SIM_CLASSES]
    assert order == sorted(order, key=SIM_CLASSES.index) and (sim / "classwise.tex").is_file()
    assert (sim / "report.html").is_file() and "SIM test set (sample split), per class" in printed


def test_per_image_scores_parse_and_match_an_independent_sad(demo_run):
    result, _ = demo_run
    out = result["out"]
    from matbench.scorefiles import read_per_image

    assert {"model", "image", "sad/1e3", "mse", "grad/1e3", "conn/1e3", "class"} <= set(
        pd.read_csv(out / "per_image.csv").columns)  # units in the headers
    df = read_per_image(out)
    assert len(df) == 2 * 10 * BGS and set(df["model"]) == {"trimap-mid", "closed-form"}
    manifest = pd.read_csv(out / "dataset" / "manifest.csv").set_index("image")
    # SAD = Σ over the unknown region (trimap 128) of |p − g| / 255, ÷ 1000 (DIM MATLAB code, in
    # single precision: a float64 sum agrees to ~1e-6 relative, docs/specs/metrics.md)
    for rec in df[df["model"] == "trimap-mid"].head(4).to_dict("records"):
        row = manifest.loc[rec["image"]]
        g = np.asarray(Image.open(out / "dataset" / row["alpha"]), dtype=np.float64)
        t = np.asarray(Image.open(out / "dataset" / row["trimap"]))
        p = np.asarray(Image.open(out / "predictions" / "trimap-mid" / f"{rec['image']}.png"), dtype=np.float64)
        assert rec["sad"] == pytest.approx(np.abs(p - g)[t == 128].sum() / 255 / 1000, rel=1e-5, abs=1e-9)


def test_leaderboard_lists_measured_then_published(demo_run):
    result, printed = demo_run
    lb = pd.read_csv(result["leaderboard"])
    measured = lb[lb["kind"] == "measured"]
    published = lb[lb["kind"] == "published"]
    assert list(measured["model"]) == ["closed-form", "trimap-mid"]  # a real method beats the floor
    assert len(published) >= 10 and measured.index.max() < published.index.min()
    by_class = pd.read_csv(result["leaderboard_by_class"])
    assert by_class["class"].nunique() == 10
    # printed: the measured table first, then the published rows labelled as another dataset
    assert printed.index("closed-form") < printed.index("Published Composition-1K")
    assert "another dataset" in printed


def test_report_holds_the_table_charts_comparison_and_gallery(demo_run):
    """The demo's report is the report of ``matbench report OUT`` (tests/test_report.py tests it
    in depth): models, the published rows apart, charts, comparison, thumbnails, offline."""
    import html5lib

    result, _ = demo_run
    text = result["report"].read_text(encoding="utf-8")
    html5lib.HTMLParser(strict=True).parse(text)
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "closed-form" in text and "trimap-mid" in text and "another dataset" in text
    assert '<table class="published">' in text and "closed-form beats trimap-mid on SAD" in text
    assert text.count('<svg class="chart"') == 4  # means, distribution, size, per class
    uris = re.findall(r'src="data:image/(?:png|jpeg);base64,([A-Za-z0-9+/=]+)"', text)
    assert len(uris) == 2 * 3 * 5 * 2  # 2 models × 3 worst images × 5 panels, thumbnail and larger
    im = Image.open(io.BytesIO(base64.b64decode(uris[0])))
    im.load()
    assert max(im.size) <= 160
    assert "http://" not in re.sub(r'xmlns(:xlink)?="http://www.w3.org/[^"]+"', "", text)  # self-contained
    assert (result["out"] / "comparison.csv").is_file()


def test_rerun_resumes_and_ends_identical(demo_run):
    from matbench.demo import demo

    result, _ = demo_run
    before = (result["out"] / "per_image.csv").read_bytes()
    again = demo(result["out"], jobs=1, progress=False, bgs_per_fg=BGS, size=SIZE, train_bgs_per_fg=TRAIN_BGS,
                 echo=None)
    assert again["seconds"]["closed-form"] < 5  # nothing left to predict
    assert (result["out"] / "per_image.csv").read_bytes() == before


def test_training_set_is_built(demo_run):
    from matbench.manifest import read_manifest

    result, printed = demo_run
    rows = read_manifest(result["train"])
    assert len(rows) == 4 * TRAIN_BGS and {r["fg_folder"] for r in rows} == {"Adobe-licensed images", "Other"}
    assert all((result["train"] / r["bg_path"]).is_file() for r in rows)  # bg/ for the compositional loss
    assert f"training set: {4 * TRAIN_BGS} composites in {result['train']}" in printed


def test_printed_commands_redo_the_demo(demo_run):
    """The by-hand commands the demo prints, run as printed after deleting the datasets, the
    floor's predictions and every file the demo wrote into OUT and OUT/sim, rebuild the same
    composites and the same scores, and write the same files with the same tables (the demo
    and `matbench score --out` share matbench.scorefiles.write_score_outputs)."""
    import shlex
    import shutil

    from matbench.cli import main
    from matbench.demo import DEMO_MARKER
    from matbench.scorefiles import read_per_image

    result, printed = demo_run
    out = result["out"]
    lines = [line.strip() for line in printed.splitlines() if line.startswith("  matbench ")]
    assert lines == result["commands"] + result["sim"]["commands"]
    assert [shlex.split(line)[1] for line in lines] == ["build-comp1k", "build-train", "run", "run", "score", "report",
                                                        "build-sim", "run", "score", "report"]
    before = {p: (out / p).read_bytes() for p in ("dataset/manifest.csv", "dim-train/manifest.csv")}
    scores = read_per_image(out / "per_image.csv")
    outputs = {p.relative_to(out): p.read_bytes() for folder in (out, out / "sim") for p in folder.iterdir()
               if p.is_file() and p.name != DEMO_MARKER}  # the marker is the demo's own, no command's
    assert {"leaderboard_by_class.csv", "classwise.csv", "comparison.csv", "sim/classwise.tex",
            "sim/leaderboard_by_class.csv"} <= {str(p) for p in outputs}
    for p in ("dataset", "dim-train", "predictions/trimap-mid"):
        shutil.rmtree(out / p)
    for p in outputs:
        (out / p).unlink()
    for line in lines:
        args = shlex.split(line)[1:]
        main(args + ([] if args[0] == "report" else ["--quiet"]))  # report draws no progress bar
    assert {p: (out / p).read_bytes() for p in before} == before
    again = read_per_image(out / "per_image.csv")
    cols = ["model", "image", "sad", "mse", "grad", "conn"]
    pd.testing.assert_frame_equal(again[cols], scores[cols])
    assert {p.relative_to(out) for folder in (out, out / "sim") for p in folder.iterdir()
            if p.is_file() and p.name != DEMO_MARKER} == set(outputs)
    timing = ["run", "wall_images_per_second", "worker_seconds_per_image"]  # trimap-mid was run again
    for p, data in outputs.items():
        if p.suffix == ".csv":
            old, new = pd.read_csv(io.BytesIO(data)), pd.read_csv(out / p)
            pd.testing.assert_frame_equal(new.drop(columns=timing, errors="ignore"),
                                          old.drop(columns=timing, errors="ignore"), obj=str(p))


def test_default_out_is_outside_the_working_folder():
    import tempfile
    from pathlib import Path

    from matbench.demo import default_out

    assert default_out().parent == Path(tempfile.gettempdir())
    assert default_out().name.startswith("matbench-demo-")


def test_report_escapes_names_and_charts_classes_of_a_bare_table():
    """A per-image table without provenance: names escaped, a chart per class, no gallery (and why)."""
    from matbench.report import render_report

    df = pd.DataFrame({"model": ["<m>", "<m>", "b", "b"], "image": ["x_0", "y_0", "x_0", "y_0"],
                       "sad": [1.0, 3.0, 2.0, 4.0], "mse": [0.01, 0.02, 0.03, 0.04], "grad": [1.0] * 4,
                       "conn": [1.0] * 4, "class": ["hair", "net", "hair", "net"]})
    html = render_report(df, title="t")
    assert "<m>" not in html and "&lt;m&gt;" in html
    assert 'aria-label="by-class"' in html and "No gallery: the scores were not computed on a matbench dataset" in html


def test_cli_demo_rejects_bad_jobs(capsys):
    from matbench.cli import main

    with pytest.raises(SystemExit) as e:
        main(["demo", "--jobs", "0"])
    assert e.value.code == 2


def test_demo_refuses_a_non_empty_folder_that_is_not_a_demo(demo_run, tmp_path):
    """The demo writes dozens of files and folders: never among someone's files. Its own folder
    (the marker file) reruns, as test_rerun_resumes_and_ends_identical does."""
    from matbench.demo import DEMO_MARKER, check_demo_out, demo
    from matbench.errors import MatbenchError

    result, _ = demo_run
    assert (result["out"] / DEMO_MARKER).is_file()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.png").write_bytes(b"not touched")
    with pytest.raises(MatbenchError, match=r"mine: not empty and not a matbench demo folder"):
        demo(tmp_path / "mine", progress=False, echo=None)
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["a.png"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(MatbenchError, match="not a folder"):
        demo(tmp_path / "file", progress=False, echo=None)
    check_demo_out(tmp_path / "new")  # a new folder, then an empty one: marked as the demo's
    (tmp_path / "empty").mkdir()
    check_demo_out(tmp_path / "empty")
    assert (tmp_path / "new" / DEMO_MARKER).is_file() and (tmp_path / "empty" / DEMO_MARKER).is_file()
