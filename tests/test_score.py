"""matbench.score: pairing, strictness and numbers against the golden MATLAB results.

The golden cases are linked (never copied) into temporary alpha/trimap/prediction folders;
per-image numbers must equal ``golden/metrics/expected.csv``, the Octave run of the DIM
MATLAB code.
"""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from matbench import score
from matbench.errors import MatbenchError
from matbench.manifest import write_manifest

METRICS = ("sad", "mse", "grad", "conn")


def _expected(golden):
    return pd.read_csv(golden / "metrics" / "expected.csv").set_index("case")


def _cases(golden, big=True):
    names = sorted(p.name for p in (golden / "metrics" / "cases").iterdir() if p.is_dir())
    return names if big else [n for n in names if not n.startswith("b")]


def _link(src: Path, dst: Path):
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.symlink_to(src)


def _layout(tmp, golden, cases, models=("m1",), pred="pred"):
    """alpha/, trimap/ and one folder per model with links to the golden files."""
    root = golden / "metrics" / "cases"
    for c in cases:
        _link(root / c / "gt.png", tmp / "alpha" / f"{c}.png")
        _link(root / c / "trimap.png", tmp / "trimap" / f"{c}.png")
        for m in models:
            _link(root / c / f"{pred}.png", tmp / m / f"{c}.png")
    return tmp / "alpha", tmp / "trimap"


def _close(a, b, rel=1e-5, abs_=1e-9):
    if math.isnan(b):
        return math.isnan(a)
    return abs(a - b) <= max(abs_, rel * abs(b))


def _png(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path) if mode else Image.fromarray(array).save(path)


# --------------------------------------------------------------------------- numbers

def test_per_image_matches_golden(tmp_path, golden):
    alpha, trimap = _layout(tmp_path, golden, _cases(golden))
    df = score([tmp_path / "m1"], alpha_dir=alpha, trimap_dir=trimap, progress=False)
    exp = _expected(golden)
    assert list(df.columns[:6]) == ["model", "image", *METRICS]
    assert set(df["image"]) == set(exp.index)
    for _, row in df.iterrows():
        for m in METRICS:
            assert _close(row[m], float(exp.loc[row["image"], m])), (row["image"], m, row[m])
    assert (df["model"] == "m1").all()
    assert {"mad", "sad_image", "sad_unknown", "sad_fg", "sad_bg"} <= set(df.columns)


def test_jobs_give_identical_tables(tmp_path, golden):
    alpha, trimap = _layout(tmp_path, golden, _cases(golden, big=False), models=("a", "b"))
    one = score([tmp_path / "a", tmp_path / "b"], alpha_dir=alpha, trimap_dir=trimap, jobs=1, progress=False)
    two = score([tmp_path / "a", tmp_path / "b"], alpha_dir=alpha, trimap_dir=trimap, jobs=2, progress=False)
    pd.testing.assert_frame_equal(one, two)
    assert list(one["model"].unique()) == ["a", "b"]


def test_adobe_layout_maps_stem_k_to_alpha(tmp_path, golden):
    root = golden / "metrics" / "cases"
    case = "c06_odd37x53"
    _link(root / case / "gt.png", tmp_path / "alpha" / "fgA.png")
    for k in (0, 1):
        _link(root / case / "trimap.png", tmp_path / "trimap" / f"fgA_{k}.png")
        _link(root / case / "pred.png", tmp_path / "p" / f"fgA_{k}.png")
    df = score({"named": tmp_path / "p"}, alpha_dir=tmp_path / "alpha", trimap_dir=tmp_path / "trimap",
               progress=False)
    exp = _expected(golden).loc[case]
    assert list(df["image"]) == ["fgA_0", "fgA_1"] and (df["model"] == "named").all()
    for m in METRICS:
        assert all(_close(v, float(exp[m])) for v in df[m])


