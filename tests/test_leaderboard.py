"""matbench.leaderboard: means and units against the golden MATLAB values, ranks, bootstrap
intervals, published rows and the renderings."""
import json
import math
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matbench import leaderboard, score
from matbench.errors import MatbenchError
from matbench.leaderboard import (HEADERS, UNITS_NOTE, average_ranks, bootstrap_ci, format_leaderboard, published,
                                 write_leaderboard)

METRICS = ("sad", "mse", "grad", "conn")
REQUIRED = ["Closed-form", "KNN", "DIM (paper)", "DIM stage1 (mmagic)", "DIM stage2 (mmagic)",
            "DIM stage3 (mmagic)", "IndexNet", "GCA", "SIM", "FBA", "MatteFormer", "ViTMatte-S", "ViTMatte-B",
            "AEMatter", "DiffMatte-ViTS"]


@pytest.fixture(scope="module")
def golden_scores(golden, tmp_path_factory):
    """Per-image scores of the golden predictions (all cases but the 1080p one)."""
    tmp = tmp_path_factory.mktemp("lb")
    root = golden / "metrics" / "cases"
    cases = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("b"))
    for c in cases:
        for sub, f in (("alpha", "gt"), ("trimap", "trimap"), ("m", "pred")):
            (tmp / sub).mkdir(exist_ok=True)
            (tmp / sub / f"{c}.png").symlink_to(root / c / f"{f}.png")
    df = score([tmp / "m"], alpha_dir=tmp / "alpha", trimap_dir=tmp / "trimap", progress=False)
    exp = pd.read_csv(golden / "metrics" / "expected.csv").set_index("case").loc[cases]
    return df, exp


def test_means_in_paper_and_raw_units_match_golden(golden_scores):
    df, exp = golden_scores
    paper = leaderboard(df, ci=False)
    raw = leaderboard(df, units="raw", ci=False)
    row_p, row_r = paper.iloc[0], raw.iloc[0]
    assert row_p["n_images"] == len(exp)
    for m in ("sad", "grad", "conn"):
        assert row_p[m] == pytest.approx(exp[m].mean(), rel=1e-5)
        assert row_r[m] == pytest.approx(exp[m].mean(), rel=1e-5)
    # c09 has no unknown pixel: MSE NaN, left out of the mean
    assert exp["mse"].isna().sum() == 1
    assert row_r["mse"] == pytest.approx(exp["mse"].dropna().mean(), rel=1e-5)
    assert row_p["mse"] == pytest.approx(exp["mse"].dropna().mean() * 1000, rel=1e-5)
    assert paper.attrs["headers"]["mse"] == "MSE×1e3" and raw.attrs["headers"]["mse"] == "MSE"


def test_by_group_means(golden_scores):
    df, exp = golden_scores
    df = df.copy()
    images = list(df["image"])
    df["class"] = ["hair" if i % 2 == 0 else "glass" for i in range(len(images))]
    lb = leaderboard(df, by="class", ci=False)
    assert sorted(lb["class"]) == ["glass", "hair"]
    hair = [c for i, c in enumerate(images) if i % 2 == 0]
    assert lb.set_index("class").loc["hair", "sad"] == pytest.approx(exp.loc[hair, "sad"].mean(), rel=1e-5)
    assert lb.set_index("class").loc["hair", "n_images"] == len(hair)
    with pytest.raises(MatbenchError, match="--by fg"):
        leaderboard(df, by="fg")


def _toy():
    # A beats B on every image and metric except a tie on image 3 (SAD and MSE)
    rows = []
    for img, (a, b) in enumerate([(1.0, 2.0), (1.0, 3.0), (2.0, 2.0), (0.5, 4.0)]):
        rows.append({"model": "A", "image": f"i{img}", "sad": a, "mse": a, "grad": a, "conn": a})
        rows.append({"model": "B", "image": f"i{img}", "sad": b, "mse": b, "grad": b, "conn": b})
    rows.append({"model": "A", "image": "only_a", "sad": 9.0, "mse": 9.0, "grad": 9.0, "conn": 9.0})
    return pd.DataFrame(rows)


