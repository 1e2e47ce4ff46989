"""What ``matbench score`` writes and prints, on real files: statistics that do not depend on
how the data was given, coverage with --allow-missing, --by tables, the chosen format on
stdout, and the reference set recorded as provenance."""
import json
from pathlib import Path

import pandas as pd
import pytest
from test_score import _cases, _cli, _expected, _layout, _link

from matbench import leaderboard, score
from matbench.manifest import write_manifest
from matbench.scorefiles import read_leaderboard, read_per_image

# manifest order, deliberately not name order
CASES = ["c14_large120x160", "c01_smooth64_masked", "c06_odd37x53", "c12_alpha153", "c02_smooth64_unmasked",
         "c10_mmagic_unittest"]
CLASSES = ["hair", "glass"] * 3


def _dataset(tmp, golden):
    """A dataset folder (manifest in CASES order, classes alternating, a dataset.json as the
    builder writes it, of other name lists than Composition-1K's) and two models: ``a`` the
    golden prediction, ``b`` the trimap itself."""
    root = golden / "metrics" / "cases"
    rows = []
    for c, cls in zip(CASES, CLASSES):
        _link(root / c / "gt.png", tmp / "ds" / "alpha" / f"{c}.png")
        _link(root / c / "trimap.png", tmp / "ds" / "trimaps" / f"{c}_0.png")
        _link(root / c / "pred.png", tmp / "a" / f"{c}_0.png")
        _link(root / c / "trimap.png", tmp / "b" / f"{c}_0.png")
        rows.append({"split": "test", "image": f"{c}_0", "fg": f"{c}.png", "bg": "bg.jpg", "k": 0,
                     "merged": f"merged/{c}_0.png", "alpha": f"alpha/{c}.png", "trimap": f"trimaps/{c}_0.png",
                     "class": cls})
    write_manifest(tmp / "ds", rows)
    (tmp / "ds" / "dataset.json").write_text(json.dumps({
        "kind": "composition-1k", "composites": len(CASES), "trimaps": "official",
        "fg_list_sha256": "0" * 64, "bg_list_sha256": "1" * 64}))
    return tmp / "ds"


def test_leaderboard_same_for_dataset_and_folder_modes_and_any_jobs(tmp_path, golden):
    ds = _dataset(tmp_path, golden)
    models = {"a": tmp_path / "a", "b": tmp_path / "b"}
    by_manifest = score(models, dataset=ds, jobs=1, progress=False)
    by_folders = score(models, alpha_dir=ds / "alpha", trimap_dir=ds / "trimaps", jobs=2, progress=False)
    assert list(by_manifest["image"]) != list(by_folders["image"])  # the same rows in another order
    one, two = leaderboard(by_manifest, n_boot=200), leaderboard(by_folders, n_boot=200)
    assert one["dataset"].str.startswith(str(ds.resolve())).all()  # what each mode was scored on
    assert (two["dataset"] == f"alphas {(ds / 'alpha').resolve()}, trimaps {(ds / 'trimaps').resolve()}").all()
    pd.testing.assert_frame_equal(one.drop(columns="dataset"), two.drop(columns="dataset"))
    assert one.set_index("model").loc["a", "sad"] == pytest.approx(_expected(golden).loc[CASES, "sad"].mean(),
                                                                   rel=1e-5)
    assert by_manifest.attrs["provenance"]["reference"]["dataset_json"]["composites"] == len(CASES)