def test_mask_known_is_the_usual_post_processing(tmp_path, golden):
    # c05 is c04's prediction with 0/255 written where the trimap is 0/255
    root = golden / "metrics" / "cases"
    for name in ("alpha", "trimap", "p"):
        src = {"alpha": "gt", "trimap": "trimap", "p": "pred"}[name]
        _link(root / "c04_zero_pred" / f"{src}.png", tmp_path / name / "x.png")
    exp = _expected(golden)
    plain = score([tmp_path / "p"], alpha_dir=tmp_path / "alpha", trimap_dir=tmp_path / "trimap", progress=False)
    masked = score([tmp_path / "p"], alpha_dir=tmp_path / "alpha", trimap_dir=tmp_path / "trimap",
                   mask_known=True, progress=False)
    assert _close(plain["grad"][0], float(exp.loc["c04_zero_pred", "grad"]))
    assert _close(masked["grad"][0], float(exp.loc["c05_zero_unknown_masked", "grad"]))
    assert masked.attrs["mask_known"] is True and plain.attrs["mask_known"] is False


def test_dataset_manifest_pairs_and_groups(tmp_path, golden):
    cases = ["c01_smooth64_masked", "c06_odd37x53", "c14_large120x160"]
    root = golden / "metrics" / "cases"
    rows = []
    for i, c in enumerate(cases):
        _link(root / c / "gt.png", tmp_path / "ds" / "alpha" / f"{c}.png")
        _link(root / c / "trimap.png", tmp_path / "ds" / "trimaps" / f"{c}_0.png")
        _link(root / c / "pred.png", tmp_path / "pred" / f"{c}_0.png")
        rows.append({"split": "test", "image": f"{c}_0", "fg": f"{c}.png", "bg": f"bg{i}.jpg", "k": 0,
                     "merged": f"merged/{c}_0.png", "alpha": f"alpha/{c}.png", "trimap": f"trimaps/{c}_0.png",
                     "class": "hair" if i < 2 else "glass"})
    write_manifest(tmp_path / "ds", rows)
    (tmp_path / "pred" / "run.json").write_text(json.dumps(
        {"method": "dim", "options": {"stage": 3, "checkpoint": "/x.pth"}, "checkpoint_sha256": "abcdef0123456789",
         "seconds_per_image": 0.5}))
    df = score([tmp_path / "pred"], dataset=tmp_path / "ds", progress=False)
    exp = _expected(golden)
    assert list(df["class"]) == ["hair", "hair", "glass"]
    assert list(df["fg"]) == [f"{c}.png" for c in cases]
    for c, (_, row) in zip(cases, df.iterrows()):
        assert _close(row["sad"], float(exp.loc[c, "sad"]))
    assert df.attrs["runs"]["pred"]["method"] == "dim"


# --------------------------------------------------------------------------- strictness

def test_missing_predictions_listed_or_allowed(tmp_path, golden):
    cases = _cases(golden, big=False)[:5]
    alpha, trimap = _layout(tmp_path, golden, cases)
    for c in cases[1:4]:
        (tmp_path / "m1" / f"{c}.png").unlink()
    with pytest.raises(MatbenchError) as e:
        score([tmp_path / "m1"], alpha_dir=alpha, trimap_dir=trimap, progress=False)
    msg = str(e.value)
    assert "\n" not in msg and all(c in msg for c in cases[1:4]) and "3 of 5" in msg
    with pytest.warns(UserWarning, match="2 of 5"):
        df = score([tmp_path / "m1"], alpha_dir=alpha, trimap_dir=trimap, allow_missing=True, progress=False)
    assert sorted(df["image"]) == sorted([cases[0], cases[4]])
    assert df.attrs["coverage"] == {"m1": 2} and df.attrs["n_reference"] == 5


def test_missing_alpha_names_the_file(tmp_path, golden):
    cases = _cases(golden, big=False)[:2]
    alpha, trimap = _layout(tmp_path, golden, cases)
    (alpha / f"{cases[1]}.png").unlink()
    with pytest.raises(MatbenchError, match=f"{cases[1]}.png: alpha not found"):
        score([tmp_path / "m1"], alpha_dir=alpha, trimap_dir=trimap, progress=False)