def test_average_rank_alphamatting_style():
    df = _toy()
    ranks = average_ranks(df)
    assert "only_a" not in ranks.index  # only images every model has are ranked
    lb = leaderboard(df, ci=False).set_index("model")
    # A: ranks 1, 1, 1.5, 1 -> 1.125; B: 2, 2, 1.5, 2 -> 1.875
    assert lb.loc["A", "rank_sad"] == pytest.approx(1.125) and lb.loc["B", "rank_sad"] == pytest.approx(1.875)
    assert lb.loc["A", "avg_rank"] == pytest.approx(1.125)
    assert list(leaderboard(df, ci=False)["model"]) == ["A", "B"]
    # means over the 4 images both models have; A's fifth image only in its own-images mean
    assert lb.loc["A", "n_images"] == 4 and lb.loc["A", "sad"] == pytest.approx((1 + 1 + 2 + 0.5) / 4)
    assert lb.loc["A", "n_scored"] == 5 and lb.loc["A", "sad_own"] == pytest.approx((1 + 1 + 2 + 0.5 + 9) / 5)


def test_bootstrap_interval_reproducible_and_normal_width():
    rng = np.random.default_rng(123)
    v = rng.normal(10.0, 2.0, 400)
    lo, hi = bootstrap_ci(v, n_boot=2000, seed=0)
    assert (lo, hi) == bootstrap_ci(v, n_boot=2000, seed=0)
    assert lo < v.mean() < hi
    # normal theory: the 95% interval of a mean is ±1.96 s/√n
    half = 1.96 * v.std(ddof=1) / math.sqrt(v.size)
    assert (hi - lo) / 2 == pytest.approx(half, rel=0.15)
    assert bootstrap_ci([3.0] * 10) == (3.0, 3.0)
    assert all(math.isnan(x) for x in bootstrap_ci([1.0]))
    with_nan = bootstrap_ci(np.r_[v, np.nan], n_boot=2000, seed=0)
    assert with_nan == (lo, hi)


def test_published_table_sources_and_units():
    pub = published("comp1k")
    names = list(pub["method"])
    for name in REQUIRED:
        assert name in names, name
    assert pub["source"].fillna("").str.len().gt(10).all()
    assert set(pub["verified"]) <= {"yes", "no"}
    dim = pub.set_index("method").loc["DIM (paper)"]
    # DIM paper: SAD 50.4, MSE 0.014 (printed 14.0 in paper units), Grad 31.0, Conn 50.8
    assert (dim["sad"], dim["mse"], dim["grad"], dim["conn"]) == (50.4, 14.0, 31.0, 50.8)
    assert published("comp1k", units="raw").set_index("method").loc["DIM (paper)", "mse"] == pytest.approx(0.014)


def test_published_rows_never_ranked_or_mixed():
    df = _toy()
    alone = leaderboard(df, ci=False)
    with pytest.warns(UserWarning, match="cannot be checked"):
        both = leaderboard(df, ci=False, with_published="comp1k")
    measured = both[both["kind"] == "measured"].reset_index(drop=True)
    pd.testing.assert_frame_equal(measured.drop(columns="note"), alone.drop(columns="note"), check_dtype=False)
    pub = both[both["kind"] == "published"]
    assert len(pub) == len(published("comp1k"))
    assert pub["avg_rank"].isna().all() and pub.index.min() > measured.index.max()
    md = format_leaderboard(both, "md")
    assert md.index("Published Composition-1K") > md.index("| 2 | B |")


