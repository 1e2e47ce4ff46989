"""Paired comparison of models on constructed per-image tables, against numpy/scipy computed
here: mean of the paired differences, a percentile bootstrap over images, win shares, the
Wilcoxon signed-rank and sign tests."""
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from matbench.compare import compare, format_comparison, paired, statement
from matbench.errors import MatbenchError
from matbench.scorefiles import api_column

N = 40


def _table(models: dict, images=None):
    """Per-image rows (reference units) from ``{model: (sad, mse, grad, conn) arrays}``."""
    rows = []
    for model, (sad, mse, grad, conn) in models.items():
        for i in range(len(sad)):
            rows.append({"model": model, "image": (images or [f"img{j:03d}" for j in range(len(sad))])[i],
                         "sad": sad[i], "mse": mse[i], "grad": grad[i], "conn": conn[i]})
    return pd.DataFrame(rows)


def _models(seed=0):
    rng = np.random.default_rng(seed)
    base = rng.gamma(2.0, 10.0, N)
    worse = base + rng.uniform(0.5, 3.0, N)  # larger error on every image
    mixed = base + rng.normal(0, 2.0, N)  # sometimes better, sometimes worse
    mse = base / 1e4
    return {"good": (base, mse, base / 2, base), "worse": (worse, mse + 1e-4, worse / 2, worse + 1),
            "same": (base.copy(), mse.copy(), base / 2, base.copy()), "mixed": (mixed, mse, mixed / 2, mixed)}


def _bootstrap(d, n_boot=1000, seed=0):
    """The percentile bootstrap written out: resample the images with replacement."""
    idx = np.random.default_rng(seed).integers(0, d.size, size=(n_boot, d.size))
    return tuple(np.quantile(d[idx].mean(axis=1), [0.025, 0.975]))


def test_better_on_every_image_wins_every_image_and_its_interval_excludes_zero():
    m = _models()
    cmp = compare(_table({"good": m["good"], "worse": m["worse"]}))
    assert len(cmp) == 1
    r = cmp.iloc[0]
    assert (r["model_a"], r["model_b"]) == ("good", "worse")  # A: the lower mean SAD
    d = m["worse"][0] - m["good"][0]
    assert r["sad_diff"] == pytest.approx(d.mean(), rel=1e-12)
    assert (r["sad_diff_lo"], r["sad_diff_hi"]) == pytest.approx(_bootstrap(d), rel=1e-12)
    assert r["sad_diff_lo"] > 0
    assert (r["a_wins_sad"], r["b_wins_sad"], r["ties_sad"]) == (1.0, 0.0, 0.0)
    assert r["p_sad"] == pytest.approx(stats.wilcoxon(d).pvalue, rel=1e-12)
    assert r["p_sad"] < 1e-6
    # MSE in paper units (× 1000): the difference of 1e-4 is 0.1
    assert r["mse_diff"] == pytest.approx(0.1, rel=1e-9) and r["n_mse"] == N
    assert statement(r, "sad").startswith(f"good beats worse on SAD by {d.mean():.2f} [")


def test_identical_models_differ_by_zero_with_p_one():
    m = _models()
    cmp = compare(_table({"good": m["good"], "same": m["same"]}))
    r = cmp.iloc[0]
    for metric in ("sad", "mse", "grad", "conn"):
        assert r[f"{metric}_diff"] == 0 and r[f"{metric}_diff_lo"] == 0 and r[f"{metric}_diff_hi"] == 0
        assert r[f"p_{metric}"] == 1.0 and r[f"ties_{metric}"] == 1.0
    assert "tie on SAD" in statement(r, "sad")