def test_missing_trimap_in_manifest_names_the_file(tmp_path, golden):
    root = golden / "metrics" / "cases" / "c06_odd37x53"
    _link(root / "gt.png", tmp_path / "ds" / "alpha" / "a.png")
    _link(root / "pred.png", tmp_path / "pred" / "a_0.png")
    write_manifest(tmp_path / "ds", [{"image": "a_0", "merged": "m/a_0.png", "alpha": "alpha/a.png",
                                      "trimap": "trimaps/a_0.png"}])
    with pytest.raises(MatbenchError, match=r"trimaps/a_0\.png: trimap file not found"):
        score([tmp_path / "pred"], dataset=tmp_path / "ds", progress=False)


def test_extra_prediction_files_warn(tmp_path, golden):
    cases = _cases(golden, big=False)[:2]
    alpha, trimap = _layout(tmp_path, golden, cases)
    _png(tmp_path / "m1" / "stray.png", np.zeros((4, 4), np.uint8))
    with pytest.warns(UserWarning, match="stray"):
        df = score([tmp_path / "m1"], alpha_dir=alpha, trimap_dir=trimap, progress=False)
    assert "stray" not in set(df["image"])


def _small_set(tmp_path, h=20, w=30):
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 256, (h, w), dtype=np.uint8)
    tri = np.full((h, w), 128, np.uint8)
    tri[:5] = 0
    tri[-5:] = 255
    _png(tmp_path / "alpha" / "x.png", gt)
    _png(tmp_path / "trimap" / "x.png", tri)
    return gt, tri


def test_size_mismatch_names_the_prediction(tmp_path):
    _small_set(tmp_path)
    _png(tmp_path / "p" / "x.png", np.zeros((21, 30), np.uint8))
    with pytest.raises(MatbenchError, match=r"p/x\.png: prediction is 30×21 but ground-truth alpha x\.png is 30×20"):
        score([tmp_path / "p"], alpha_dir=tmp_path / "alpha", trimap_dir=tmp_path / "trimap", progress=False)


def test_truncated_prediction_is_one_line_error(tmp_path):
    _small_set(tmp_path)
    _png(tmp_path / "full" / "x.png", np.random.default_rng(0).integers(0, 256, (20, 30), dtype=np.uint8))
    data = (tmp_path / "full" / "x.png").read_bytes()
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "x.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(MatbenchError) as e:
        score([tmp_path / "p"], alpha_dir=tmp_path / "alpha", trimap_dir=tmp_path / "trimap", progress=False,
              jobs=1)
    assert "x.png" in str(e.value) and "\n" not in str(e.value)


def test_sixteen_bit_prediction_rejected(tmp_path):
    _small_set(tmp_path)
    (tmp_path / "p").mkdir()
    Image.fromarray(np.full((20, 30), 40000, np.uint16)).save(tmp_path / "p" / "x.png")
    with pytest.raises(MatbenchError, match=r"x\.png: .*16-bit samples"):
        score([tmp_path / "p"], alpha_dir=tmp_path / "alpha", trimap_dir=tmp_path / "trimap", progress=False)


def test_odd_trimap_values_counted_and_not_unknown(tmp_path):
    gt, tri = _small_set(tmp_path)
    tri = tri.copy()
    tri[5:7] = 127  # 60 pixels that are not unknown in the reference
    _png(tmp_path / "trimap" / "x.png", tri)
    pred = np.zeros_like(gt)
    _png(tmp_path / "p" / "x.png", pred)
    with pytest.warns(UserWarning, match=r"1 trimap\(s\) have 60 pixels that are not 0/128/255 .*x\.png"):
        df = score([tmp_path / "p"], alpha_dir=tmp_path / "alpha", trimap_dir=tmp_path / "trimap", progress=False)
    unk = tri == 128
    sad = np.abs(gt[unk].astype(float) - pred[unk]).sum() / 255 / 1000  # the definition, by hand
    mse = (((gt[unk].astype(float) - pred[unk]) / 255) ** 2).mean()
    assert _close(df["sad"][0], sad) and _close(df["mse"][0], mse)
    assert df.attrs["trimap_other"] == {"x": 60}