def test_formats_parse(tmp_path):
    df = _toy()
    df.attrs["runs"] = {"A": {"method": "dim", "options": {"stage": 3}, "checkpoint_sha256": "0123456789abcdef",
                              "seconds_per_image": 1.25}}
    with pytest.warns(UserWarning, match="cannot be checked"):
        lb = leaderboard(df, with_published="comp1k", n_boot=200)
    paths = write_leaderboard(lb, tmp_path, ["md", "csv", "latex", "html", "json"])
    assert [p.suffix for p in paths] == [".md", ".csv", ".tex", ".html", ".json"]
    csv = pd.read_csv(tmp_path / "leaderboard.csv")
    assert list(csv.columns[:6]) == ["model", "n_images", "sad/1e3", "mse*1e3", "grad/1e3", "conn/1e3"]
    assert set(csv["kind"]) == {"measured", "published"}
    js = json.loads((tmp_path / "leaderboard.json").read_text())
    assert js["units"]["system"] == "paper" and [r["model"] for r in js["measured"]] == ["A", "B"]
    assert js["measured"][0]["run"] == "dim, stage=3, ckpt 01234567, 1.25 s/img/worker"  # an old run.json
    assert "<table" in (tmp_path / "leaderboard.html").read_text()
    tex = (tmp_path / "leaderboard.tex").read_text()
    assert "\\begin{tabular}" in tex and "\\toprule" in tex and "\\textbf{" in tex
    md = (tmp_path / "leaderboard.md").read_text()
    assert "MSE×1e3" in md and "paper units" in md and "ckpt 01234567" in md
    # the Markdown table parses back (pipe table -> rows)
    table = [line for line in md.splitlines() if line.startswith("| ")][:3]
    assert table[0].split("|")[2].strip() == "model" and table[1].split("|")[2].strip() == "A"
    with pytest.raises(MatbenchError, match="--format xml"):
        format_leaderboard(lb, "xml")
    assert pd.read_csv(StringIO(format_leaderboard(lb, "csv"))).shape[0] == len(lb)
    assert Path(paths[0]).read_text() == format_leaderboard(lb, "md")


def test_by_class_renders_in_every_format(golden_scores):
    df, _ = golden_scores
    df = df.copy()
    df["class"] = ["hair" if i % 2 == 0 else "glass" for i in range(len(df))]
    with pytest.warns(UserWarning, match="cannot be checked"):
        lb = leaderboard(df, by="class", with_published="comp1k", n_boot=100)
    md = format_leaderboard(lb, "md")
    assert "| class |" in md and "| hair |" in md
    assert "\\begin{tabular}{llrrrr}" in format_leaderboard(lb, "latex")
    assert json.loads(format_leaderboard(lb, "json"))["by"] == "class"
    assert "<td>glass</td>" in format_leaderboard(lb, "html")


# --------------------------------------------------------------------------- statistics that do not depend on the input