def test_mixed_model_matches_scipy_and_numpy():
    m = _models()
    cmp = compare(_table({"good": m["good"], "mixed": m["mixed"]}))
    r = cmp.iloc[0]
    a, b = (m["good"], m["mixed"]) if r["model_a"] == "good" else (m["mixed"], m["good"])
    d = b[0] - a[0]
    assert r["sad_diff"] == pytest.approx(d.mean(), rel=1e-12)
    assert (r["sad_diff_lo"], r["sad_diff_hi"]) == pytest.approx(_bootstrap(d), rel=1e-12)
    assert r["a_wins_sad"] == pytest.approx(np.mean(d > 0)) and r["b_wins_sad"] == pytest.approx(np.mean(d < 0))
    assert r["p_sad"] == pytest.approx(stats.wilcoxon(d).pvalue, rel=1e-12)
    sign = compare(_table({"good": m["good"], "mixed": m["mixed"]}), test="sign").iloc[0]
    assert sign["p_sad"] == pytest.approx(stats.binomtest(int((d > 0).sum()), int((d != 0).sum())).pvalue)


def test_statistics_do_not_depend_on_row_order():
    m = _models()
    df = _table({k: m[k] for k in ("good", "worse", "mixed")})
    shuffled = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(compare(df), compare(shuffled))


def test_pairs_use_the_images_both_models_have_and_mse_skips_nan():
    m = _models()
    df = _table({"good": m["good"], "worse": m["worse"]})
    df = df[~((df["model"] == "worse") & (df["image"] == "img000"))]  # worse lacks one image
    df.loc[df["image"] == "img001", "mse"] = np.nan  # no unknown pixels there
    r = compare(df).iloc[0]
    assert r["n_images"] == N - 1 and r["n_sad"] == N - 1 and r["n_mse"] == N - 2
    d = (m["worse"][0] - m["good"][0])[1:]
    assert r["sad_diff"] == pytest.approx(d.mean(), rel=1e-12)


def test_baseline_compares_each_model_with_it():
    m = _models()
    cmp = compare(_table(m), baseline="worse")
    assert list(cmp["model_b"]) == ["worse"] * 3 and set(cmp["model_a"]) == {"good", "same", "mixed"}
    by_a = cmp.set_index("model_a")
    assert by_a.loc["good", "sad_diff_lo"] > 0 and by_a.loc["same", "sad_diff_lo"] > 0  # both beat the baseline
    assert len(compare(_table(m))) == 6  # every pair
    with pytest.raises(MatbenchError, match="--baseline nope"):
        compare(_table(m), baseline="nope")
    with pytest.raises(MatbenchError, match="two models"):
        compare(_table({"good": m["good"]}))


def test_paired_on_arrays_drops_nan_pairs():
    r = paired([1.0, 2.0, np.nan, 4.0], [2.0, 2.0, 3.0, np.nan])
    assert r["n"] == 2 and r["diff"] == pytest.approx(0.5) and r["ties"] == 0.5 and r["a_wins"] == 0.5


def test_csv_headers_carry_units_and_json_states_them():
    m = _models()
    cmp = compare(_table({"good": m["good"], "worse": m["worse"]}))
    text = format_comparison(cmp, "csv")
    header = text.splitlines()[0].split(",")
    assert {"sad_diff/1e3", "sad_diff_lo/1e3", "mse_diff*1e3", "grad_diff_hi/1e3", "conn_diff/1e3", "a_wins_sad",
            "p_mse", "n_grad"} <= set(header)
    row = dict(zip(header, text.splitlines()[1].split(",")))
    assert float(row["mse_diff*1e3"]) == pytest.approx(0.1, rel=1e-9)
    assert api_column("mse_diff*1e3") == ("mse_diff", "*1e3")
    raw = format_comparison(compare(_table({"good": m["good"], "worse": m["worse"]}), units="raw"), "csv")
    assert "mse_diff," in raw.splitlines()[0] + "," and "mse_diff*1e3" not in raw
    doc = json.loads(format_comparison(cmp, "json"))
    assert doc["test"] == "Wilcoxon signed-rank" and len(doc["statements"]) == 4
    assert "B − A" in doc["units"]["columns"]["sad_diff"] and "fraction" in doc["units"]["columns"]["a_wins_sad"]