def test_duplicate_model_names_rejected(tmp_path, golden):
    alpha, trimap = _layout(tmp_path, golden, _cases(golden, big=False)[:1], models=("m1",))
    with pytest.raises(MatbenchError, match="two prediction folders named 'm1'"):
        score([tmp_path / "m1", f"m1={tmp_path / 'm1'}"], alpha_dir=alpha, trimap_dir=trimap, progress=False)


# --------------------------------------------------------------------------- CLI

def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-c", "from matbench.cli import main; main()", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def test_cli_error_is_one_line_exit_2(tmp_path):
    _small_set(tmp_path)
    _png(tmp_path / "p" / "x.png", np.zeros((21, 30), np.uint8))
    r = _cli("score", tmp_path / "p", "--alpha-dir", tmp_path / "alpha", "--trimap-dir", tmp_path / "trimap", "-q")
    assert r.returncode == 2
    err = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("matbench: error:") and "x.png" in err[0]
    assert "Traceback" not in r.stderr


def test_cli_writes_outputs(tmp_path, golden):
    cases = _cases(golden, big=False)[:4]
    alpha, trimap = _layout(tmp_path, golden, cases, models=("m1",))
    out = tmp_path / "out"
    r = _cli("score", f"best={tmp_path / 'm1'}", "--alpha-dir", alpha, "--trimap-dir", trimap, "--out", out,
             "--format", "md,latex", "--format", "json", "--with-published", "comp1k", "--mask-known", "-q")
    assert r.returncode == 0, r.stderr
    assert "MSE×1e3" in r.stdout and "Published Composition-1K" in r.stdout and "--mask-known" in r.stdout
    per = pd.read_csv(out / "per_image.csv")
    assert list(per.columns[:6]) == ["model", "image", "sad/1e3", "mse", "grad/1e3", "conn/1e3"] and len(per) == 4
    lb = pd.read_csv(out / "leaderboard.csv")
    assert list(lb.columns[:6]) == ["model", "n_images", "sad/1e3", "mse*1e3", "grad/1e3", "conn/1e3"]
    assert lb.loc[lb["kind"] == "measured", "model"].tolist() == ["best"]
    assert (out / "leaderboard.md").is_file() and (out / "leaderboard.tex").is_file()
    assert json.loads((out / "leaderboard.json").read_text())["units"]["system"] == "paper"


def test_split_label_one_rule_for_name_equals_path(tmp_path):
    """NAME=PATH (score), WIDTH=PATH and MODEL=DIR (report) share one rule: split at the first
    '=', unless the whole text is an existing file or folder."""
    from matbench.score import parse_pred_dirs, split_label

    odd = tmp_path / "lr=1e-4"
    odd.mkdir()
    (tmp_path / "p").mkdir()
    assert split_label(f"12={tmp_path / 'p'}") == ("12", str(tmp_path / "p"))
    assert split_label(str(odd)) == (None, str(odd))  # an existing name with '='
    assert split_label(str(tmp_path / "p")) == (None, str(tmp_path / "p"))
    for text, what in (("=x", "NAME"), ("x=", "LABEL")):
        with pytest.raises(MatbenchError, match=f"expected PATH or {what}=PATH"):
            split_label(text, what)
    assert parse_pred_dirs([str(odd), f"mine={tmp_path / 'p'}"]) == [("lr=1e-4", odd), ("mine", tmp_path / "p")]


# --------------------------------------------------------------------------- missing inputs, run.json

def _small_reference(tmp_path, n):
    """``n`` images x0..x{n-1} (alpha, trimap) and a prediction folder p with all of them."""
    gt, tri = _small_set(tmp_path)
    for i in range(n):
        _png(tmp_path / "alpha" / f"x{i}.png", gt)
        _png(tmp_path / "trimap" / f"x{i}.png", tri)
        _png(tmp_path / "p" / f"x{i}.png", gt)
    for folder in ("alpha", "trimap"):
        (tmp_path / folder / "x.png").unlink()
    return tmp_path / "alpha", tmp_path / "trimap"