def _random_scores(models=("a", "b", "c"), n=30, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame([{"model": m, "image": f"img{i:02d}", "sad": rng.gamma(2, 10), "mse": rng.gamma(2, 0.005),
                          "grad": rng.gamma(2, 5), "conn": rng.gamma(2, 9)} for m in models for i in range(n)])


def test_intervals_depend_only_on_the_set_of_rows():
    df = _random_scores()
    lb = leaderboard(df, n_boot=300)
    for state in (7, 8):
        shuffled = df.sample(frac=1.0, random_state=state).reset_index(drop=True)
        pd.testing.assert_frame_equal(leaderboard(shuffled, n_boot=300), lb)
    # the documented procedure, written out: resample the values in image-name order
    for model in ("a", "c"):
        v = df[df["model"] == model].sort_values("image")["mse"].to_numpy() * 1000
        idx = np.random.default_rng(0).integers(0, v.size, size=(300, v.size))
        lo, hi = np.quantile(v[idx].mean(axis=1), [0.025, 0.975])
        row = lb.set_index("model").loc[model]
        assert (row["mse_lo"], row["mse_hi"]) == pytest.approx((lo, hi), rel=1e-12)
        assert row["mse"] == pytest.approx(v.mean(), rel=1e-12)


def _partial():
    # "full" has all 50 images: error 1 on the 10 easy ones, 5 on the 40 hard ones; "part" only
    # the 10 easy ones, error 2 each. On its own images "part" looks better (2 < 4.2); on the
    # images both have it is worse (2 > 1).
    rows = [{"model": "full", "image": f"e{i}", "v": 1.0} for i in range(10)]
    rows += [{"model": "full", "image": f"h{i}", "v": 5.0} for i in range(40)]
    rows += [{"model": "part", "image": f"e{i}", "v": 2.0} for i in range(10)]
    df = pd.DataFrame(rows)
    for m in METRICS:
        df[m] = df["v"] / (1000 if m == "mse" else 1)
    df = df.drop(columns="v")
    df.attrs["n_reference"] = 50
    return df


def test_partial_model_is_compared_on_the_common_images():
    lb = leaderboard(_partial(), ci=False)
    assert list(lb["model"]) == ["full", "part"]
    full, part = lb.set_index("model").loc["full"], lb.set_index("model").loc["part"]
    for m in METRICS:
        assert (full[m], part[m]) == pytest.approx((1.0, 2.0))
        assert (full[f"{m}_own"], part[f"{m}_own"]) == pytest.approx(((10 * 1 + 40 * 5) / 50, 2.0))
    assert (full["n_images"], part["n_images"]) == (10, 10)
    assert (full["n_scored"], part["n_scored"], full["n_reference"], part["n_reference"]) == (50, 10, 50, 50)
    assert (full["avg_rank"], part["avg_rank"]) == (1.0, 2.0)
    md = format_leaderboard(lb, "md")
    assert "| 1 | full | 10 | 50/50 | 1.00 |" in md and "| 2 | part | 10 | 10/50 | 2.00 |" in md
    assert "over the 10 images every measured model has (50 in the reference set)" in md
    assert "### Means over each model's own images" in md and "| full | 50/50 | 4.20 |" in md
    with pytest.warns(UserWarning, match="no image is scored for every model"):
        disjoint = leaderboard(_partial().query("image.str.startswith('h') or model == 'part'"), ci=False)
    assert disjoint["sad"].isna().all() and list(disjoint["sad_own"]) == [5.0, 2.0]
    # every model complete: no coverage column, no own-image means
    complete = leaderboard(_partial().query("model == 'full'"), ci=False)
    assert "sad_own" not in complete.columns and "coverage" not in format_leaderboard(complete, "md")


def test_by_group_ranks_within_each_group():
    # A wins every "x" image, B every "y" image
    rows = []
    values = [("x", 1.0, 3.0), ("x", 2.0, 4.0), ("y", 5.0, 1.0), ("y", 6.0, 2.0), ("y", 7.0, 3.0)]
    for i, (cls, a, b) in enumerate(values):
        rows += [{"model": "A", "image": f"i{i}", "class": cls, **dict.fromkeys(METRICS, a)},
                 {"model": "B", "image": f"i{i}", "class": cls, **dict.fromkeys(METRICS, b)}]
    df = pd.DataFrame(rows)
    by = leaderboard(df, by="class", ci=False)
    assert list(zip(by["class"], by["model"], by["avg_rank"])) == [("x", "A", 1.0), ("x", "B", 2.0),
                                                                   ("y", "B", 1.0), ("y", "A", 2.0)]
    assert by.set_index(["class", "model"]).loc[("y", "A"), "sad"] == pytest.approx(6.0)
    md = format_leaderboard(by, "md")
    assert "| 1 | A | x |" in md and "| 2 | B | x |" in md and "| 1 | B | y |" in md and "| 2 | A | y |" in md
    overall = leaderboard(df, ci=False).set_index("model")
    assert overall.loc["A", "sad"] == pytest.approx(21 / 5) and overall.loc["A", "avg_rank"] == pytest.approx(1.6)


# --------------------------------------------------------------------------- units and provenance

def test_per_image_says_which_sums_are_single_precision(tmp_path):
    from test_metrics import matlab_sum

    from matbench.metrics import evaluate
    from matbench.scorefiles import write_per_image

    rng = np.random.default_rng(5)
    gt = rng.integers(0, 256, (300, 200)).astype(np.uint8)
    pred = rng.integers(0, 256, gt.shape).astype(np.uint8)
    trimap = np.where(rng.random(gt.shape) < 0.6, 128, 255).astype(np.uint8)
    write_per_image(pd.DataFrame([{"model": "m", "image": "x", **evaluate(pred, gt, trimap)}]), tmp_path)
    row = pd.read_csv(tmp_path / "per_image.csv").iloc[0]
    unk = trimap == 128
    d = np.abs(pred.astype(np.float32) - gt.astype(np.float32))
    single = float(matlab_sum(d / np.float32(255) * unk.astype(np.float32)) / np.float32(1000))
    double = int(np.abs(pred[unk].astype(int) - gt[unk]).sum()) / 255 / 1000
    assert single != double  # the two sums of one region differ, as the trial saw
    assert row["sad/1e3"] == pytest.approx(single, rel=1e-12) and row["sad_unknown/1e3"] == pytest.approx(double, rel=1e-12)
    doc = json.loads((tmp_path / "per_image.json").read_text())
    assert "single-precision" in doc["units"]["sad"] and "double-precision" in doc["units"]["sad_unknown"]
    assert any("sad_unknown differs from sad" in n and "float32" in n for n in doc["notes"])


def test_every_file_states_its_units(golden_scores, tmp_path):
    import matbench
    from matbench.scorefiles import read_leaderboard, read_per_image, write_per_image

    df, exp = golden_scores
    write_per_image(df, tmp_path)
    per = pd.read_csv(tmp_path / "per_image.csv").set_index("image")
    assert list(per.columns[:5]) == ["model", "sad/1e3", "mse", "grad/1e3", "conn/1e3"]
    assert {"mad", "sad_image/1e3", "sad_fg/1e3"} <= set(per.columns)
    for m, header in (("sad", "sad/1e3"), ("mse", "mse"), ("conn", "conn/1e3")):  # MATLAB values, its units
        np.testing.assert_allclose(per.loc[exp.index, header], exp[m], rtol=1e-5)
    sidecar = json.loads((tmp_path / "per_image.json").read_text())
    assert "÷ 1000" in sidecar["units"]["sad"] and "unscaled" in sidecar["units"]["mse"]
    assert sidecar["attrs"]["provenance"]["matbench"] == matbench.__version__

    mse = exp["mse"].dropna().mean()
    for units, header, value, tex in (("paper", "mse*1e3", mse * 1000, r"MSE ($\times 10^{3}$)"),
                                      ("raw", "mse", mse, " & MSE & ")):
        lb = leaderboard(df, units=units, n_boot=50)
        out = tmp_path / units
        write_leaderboard(lb, out, ["csv", "md", "latex", "html", "json"])
        csv = pd.read_csv(out / "leaderboard.csv")
        assert csv.loc[0, header] == pytest.approx(value, rel=1e-5)
        assert csv.loc[0, "sad/1e3"] == pytest.approx(exp["sad"].mean(), rel=1e-5) and "mse_lo" + header[3:] in csv
        text = (out / "leaderboard.tex").read_text()
        assert tex in text and r"SAD ($\div 10^{3}$)" in text and r"Conn ($\div 10^{3}$)" in text
        assert "% provenance: matbench" in text and f"% Matting leaderboard: {UNITS_NOTE[units]}" in text
        js = json.loads((out / "leaderboard.json").read_text())
        assert js["units"]["system"] == units and "÷ 1000" in js["units"]["columns"]["sad"]
        assert ("× 1000" if units == "paper" else "unscaled") in js["units"]["columns"]["mse"]
        assert js["provenance"]["matbench"] == matbench.__version__ and js["provenance"]["scored"]
        assert js["provenance"]["reference"]["trimap_dir"].endswith("trimap")
        for fmt in ("md", "html"):
            text = (out / f"leaderboard.{'md' if fmt == 'md' else 'html'}").read_text()
            assert HEADERS[units]["mse"] in text and "SAD/1e3" in text and UNITS_NOTE[units] in text
            assert "provenance: matbench " + matbench.__version__ in text
        # the readers give back the API's names, the units and the values
        for path in (out / "leaderboard.csv", out / "leaderboard.json"):
            back = read_leaderboard(path)
            assert back.attrs["units"] == units and back.loc[0, "mse"] == pytest.approx(value, rel=1e-5)
    back = read_per_image(tmp_path)
    pd.testing.assert_frame_equal(back[["model", "image", *METRICS]], df[["model", "image", *METRICS]])
    assert back.attrs["n_reference"] == df.attrs["n_reference"]


def test_readers_convert_or_refuse_files_without_units(tmp_path):
    from matbench.scorefiles import read_leaderboard, read_per_image

    (tmp_path / "p.csv").write_text("model,image,sad/1e3,mse*1e3,grad/1e3,conn/1e3\nm,x,1.5,14.0,2.0,3.0\n")
    assert read_per_image(tmp_path / "p.csv").loc[0, "mse"] == pytest.approx(0.014)
    (tmp_path / "old.csv").write_text("model,image,sad,mse,grad,conn\nm,NA,1.5,0.014,2.0,3.0\n")
    with pytest.warns(UserWarning, match="no units in the headers"):
        old = read_per_image(tmp_path / "old.csv")
    assert old.loc[0, "image"] == "NA" and old.loc[0, "mse"] == pytest.approx(0.014)  # names stay text
    (tmp_path / "lb.csv").write_text("model,n_images,sad,mse,grad,conn\nm,1,1.5,14.0,2.0,3.0\n")
    with pytest.raises(MatbenchError, match="lb.csv: headers carry no units"):
        read_leaderboard(tmp_path / "lb.csv")


def test_matte_channel_shown_in_every_format(tmp_path):
    from matbench.scorefiles import read_per_image, write_per_image

    df = _toy()
    df.attrs["matte_channel"] = "alpha"
    lb = leaderboard(df, ci=False)
    for fmt in ("md", "latex", "html", "json"):
        assert "--matte-channel alpha" in format_leaderboard(lb, fmt), fmt
    assert json.loads(format_leaderboard(lb, "json"))["provenance"]["matte_channel"] == "alpha"
    write_per_image(df, tmp_path)
    assert read_per_image(tmp_path).attrs["matte_channel"] == "alpha"
    assert "matte-channel" not in format_leaderboard(leaderboard(_toy(), ci=False), "md")


def test_run_column_shows_wall_throughput_and_per_worker_time():
    df = _toy()
    df.attrs["runs"] = {"A": {"method": "closed-form", "options": {}, "seconds_per_image": 2.0,
                              "images_per_second": 1.9, "jobs": 4, "one_off_seconds": 40.0},
                        "B": {"method": "knn", "options": {}, "seconds_per_image": 21.0}}  # an old run.json
    lb = leaderboard(df, ci=False).set_index("model")
    assert lb.loc["A", "run"] == "closed-form, 1.9 img/s (4 jobs), 2 s/img/worker"
    assert (lb.loc["A", "wall_images_per_second"], lb.loc["A", "worker_seconds_per_image"]) == (1.9, 2.0)
    assert lb.loc["B", "run"] == "knn, 21 s/img/worker" and math.isnan(lb.loc["B", "wall_images_per_second"])
    assert "img/s = wall-clock throughput of the whole run" in format_leaderboard(leaderboard(df, ci=False), "md")


# --------------------------------------------------------------------------- published rows

def test_published_units_and_dataset_columns_are_honoured(tmp_path):
    f = tmp_path / "pub.csv"
    f.write_text("# my table\nmethod,sad,mse,grad,conn,units,source,dataset\n"
                 "RawOne,10.0,0.002,5.0,9.0,raw,my paper,MySet\nPaperOne,10.0,14.0,5.0,9.0,paper (MSE x1e3),x,MySet\n")
    paper, raw = published(f).set_index("method"), published(f, units="raw").set_index("method")
    assert paper.loc["RawOne", "mse"] == pytest.approx(2.0) and paper.loc["PaperOne", "mse"] == pytest.approx(14.0)
    assert raw.loc["RawOne", "mse"] == pytest.approx(0.002) and raw.loc["PaperOne", "mse"] == pytest.approx(0.014)
    with pytest.warns(UserWarning, match=r"\(MySet\) cannot be checked"):
        lb = leaderboard(_toy(), ci=False, with_published=f)
    md = format_leaderboard(lb, "md")
    assert "### Published MySet results" in md and "| RawOne | 10.00 | 2.00 | 5.00 | 9.00 |" in md
    with pytest.warns(UserWarning):
        lb_raw = leaderboard(_toy(), ci=False, units="raw", with_published=f)
    assert "| RawOne | 10.00 | 0.00200 |" in format_leaderboard(lb_raw, "md")
    # no units column: paper units; no dataset column: the heading says so
    g = tmp_path / "bare.csv"
    g.write_text("method,sad,mse,grad,conn,source\nOld,50.4,14.0,31.0,50.8,a paper\n")
    assert published(g, units="raw").loc[0, "mse"] == pytest.approx(0.014)
    with pytest.warns(UserWarning):
        assert "bare.csv names no dataset" in format_leaderboard(leaderboard(_toy(), ci=False, with_published=g))
    h = tmp_path / "bad.csv"
    h.write_text("method,sad,mse,grad,conn,units,source\nX,1,2,3,4,percent,p\n")
    with pytest.raises(MatbenchError, match="X: units 'percent'"):
        published(h)


def _comp1k_like(fg_sha, bg_sha, *, trimaps="official", composites=1000, n_scored=1000):
    df = pd.DataFrame({"model": "m", "image": [f"i{i:04d}" for i in range(n_scored)], **dict.fromkeys(METRICS, 1.0)})
    info = {"kind": "composition-1k", "composites": composites, "trimaps": trimaps, "fg_list_sha256": fg_sha,
            "bg_list_sha256": bg_sha}
    df.attrs.update(n_reference=composites, provenance={"reference": {"dataset": "/d/comp1k", "dataset_json": info}})
    return df


def test_comp1k_rows_are_comparable_only_on_composition_1k(adobe_lists):
    import hashlib
    import warnings

    fg = hashlib.sha256((adobe_lists / "test_fg_names.txt").read_bytes()).hexdigest()
    bg = hashlib.sha256((adobe_lists / "test_bg_names.txt").read_bytes()).hexdigest()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lb = leaderboard(_comp1k_like(fg, bg), ci=False, with_published="comp1k")
    assert lb.attrs["published"]["not_comparable"] is None
    assert "Published Composition-1K results" in format_leaderboard(lb, "md")
    for kwargs, why in ((dict(trimaps="generated (erode-dilate, kernel 25)"), "generated .* trimaps"),
                        (dict(composites=500, n_scored=500), "500 composites"),
                        (dict(n_scored=999), "over 999 of the 1000 images")):
        with pytest.warns(UserWarning, match="not comparable with the published Composition-1K rows: .*" + why):
            leaderboard(_comp1k_like(fg, bg, **kwargs), ci=False, with_published="comp1k")


def test_comp1k_rows_on_another_dataset_warn():
    with pytest.warns(UserWarning, match="not comparable .*is not Composition-1K"):
        lb = leaderboard(_comp1k_like("0" * 64, "1" * 64), ci=False, with_published="comp1k")
    assert "is not Composition-1K" in format_leaderboard(lb, "md")
    df = _toy()
    df.attrs["provenance"] = {"reference": {"alpha_dir": "/a", "trimap_dir": "/t"}}
    with pytest.warns(UserWarning, match="cannot be checked: the scores were not computed on a dataset built by"):
        leaderboard(df, ci=False, with_published="comp1k")


def _sim_like(list_sha, *, kind="sim-test", trimaps="generated (SIM script: ellipse 3x3, 5 iterations)",
              composites=890, n_scored=890, trimap_dir=None):
    df = pd.DataFrame({"model": "m", "image": [f"i{i:04d}" for i in range(n_scored)], **dict.fromkeys(METRICS, 1.0)})
    info = {"kind": kind, "composites": composites, "trimaps": trimaps, "file_list_sha256": list_sha}
    reference = {"dataset": "/d/simd", "dataset_json": info, **({"trimap_dir": trimap_dir} if trimap_dir else {})}
    df.attrs.update(n_reference=composites, provenance={"reference": reference})
    return df


def test_sim_rows_are_comparable_only_on_the_sim_test_set(sim_lists):
    import hashlib
    import warnings

    sha = hashlib.sha256((sim_lists / "SIMD_composition_test_filelist.txt").read_bytes()).hexdigest()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lb = leaderboard(_sim_like(sha), ci=False, with_published="sim")
    assert lb.attrs["published"]["not_comparable"] is None
    for kwargs, why in ((dict(trimaps="official"), "official trimaps, not the SIM script's"),
                        (dict(composites=100, n_scored=100), "100 composites, not 890.*over 100 of the 890 images"),
                        (dict(n_scored=889), "over 889 of the 890 images"),
                        (dict(trimap_dir="/t"), "scored with the trimaps of /t"),
                        (dict(kind="composition-1k"), "is not the SIM test set")):
        with pytest.warns(UserWarning, match="not comparable with the published SIM test set rows: .*" + why):
            leaderboard(_sim_like(sha, **kwargs), ci=False, with_published="sim")
    # another file list: every difference is named in one warning
    with pytest.warns(UserWarning, match=r"is not the SIM test set .*file list sha256 000000000000.*; "
                                         r"/d/simd has 10 composites, not 890; .*over 10 of the 890 images"):
        leaderboard(_sim_like("0" * 64, composites=10, n_scored=10), ci=False, with_published="sim")


def test_html_marks_intervals_and_folds_the_published_rows_on_request():
    """The HTML rendering puts each interval in <span class="ci"> and, with fold_published, the
    published section in a <details> fold (what the report used to do with regexes on it)."""
    import re
    import warnings

    df = pd.DataFrame({"model": ["a", "a", "a", "b", "b", "b"], "image": ["x", "y", "z"] * 2,
                       "sad": [1.0, 2.0, 3.0, 2.0, 2.0, 2.0], "mse": [0.001] * 6, "grad": [1.0] * 6,
                       "conn": [1.0] * 6})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not Composition-1K: the published rows are not comparable
        lb = leaderboard(df, with_published="comp1k", n_boot=200)
    text = format_leaderboard(lb, "html")
    measured = text.split('<table class="measured">')[1].split("</table>")[0]
    spans = re.findall(r'<span class="ci">\[([\d.]+)–([\d.]+)\]</span>', measured)
    assert len(spans) == 2 * 4  # two models, four metrics
    b = lb.set_index("model").loc["b"]  # constant SAD 2.0: every resample's mean is 2.0
    assert ("2.00", "2.00") == (f"{b['sad_lo']:.2f}", f"{b['sad_hi']:.2f}") and ("2.00", "2.00") in spans
    n_pub = int((lb["kind"] == "published").sum())
    assert "<details" not in text and "<h3>Published Composition-1K results" in text
    folded = format_leaderboard(lb, "html", fold_published=True)
    assert re.search(rf'<details class="published"><summary>Published Composition-1K results [^<]*: {n_pub} rows'
                     r'</summary><table class="published">.*</table>\s*</details>', folded, re.S)
    assert folded.count("<table") == text.count("<table") and "<h3>Published" not in folded
    assert "[" in format_leaderboard(lb, "md") and "<span" not in format_leaderboard(lb, "md")