def test_cli_by_prints_and_writes_the_overall_and_the_group_tables(tmp_path, golden):
    ds = _dataset(tmp_path, golden)
    out = tmp_path / "out"
    r = _cli("score", tmp_path / "a", tmp_path / "b", "--dataset", ds, "--by", "class", "--out", out, "-q")
    assert r.returncode == 0, r.stderr
    assert r.stdout.index("## Matting leaderboard (paper units)") < r.stdout.index("## Matting leaderboard by class")
    overall, by = read_leaderboard(out / "leaderboard.csv"), read_leaderboard(out / "leaderboard_by_class.csv")
    assert list(overall["n_images"]) == [6, 6] and "class" not in overall.columns
    assert by.attrs["by"] == "class" and sorted(zip(by["class"], by["model"])) == [
        ("glass", "a"), ("glass", "b"), ("hair", "a"), ("hair", "b")]
    exp = _expected(golden)
    hair = [c for c, cls in zip(CASES, CLASSES) if cls == "hair"]
    assert by.set_index(["class", "model"]).loc[("hair", "a"), "sad"] == pytest.approx(exp.loc[hair, "sad"].mean(),
                                                                                       rel=1e-5)
    table = r.stdout[r.stdout.index("by class"):]
    places = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")][1:5]
    assert places == ["1", "2", "1", "2"]  # ranked within each class
    per = read_per_image(out)
    assert per.attrs["provenance"]["reference"]["dataset"] == str(ds.resolve()) and len(per) == 12


def test_cli_allow_missing_compares_models_on_common_images(tmp_path, golden):
    cases = _cases(golden, big=False)[:6]
    alpha, trimap = _layout(tmp_path, golden, cases, models=("full", "part"))
    for c in cases[2:]:
        (tmp_path / "part" / f"{c}.png").unlink()
    out = tmp_path / "out"
    r = _cli("score", tmp_path / "full", tmp_path / "part", "--alpha-dir", alpha, "--trimap-dir", trimap,
             "--allow-missing", "--out", out, "-q")
    assert r.returncode == 0, r.stderr
    assert "part: 2 of 6 images scored" in r.stderr
    lb = read_leaderboard(out / "leaderboard.csv").set_index("model")
    exp = _expected(golden)
    for m in ("sad", "grad", "conn"):
        assert lb.loc["full", m] == pytest.approx(exp.loc[cases[:2], m].mean(), rel=1e-5)
        assert lb.loc["full", f"{m}_own"] == pytest.approx(exp.loc[cases, m].mean(), rel=1e-5)
    assert list(lb.loc[["full", "part"], "n_images"]) == [2, 2]
    assert list(lb.loc[["full", "part"], "n_scored"]) == [6, 2] and set(lb["n_reference"]) == {6}
    assert "coverage" in r.stdout and "2/6" in r.stdout and "over the 2 images every measured model has" in r.stdout


def test_cli_prints_the_chosen_format(tmp_path, golden):
    cases = _cases(golden, big=False)[:3]
    alpha, trimap = _layout(tmp_path, golden, cases)
    ref = ["--alpha-dir", alpha, "--trimap-dir", trimap, "-q"]
    r = _cli("score", tmp_path / "m1", *ref, "--format", "latex", "--with-published", "comp1k")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("% Matting leaderboard") and "\\begin{tabular}" in r.stdout
    assert "| model |" not in r.stdout
    assert "matbench: warning: --with-published comp1k: comparability with the published Composition-1K rows " \
           "cannot be checked" in r.stderr
    js = _cli("score", tmp_path / "m1", *ref, "--format", "json")
    assert json.loads(js.stdout)["measured"][0]["model"] == "m1"
    for args, msg in ((["--format", "md,latex"], "several formats need --out"),
                      (["--format", "csv", "--by", "class"], "two tables")):
        bad = _cli("score", tmp_path / "m1", *ref, *args)
        err = [line for line in bad.stderr.splitlines() if line.strip()]
        assert bad.returncode == 2 and len(err) == 1 and msg in err[0], bad.stderr


def test_cli_warns_that_comp1k_rows_are_not_comparable_with_another_dataset(tmp_path, golden):
    ds = _dataset(tmp_path, golden)
    r = _cli("score", tmp_path / "a", "--dataset", ds, "--with-published", "comp1k", "-q")
    assert r.returncode == 0, r.stderr
    assert "the measured rows are not comparable with the published Composition-1K rows" in r.stderr
    assert "is not Composition-1K" in r.stdout  # and the table says so too


