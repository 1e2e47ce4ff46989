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
from matbench.leaderboard import average_ranks, bootstrap_ci, format_leaderboard, published, write_leaderboard

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
    assert lb.loc["A", "n_images"] == 5 and lb.loc["A", "sad"] == pytest.approx((1 + 1 + 2 + 0.5 + 9) / 5)


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
    both = leaderboard(df, ci=False, with_published="comp1k")
    measured = both[both["kind"] == "measured"].reset_index(drop=True)
    pd.testing.assert_frame_equal(measured, alone)
    pub = both[both["kind"] == "published"]
    assert len(pub) == len(published("comp1k"))
    assert pub["avg_rank"].isna().all() and pub.index.min() > measured.index.max()
    md = format_leaderboard(both, "md")
    assert md.index("Published Composition-1K") > md.index("| 2 | B |")


def test_formats_parse(tmp_path):
    df = _toy()
    df.attrs["runs"] = {"A": {"method": "dim", "options": {"stage": 3}, "checkpoint_sha256": "0123456789abcdef",
                              "seconds_per_image": 1.25}}
    lb = leaderboard(df, with_published="comp1k", n_boot=200)
    paths = write_leaderboard(lb, tmp_path, ["md", "csv", "latex", "html", "json"])
    assert [p.suffix for p in paths] == [".md", ".csv", ".tex", ".html", ".json"]
    csv = pd.read_csv(tmp_path / "leaderboard.csv")
    assert list(csv.columns[:6]) == ["model", "n_images", *METRICS] and set(csv["kind"]) == {"measured", "published"}
    js = json.loads((tmp_path / "leaderboard.json").read_text())
    assert js["units"] == "paper" and [r["model"] for r in js["measured"]] == ["A", "B"]
    assert js["measured"][0]["run"] == "dim, stage=3, ckpt 01234567, 1.25 s/img"
    assert "<table" in (tmp_path / "leaderboard.html").read_text()
    tex = (tmp_path / "leaderboard.tex").read_text()
    assert "\\begin{tabular}" in tex and "\\toprule" in tex and "\\textbf{" in tex and "MSE$\\times 10^{3}$" in tex
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
    lb = leaderboard(df, by="class", with_published="comp1k", n_boot=100)
    md = format_leaderboard(lb, "md")
    assert "| class |" in md and "| hair |" in md
    assert "\\begin{tabular}{llrrrr}" in format_leaderboard(lb, "latex")
    assert json.loads(format_leaderboard(lb, "json"))["by"] == "class"
    assert "<td>glass</td>" in format_leaderboard(lb, "html")
