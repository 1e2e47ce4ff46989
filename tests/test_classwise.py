"""Class-wise tables (matbench.classwise) and the published SIM data (Tables 1, 2, 3 of the SIM paper).

Expected values: hand-computed means of a constructed per-image table; the published numbers as
the spec (docs/specs/sim.md) transcribes the paper."""
import math

import numpy as np
import pandas as pd
import pytest

from matbench.classwise import (ALL_IMAGES, MEAN_OF_CLASSES, class_means, class_order, class_table, format_classwise,
                                published_classes)
from matbench.datasets.sim import SIM_CLASSES, read_file_list
from matbench.errors import MatbenchError
from matbench.leaderboard import format_leaderboard, leaderboard, published

# The spec's transcription of the SIM paper (docs/specs/sim.md, "Published rows").
TABLE1 = {"DIM": (48.07, 15.0, 31.67, 46.26), "IndexNet": (51.29, 14.0, 34.19, 48.77),
          "GCA": (39.28, 11.0, 28.70, 36.03), "SIM": (27.87, 4.7, 11.57, 20.83)}
TABLE2 = {"Closed-form": (168.1, 91.0, 126.9, 167.9), "KNN": (175.4, 103.0, 124.1, 176.4),
          "DCNN": (161.4, 87.0, 115.1, 161.9), "Learning-Based": (113.9, 48.0, 91.6, 122.2),
          "Information-flow": (75.4, 66.0, 63.0, None), "AlphaGAN": (52.4, 30.0, 38.0, None),
          "AdaMatting": (41.7, 10.0, 16.9, None), "SampleNet": (40.4, 9.9, None, None),
          "Context-Aware": (35.8, 8.2, 17.3, 33.2)}
TABLE3_SIM = [13.49, 35.44, 5.90, 49.19, 5.68, 7.72, 96.85, 4.04, 50.35, 37.10, 20.98, 34.14, 36.70, 1.39, 27.42,
              63.79, 51.08, 41.78, 16.94, 20.53]


def per_image():
    """Two models; fur has 3 images, net 1, texture_holed 2, and one class the paper lacks."""
    images = [("f1", "fur"), ("f2", "fur"), ("f3", "fur"), ("n1", "net"), ("t1", "texture_holed"),
              ("t2", "texture_holed"), ("z1", "zebra")]
    sad = {"A": [1.0, 2.0, 3.0, 10.0, 4.0, 6.0, 7.0], "B": [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]}
    mse = {"A": [0.001, 0.002, math.nan, 0.004, 0.001, 0.001, 0.001], "B": [0.002] * 7}
    rows = [{"model": m, "image": i, "sad": sad[m][k], "mse": mse[m][k], "grad": 1.0, "conn": sad[m][k] / 2,
             "class": c, "fg": i, "bg": "b"} for m in ("A", "B") for k, (i, c) in enumerate(images)]
    return pd.DataFrame(rows)


def test_per_class_mean_weighs_images_within_classes_only():
    cw = class_means(per_image())
    a = cw[cw["model"] == "A"].set_index("class")
    assert list(a.index) == ["fur", "net", "texture_holed", "zebra", ALL_IMAGES, MEAN_OF_CLASSES]
    assert a.loc["fur", "sad"] == 2.0 and a.loc["net", "sad"] == 10.0 and a.loc["texture_holed", "sad"] == 5.0
    assert a.loc[ALL_IMAGES, "sad"] == pytest.approx(33 / 7)           # each image once
    assert a.loc[MEAN_OF_CLASSES, "sad"] == pytest.approx((2 + 10 + 5 + 7) / 4)   # each class once
    assert a.loc["fur", "mse"] == pytest.approx(1.5)                    # NaN image left out; x1e3
    assert list(a["n_images"]) == [3, 1, 2, 1, 7, 4]
    assert cw["units"].str.startswith("SAD, Grad, Conn are the DIM MATLAB sums ÷ 1000; MSE × 1e3").all()
    assert a.loc["texture_holed", "label"] == "lace" and a.loc["texture_holed", "mapping"] == "assumed"
    assert any("assumed to be texture_holed" in n for n in cw.attrs["notes"])
    raw = class_means(per_image(), units="raw").set_index(["model", "class"])
    assert raw.loc[("A", "fur"), "mse"] == pytest.approx(0.0015)


def test_class_order_and_wide_table():
    assert class_order(["zebra", "", "water_spray", "defocus", "plant_leaf", "apple"]) == [
        "defocus", "plant_leaf", "water_spray", "apple", "zebra", ""]
    wide = class_table(class_means(per_image()), "sad")
    assert list(wide.columns) == ["fur", "net", "lace", "zebra", ALL_IMAGES, MEAN_OF_CLASSES]
    assert list(wide.index) == ["A", "B"] and wide.loc["B", "net"] == 2.0


def test_no_class_column_is_an_error():
    df = per_image().drop(columns="class")
    with pytest.raises(MatbenchError, match="no class column"):
        class_means(df)


def test_latex_is_the_paper_shape_with_best_in_bold():
    tex = format_classwise(class_means(per_image()), "latex")
    sad = tex.split("% SAD per class")[1].split(r"\end{tabular}")[0]
    header = [line for line in sad.splitlines() if line.startswith("Method")][0]
    assert header == r"Method & fur & net & lace$^\dagger$ & zebra & all images & mean of classes \\"
    assert r"A & \textbf{2.00} & 10.00 & 5.00 & 7.00 & 4.71 & 6.00 \\" in sad     # fur: a tie, both bold
    assert "B & " + " & ".join([r"\textbf{2.00}"] * 6) + r" \\" in sad
    assert "lace and silk (the paper's names) are assumed" in tex