def test_rescoring_into_one_folder_removes_its_own_stale_outputs_only(tmp_path, golden):
    """Two models --by class, then one model without --by: leaderboard_by_class.*, classwise.*
    and comparison.* of the first scoring would disagree with the new leaderboard."""
    ds = _dataset(tmp_path, golden)
    out = tmp_path / "out"
    r = _cli("score", tmp_path / "a", tmp_path / "b", "--dataset", ds, "--by", "class", "--out", out,
             "--format", "md,latex", "-q")
    assert r.returncode == 0, r.stderr
    first = {p.name for p in out.iterdir()}
    assert {"leaderboard_by_class.csv", "classwise.csv", "comparison.csv", "leaderboard.tex"} <= first
    (out / "notes.md").write_text("mine")  # the user's file, and a report: never touched
    (out / "report.html").write_text("<!DOCTYPE html>")
    r = _cli("score", tmp_path / "a", "--dataset", ds, "--out", out, "-q")
    assert r.returncode == 0, r.stderr
    assert "removed" in r.stderr and r.stderr.count("\n") == 2
    assert f"{out / 'report.html'}: made from the earlier scores" in r.stderr and "matbench report" in r.stderr
    now = {p.name for p in out.iterdir()}
    assert now == {"per_image.csv", "per_image.json", "leaderboard.csv", "leaderboard.md", "notes.md",
                   "report.html"}
    assert json.loads((out / "per_image.json").read_text())["outputs"] == [
        "per_image.csv", "per_image.json", "leaderboard.csv", "leaderboard.md"]
    assert list(read_leaderboard(out / "leaderboard.csv")["model"]) == ["a"]
    # a folder from a matbench that did not record its outputs: score's own file names only
    doc = json.loads((out / "per_image.json").read_text())
    del doc["outputs"]
    (out / "per_image.json").write_text(json.dumps(doc))
    (out / "comparison.md").write_text("old")
    r = _cli("score", tmp_path / "a", "--dataset", ds, "--out", out, "-q")
    assert r.returncode == 0 and not (out / "comparison.md").exists() and (out / "notes.md").read_text() == "mine"


def test_latex_shows_coverage_and_notes_only_what_it_holds(tmp_path, golden):
    from matbench.leaderboard import format_leaderboard

    ds = _dataset(tmp_path, golden)
    for c in CASES[2:]:
        (tmp_path / "b" / f"{c}_0.png").unlink()
    with pytest.warns(UserWarning, match="2 of 6"):
        df = score({"a": tmp_path / "a", "b": tmp_path / "b"}, dataset=ds, allow_missing=True, progress=False)
    tex = format_leaderboard(leaderboard(df, n_boot=50), "latex")
    rows = {line.split(" & ")[0]: line.split(" & ") for line in tex.splitlines() if " & " in line}
    assert rows["Method"][1:3] == ["$n$", "Coverage"]
    assert rows["a"][1:3] == ["2", "6/6"] and rows["b"][1:3] == ["2", "2/6"]
    comments = " ".join(line for line in tex.splitlines() if line.startswith("%"))
    for absent in ("avg rank", "[lo", "own-images", "intervals", "run.json"):
        assert absent not in comments, absent
    assert "over the 2 images every measured model has" in comments and "bold: the best" in comments
    complete = format_leaderboard(leaderboard(score({"a": tmp_path / "a"}, dataset=ds, progress=False), n_boot=50),
                                  "latex")
    assert "Coverage" not in complete and "$n$" not in complete and "coverage =" not in complete


def test_a_count_of_one_is_singular():
    from matbench.leaderboard import run_summary

    one = run_summary({"method": "trimap-mid", "images_per_second": 2.0, "seconds_per_image": 0.5, "jobs": 1})
    assert "2 img/s (1 job)," in one and "jobs" not in one
    assert "(4 jobs)" in run_summary({"method": "knn", "images_per_second": 2.0, "jobs": 4})