def test_missing_predictions_are_capped_and_an_unfinished_run_says_how_to_resume(tmp_path):
    alpha, trimap = _small_reference(tmp_path, 14)
    missing = [f"x{i}" for i in range(1, 14)]
    for name in missing:
        (tmp_path / "p" / f"{name}.png").unlink()
    with pytest.raises(MatbenchError) as e:
        score([tmp_path / "p"], alpha_dir=alpha, trimap_dir=trimap, progress=False)
    msg = str(e.value)
    shown = [n for n in missing if f"{n}," in msg or f"{n} " in msg or msg.endswith(n)]
    assert "13 of 14 missing" in msg and len(shown) == 10 and "(3 more)" in msg and "resume" not in msg
    run = {"method": "trimap-mid", "options": {}, "images": 14, "complete": False,
           "input": {"images": str(tmp_path / "imgs"), "trimaps": str(trimap.resolve())}}
    (tmp_path / "p" / "run.json").write_text(json.dumps(run))
    with pytest.raises(MatbenchError) as e:
        score([tmp_path / "p"], alpha_dir=alpha, trimap_dir=trimap, progress=False)
    msg = str(e.value)
    assert "\n" not in msg and "unfinished run of trimap-mid" in msg
    assert (f"matbench run trimap-mid --images {tmp_path / 'imgs'} --trimaps {trimap.resolve()} "
            f"--out {tmp_path / 'p'}") in msg


def test_folder_mode_prediction_without_its_trimap_is_a_missing_trimap_error(tmp_path, golden):
    """Adobe layout: alpha fgA, trimaps fgA_0 only; predictions fgA_0, fgA_1 and fgA (named after the alpha)."""
    root = golden / "metrics" / "cases" / "c06_odd37x53"
    _link(root / "gt.png", tmp_path / "alpha" / "fgA.png")
    _link(root / "trimap.png", tmp_path / "trimap" / "fgA_0.png")
    for name in ("fgA_0", "fgA_1", "fgA", "stray"):
        _link(root / "pred.png", tmp_path / "p" / f"{name}.png")
    kwargs = dict(alpha_dir=tmp_path / "alpha", trimap_dir=tmp_path / "trimap", progress=False)
    with pytest.raises(MatbenchError) as e:
        score([tmp_path / "p"], **kwargs)
    msg = str(e.value)
    assert msg.startswith("trimap missing:") and "2 prediction(s)" in msg and "fgA, fgA_1" in msg
    assert "stray" not in msg and "\n" not in msg
    with pytest.warns(UserWarning, match="not scored, trimap missing"):
        df = score([tmp_path / "p"], allow_missing=True, **kwargs)
    assert list(df["image"]) == ["fgA_0"]


def test_run_json_of_other_trimaps_or_dataset_is_warned(tmp_path, small_dataset):
    from matbench.baselines import run_baseline
    from matbench.trimap import write_trimaps

    write_trimaps(tmp_path / "t", "erode-dilate", dataset=small_dataset, width="12", progress=False)
    run_baseline("trimap-mid", tmp_path / "p", dataset=small_dataset, trimaps=tmp_path / "t", progress=False)
    with pytest.warns(UserWarning, match=r"made from trimaps .*/t, scored against the dataset trimaps") as rec:
        score([tmp_path / "p"], dataset=small_dataset, progress=False)
    assert sum("run.json" in str(w.message) for w in rec) == 1
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same trimaps: nothing to say
        score([tmp_path / "p"], dataset=small_dataset, trimap_dir=tmp_path / "t", progress=False)
    run_baseline("trimap-mid", tmp_path / "q", dataset=small_dataset, progress=False)
    with pytest.warns(UserWarning, match="made from the dataset trimaps, scored against trimaps"):
        score([tmp_path / "q"], dataset=small_dataset, trimap_dir=tmp_path / "t", progress=False)