def test_published_tables_parse_with_sources_and_units():
    t3 = published_classes("sim")
    assert len(t3) == 80 and set(t3["method"]) == set(TABLE1)
    for method, sub in t3.groupby("method"):
        assert list(sub["class"]) == list(SIM_CLASSES)
    assert t3["source"].str.contains("Table 3").all() and (t3["units"] == "paper (SAD / 1000)").all()
    assert list(t3[t3["method"] == "SIM"]["sad"]) == TABLE3_SIM
    maps = dict(zip(t3["class"], t3["mapping"].fillna("")))
    assert maps["texture_holed"] == maps["texture_smooth"] == "assumed" and maps["plant_tree"] == "by name"
    assert maps["fur"] == ""
    assert dict(zip(t3["class"], t3["table_class"]))["texture_smooth"] == "silk"
    t1 = published("sim")
    assert {r.method: (r.sad, r.mse, r.grad, r.conn) for r in t1.itertuples()} == TABLE1
    assert t1["source"].str.contains("Table 1").all() and (t1["units"] == "paper").all()  # converted to the units asked for
    comp = published("comp1k").set_index("method")
    for method, values in TABLE2.items():
        got = tuple(None if math.isnan(v) else v for v in comp.loc[method, ["sad", "mse", "grad", "conn"]])
        assert got == values, method
        assert "Semantic Image Matting, CVPR 2021, Table 2" in comp.loc[method, "source"]
        assert comp.loc[method, "verified"] == "yes"


def test_table3_weighted_by_the_file_lists_class_sizes_gives_table1(sim_lists):
    """Per-class means over images (Table 3), weighted by the authors' class sizes, are the mean
    over all 890 images (Table 1): the published tables and the per-image reading agree."""
    comps, _ = read_file_list(sim_lists / "SIMD_composition_test_filelist.txt")
    sizes = pd.Series([c.klass for c in comps]).value_counts()
    t3 = published_classes("sim")
    for method, sub in t3.groupby("method"):
        weighted = float(np.sum(sub["sad"].to_numpy() * sizes[sub["class"]].to_numpy()) / sizes.sum())
        assert weighted == pytest.approx(TABLE1[method][0], abs=0.005), method


def test_classwise_with_published_rows():
    cw = class_means(per_image(), with_published="sim")
    pub = cw[cw["kind"] == "published"]
    assert len(pub) == 84 and pub["n_images"].isna().all()
    sim_all = pub[(pub["model"] == "SIM") & (pub["class"] == ALL_IMAGES)].iloc[0]
    assert (sim_all["sad"], sim_all["mse"], sim_all["grad"], sim_all["conn"]) == TABLE1["SIM"]
    md = format_classwise(cw, "md")
    assert "| lace† (texture_holed) | 2 | 5.00 | 2.00 | 101.78 | 114.47 | 80.51 | 51.08 |" in md
    assert "| fire |  | – | – | 60.53 |" in md
    mse = md.split("### MSE×1e3 per class")[1].split("###")[0]
    assert "fire" not in mse                         # no value in this metric: no row
    tex = format_classwise(cw, "latex")
    assert r"\emph{Published (SIM paper)}" in tex and r"\textbf{101.78}" not in tex


def test_leaderboard_with_published_sim_and_class_order():
    lb = leaderboard(per_image(), with_published="sim", ci=False)
    pub = lb[lb["kind"] == "published"]
    assert list(pub["model"]) == list(TABLE1) and (pub["n_images"] == 890).all()
    md = format_leaderboard(lb, "md")
    assert "### Published SIM test set (SIMD) results" in md
    assert r"\emph{Published (SIM test set (SIMD); not measured here)}" in format_leaderboard(lb, "latex")
    comp = leaderboard(per_image(), with_published="comp1k", ci=False)
    assert "### Published Composition-1K results" in format_leaderboard(comp, "md")
    assert (comp[comp["kind"] == "published"]["n_images"] == 1000).all()
    by = leaderboard(per_image(), by="class", ci=False)
    assert list(by[by["model"] == "A"]["class"]) == ["fur", "net", "texture_holed", "zebra"]


@pytest.mark.parametrize("units, mse_header, mse_scale", [("paper", "mse*1e3", 1e3), ("raw", "mse", 1.0)])
def test_csv_headers_carry_the_scale(units, mse_header, mse_scale):
    """classwise.csv follows the rule of every matbench CSV: a header names its scale
    (``sad/1e3``, ``mse*1e3``), a bare name holds the quantity itself. The MSE column used to be
    a bare ``mse`` holding MSE × 1e3 in paper units."""
    import io

    table = pd.read_csv(io.StringIO(format_classwise(class_means(per_image(), units=units), "csv")))
    assert {"sad/1e3", mse_header, "grad/1e3", "conn/1e3", "n_images"} <= set(table.columns)
    assert "sad" not in table.columns and (units == "raw" or "mse" not in table.columns)
    fur = table[(table["model"] == "A") & (table["class"] == "fur")].iloc[0]
    # model A's fur images: SAD 1, 2, 3 (already ÷ 1000 in per-image units); MSE 0.001, 0.002 and NaN
    assert fur["sad/1e3"] == pytest.approx(2.0)
    assert fur[mse_header] == pytest.approx(0.0015 * mse_scale)