def test_reading_warnings_recorded_and_shown_in_every_score_file(tmp_path, golden):
    """A run.json made from other trimaps than the ones scored against: the warning is on the
    terminal, in df.attrs and per_image.json, and in every leaderboard and class-wise file."""
    ds = _dataset(tmp_path, golden)
    (tmp_path / "a" / "run.json").write_text(json.dumps({"method": "x", "input": {
        "dataset": str(ds), "trimaps": str(tmp_path / "w5")}}))
    out = tmp_path / "out"
    r = _cli("score", tmp_path / "a", "--dataset", ds, "--by", "class", "--out", out,
             "--format", "md,latex,html,json", "-q")
    assert r.returncode == 0, r.stderr
    said = f"trimaps {tmp_path / 'w5'}, scored against the dataset trimaps"
    assert said in r.stderr
    assert any(said in w for w in json.loads((out / "per_image.json").read_text())["attrs"]["warnings"])
    assert any(said in w for w in read_per_image(out).attrs["warnings"])
    for name in ("leaderboard.md", "leaderboard.tex", "leaderboard.html", "leaderboard.json", "classwise.md",
                 "classwise.tex", "classwise.json", "leaderboard_by_class.md"):
        text = (out / name).read_text()
        assert "warning while scoring" in text and (said in text or said.replace("_", r"\_") in text), name
    assert any(said in w for w in json.loads((out / "leaderboard.json").read_text())["warnings"])
    for name in ("leaderboard.csv", "classwise.csv"):
        table = pd.read_csv(out / name, keep_default_na=False)
        measured = table[table["kind"] == "measured"]
        assert measured["note"].str.contains(said, regex=False).all(), name


def test_csv_files_say_what_was_measured_and_on_what(tmp_path, golden):
    """leaderboard.csv and classwise.csv read alone: the measured rows name the reference set
    (not the official Composition-1K: 6 composites, other name lists), the published rows
    keep their notes in ``note``, not in ``run``; the Markdown says the set is not official."""
    ds = _dataset(tmp_path, golden)
    out = tmp_path / "out"
    r = _cli("score", tmp_path / "a", "--dataset", ds, "--by", "class", "--with-published", "comp1k",
             "--out", out, "-q")
    assert r.returncode == 0, r.stderr
    board = pd.read_csv(out / "leaderboard.csv", keep_default_na=False)
    measured, pub = board[board["kind"] == "measured"], board[board["kind"] == "published"]
    assert measured["dataset"].str.contains(str(ds.resolve()), regex=False).all()
    assert measured["dataset"].str.contains("not official").all()
    assert (pub["dataset"] == "Composition-1K").all() and (pub["run"] == "").all()
    shipped = [line for line in (Path(__file__).parents[1] / "manifests" / "published_comp1k.csv")
               .read_text().splitlines() if not line.startswith("#")]
    assert "note" in shipped[0].split(",") and pub["note"].ne("").any()
    classwise = pd.read_csv(out / "classwise.csv", keep_default_na=False)
    assert classwise["dataset"].str.contains(str(ds.resolve()), regex=False).all()
    md = (out / "leaderboard.md").read_text()
    assert ("built like Composition-1K (not the official set: 6 composites, not 1000; test name lists differ"
            in md)
    assert "provenance: matbench" in (out / "classwise.md").read_text()


def test_official_status_is_the_exact_composition_1k_check():
    """Only the release's name lists (sha256), 1000 composites and the official trimaps, scored
    with them, are called the official Composition-1K."""
    from matbench.scorefiles import COMP1K_LISTS, official_status, reference_label

    info = {"kind": "composition-1k", "composites": 1000, "trimaps": "official", **COMP1K_LISTS}
    ref = {"dataset": "/d", "dataset_json": info}
    assert official_status(ref) == "Composition-1K (official: checked)"
    assert reference_label(ref) == "Composition-1K (/d)"
    assert official_status({**ref, "trimap_dir": "/t"}).startswith("built like Composition-1K (not the official")
    assert "50 composites, not 1000" in official_status({**ref, "dataset_json": {**info, "composites": 50}})
    other = official_status({**ref, "dataset_json": {**info, "fg_list_sha256": "0" * 64}})
    assert "test name lists differ" in other
    assert official_status({"dataset": "/d", "dataset_json": {"kind": "training"}}) == ""


def test_baseline_with_one_model_is_warned_about(tmp_path, golden):
    ds = _dataset(tmp_path, golden)
    r = _cli("score", tmp_path / "a", "--dataset", ds, "--baseline", "a", "-q")
    assert r.returncode == 0, r.stderr
    assert "--baseline a: ignored, a baseline needs at least two models" in r.stderr