def test_score_out_inside_an_input_folder_is_refused(tmp_path, golden):
    cases = _cases(golden, big=False)[:2]
    alpha, trimap = _layout(tmp_path, golden, cases)
    before = sorted(p.name for p in (tmp_path / "m1").iterdir())
    for out in (tmp_path / "m1", tmp_path / "m1" / "scores", alpha, trimap / "x"):
        r = _cli("score", tmp_path / "m1", "--alpha-dir", alpha, "--trimap-dir", trimap, "--out", out, "-q")
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "choose another --out" in r.stderr, r.stderr
    assert sorted(p.name for p in (tmp_path / "m1").iterdir()) == before and not (trimap / "x").exists()
    df = score([tmp_path / "m1"], alpha_dir=alpha, trimap_dir=trimap, progress=False)
    from matbench.scorefiles import write_score_outputs

    with pytest.raises(MatbenchError, match="is inside the prediction folder"):
        write_score_outputs(df, tmp_path / "m1" / "s")


# ------------------------------------------------------------------ advice tailored to the reference mode

def test_incomplete_reference_advice_names_the_missing_half(small_dataset, tmp_path):
    """Folder mode with one folder: the error names the other folder, not --dataset's options."""
    from matbench.baselines.runner import run_baseline

    alphas, trimaps = small_dataset / "alpha", small_dataset / "trimaps"
    with pytest.raises(MatbenchError) as e:
        score([trimaps], alpha_dir=alphas, progress=False)
    assert str(e.value).startswith(f"--alpha-dir {alphas} needs --trimap-dir DIR") and "--dataset" not in str(e.value)
    with pytest.raises(MatbenchError) as e:
        score([trimaps], trimap_dir=trimaps, progress=False)
    assert str(e.value).startswith(f"--trimap-dir {trimaps} needs the alphas: --alpha-dir DIR")
    with pytest.raises(MatbenchError, match="give --dataset DIR, or both --alpha-dir and --trimap-dir"):
        score([trimaps], progress=False)
    with pytest.raises(MatbenchError) as e:
        run_baseline("trimap-mid", tmp_path / "o", images=small_dataset / "merged", progress=False)
    assert str(e.value).startswith(f"--images {small_dataset / 'merged'} needs --trimaps DIR")
    assert "--dataset" not in str(e.value) and not (tmp_path / "o").exists()


def test_by_group_advice_follows_the_reference_mode(small_dataset, tmp_path):
    """--by class without a class column: scores on folders are told to score with --dataset;
    scores on a dataset whose manifest has no class are told exactly that (rescoring with
    --dataset, which they did, would not help)."""
    import shutil

    import matbench
    from matbench.manifest import read_manifest

    alphas, trimaps = small_dataset / "alpha", small_dataset / "trimaps"
    folders = score([trimaps], alpha_dir=alphas, trimap_dir=trimaps, progress=False)
    with pytest.raises(MatbenchError) as e:
        matbench.leaderboard(folders, by="class")
    assert "--alpha-dir/--trimap-dir folders, which carry no class" in str(e.value)
    assert "score with --dataset DIR" in str(e.value)

    plain = tmp_path / "no-class"
    shutil.copytree(small_dataset, plain)
    write_manifest(plain, [dict(r, **{"class": ""}) for r in read_manifest(plain)])
    scored = score([trimaps], dataset=plain, progress=False)
    with pytest.raises(MatbenchError) as e:
        matbench.leaderboard(scored, by="class")
    assert f"{plain.resolve()}, records no class for any image" in str(e.value)
    assert "score with --dataset" not in str(e.value)

    r = _cli("score", trimaps, "--alpha-dir", alphas, "--trimap-dir", trimaps, "--by", "class")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "--alpha-dir/--trimap-dir folders carry no class" in r.stderr and "--dataset DIR instead" in r.stderr
