"""Trimap-width sweeps end to end on the small sample dataset: ``matbench trimap --dataset``
at three widths -> ``run trimap-mid --trimaps`` -> ``score --trimap-dir`` -> ``report``; and
the trimap options that contradict each other are refused."""
import json
import re
import subprocess
import sys

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from matbench.cli import main

WIDTHS = (5, 12, 20)


def _cli(*args) -> int:
    try:
        main([str(a) for a in args])
    except SystemExit as e:
        return e.code or 0
    return 0


@pytest.fixture(scope="module")
def sweep(small_dataset, tmp_path_factory):
    """``(root, {width: scores folder})`` of trimap-mid at the three widths."""
    root = tmp_path_factory.mktemp("sweep")
    assert _cli("trimap", "--dataset", small_dataset, "--out", root / "T", "--width", "small,medium,large",
                "-q", "-j", "2") == 0
    scores = {}
    for w in WIDTHS:
        assert _cli("run", "trimap-mid", "--dataset", small_dataset, "--trimaps", root / "T" / f"w{w}",
                    "--out", root / "p" / f"w{w}" / "trimap-mid", "-q") == 0
        scores[w] = root / "s" / f"w{w}"
        assert _cli("score", root / "p" / f"w{w}" / "trimap-mid", "--dataset", small_dataset, "--trimap-dir",
                    root / "T" / f"w{w}", "--out", scores[w], "-q") == 0
    return root, scores


def test_trimaps_per_composite_per_width(sweep, small_dataset):
    root, _ = sweep
    manifest = pd.read_csv(small_dataset / "manifest.csv")
    for w in WIDTHS:
        folder = root / "T" / f"w{w}"
        assert sorted(p.stem for p in folder.glob("*.png")) == sorted(manifest["image"])
        info = json.loads((folder / "trimaps.json").read_text())
        assert (info["method"], info["width_px"], info["kernel"]) == ("erode-dilate", w, 2 * w + 1)
        row = manifest.iloc[0]
        alpha = np.asarray(Image.open(small_dataset / row["alpha"]))
        # erode(alpha == 255) and dilate(alpha > 0) with a (2w+1)-px ellipse, written out with OpenCV
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * w + 1, 2 * w + 1))
        fg = cv2.erode((alpha == 255).astype(np.uint8), k).astype(bool)
        anyfg = cv2.dilate((alpha > 0).astype(np.uint8), k).astype(bool)
        expected = np.where(fg, 255, np.where(anyfg, 128, 0)).astype(np.uint8)
        np.testing.assert_array_equal(np.asarray(Image.open(folder / f"{row['image']}.png")), expected)


def test_wider_trimaps_give_larger_sad_for_trimap_mid(sweep, small_dataset):
    """trimap-mid predicts 128 on the unknown region, so SAD = Σ_unknown |128 − α| / 255; a wider
    band holds the narrower one plus pixels where α is 0 or 255 (error 127 or 128 each): SAD grows
    on every image whose band grows, and so does the mean."""
    from matbench.scorefiles import read_per_image

    _, scores = sweep
    per = {w: read_per_image(scores[w]).set_index("image") for w in WIDTHS}
    for narrow, wide in zip(WIDTHS, WIDTHS[1:]):
        grew = per[wide]["unknown_px"] > per[narrow]["unknown_px"]
        assert grew.all()
        assert (per[wide]["sad"] > per[narrow]["sad"]).all()
    means = [per[w]["sad"].mean() for w in WIDTHS]
    assert means[0] < means[1] < means[2]
    # provenance: the trimap folder and how it was made
    ref = read_per_image(scores[12]).attrs["provenance"]["reference"]
    assert ref["trimap_dir"].endswith("w12") and ref["trimaps_json"]["width_px"] == 12
    run = json.loads((scores[12].parent.parent / "p" / "w12" / "trimap-mid" / "run.json").read_text())
    assert run["input"]["trimaps"].endswith("w12")


def test_report_shows_each_metric_against_width(sweep, tmp_path):
    from matbench.scorefiles import read_per_image
    from matbench.sweep import sweep_table

    _, scores = sweep
    out = tmp_path / "sweep.html"
    assert _cli("report", scores[12], scores[5], scores[20], "--out", out, "--worst", "0") == 0
    text = out.read_text(encoding="utf-8")
    assert 'aria-label="sweep"' in text and "trimap width (px)" in text
    table = sweep_table([(None, read_per_image(scores[w])) for w in WIDTHS])
    assert list(table["width_px"]) == list(WIDTHS)
    for w, mean in zip(WIDTHS, table["sad"]):
        assert mean == pytest.approx(read_per_image(scores[w])["sad"].mean(), rel=1e-12)
    rows = re.findall(r'<tr><td class="text" rowspan="1">(\d+)</td><td class="text">trimap-mid</td><td>10</td>'
                      r'<td>([\d.]+)<br>', text)
    assert [(int(w), float(v)) for w, v in rows] == [(w, round(v, 2)) for w, v in zip(WIDTHS, table["sad"])]
    # a label that agrees with the recorded width is accepted; one that contradicts it is refused
    assert _cli("report", f"12={scores[12]}", scores[5], "--out", out, "--worst", "0") == 0
    assert _cli("report", f"7={scores[12]}", scores[5], "--out", out, "--worst", "0") == 2
    assert _cli("report", scores[12], f"12={scores[5]}", "--out", out, "--worst", "0") == 2


def _refused(capsys, *args) -> str:
    """The one-line error of a refused ``matbench report ... --worst 0``."""
    capsys.readouterr()
    assert _cli("report", *args, "--worst", "0") == 2
    err = capsys.readouterr().err
    assert err.startswith("matbench: error: ") and err.count("\n") == 1, err
    return err


def test_scorings_that_are_not_a_sweep_are_refused(sweep, small_dataset, tmp_path, capsys):
    """A sweep is one dataset scored with several trimap sets: two scorings on the dataset's own
    trimaps, two datasets, or one folder twice are refused in one line that says why, and never
    suggest a made-up width label; nothing is written."""
    import shutil

    root, scores = sweep
    pred = root / "p" / "w12" / "trimap-mid"
    official = {}
    for name in ("a", "b"):  # the same predictions scored twice on the dataset's official trimaps
        official[name] = tmp_path / f"scores-{name}"
        assert _cli("score", pred, "--dataset", small_dataset, "--out", official[name], "-q") == 0
    out = tmp_path / "compare.html"
    for args in ([official["a"], official["b"]], [f"12={official['a']}", f"20={official['b']}"]):
        err = _refused(capsys, *args, "--out", out)
        assert "the same trimaps (the dataset's own trimaps)" in err and "one `matbench score` call" in err
        assert "label" not in err
    # the same trimap folder in two scorings
    again = tmp_path / "again"
    assert _cli("score", pred, "--dataset", small_dataset, "--trimap-dir", root / "T" / "w12", "--out", again,
                "-q") == 0
    assert f"the same trimaps (trimaps {(root / 'T' / 'w12').resolve()})" in _refused(capsys, scores[12], again,
                                                                                       "--out", out)
    # another dataset: the same composites with one row fewer in manifest.csv (its sha256 differs)
    other = tmp_path / "D"
    shutil.copytree(small_dataset, other)
    lines = (other / "manifest.csv").read_text().splitlines(keepends=True)
    (other / "manifest.csv").write_text("".join(lines[:-1]))
    kept = tmp_path / "pred" / "trimap-mid"
    shutil.copytree(pred, kept)
    dropped = lines[-1].split(",")[0]
    for f in kept.glob(f"{dropped}.*"):
        f.unlink()
    scores_other = tmp_path / "scores-other"
    assert _cli("score", kept, "--dataset", other, "--trimap-dir", root / "T" / "w20", "--out", scores_other,
                "-q") == 0
    err = _refused(capsys, scores[5], scores_other, "--out", out)
    assert "scored against another dataset" in err and "report each dataset on its own" in err
    # one folder twice, also as its per_image.csv
    for args in ([scores[5], scores[5]], [scores[5], scores[5] / "per_image.csv"]):
        assert "given twice" in _refused(capsys, *args, "--out", out)
    assert not out.exists()


def test_width_label_only_for_trimaps_without_trimaps_json(sweep, small_dataset, tmp_path, capsys):
    """Trimap files without the trimaps.json of matbench trimap: a different set needs a width
    label (the error says so), a copy of a set already in the sweep is refused as the same trimaps."""
    import shutil

    from matbench.scorefiles import read_per_image
    from matbench.sweep import sweep_table

    root, scores = sweep
    bare = {}
    for w in (20, 5):
        bare[w] = tmp_path / f"bare{w}"
        shutil.copytree(root / "T" / f"w{w}", bare[w], ignore=shutil.ignore_patterns("trimaps.json"))
        s = tmp_path / f"s{w}"
        assert _cli("score", root / "p" / f"w{w}" / "trimap-mid", "--dataset", small_dataset, "--trimap-dir",
                    bare[w], "--out", s, "-q") == 0
        bare[w] = s
    out = tmp_path / "r.html"
    err = _refused(capsys, scores[5], bare[20], "--out", out)
    assert "the trimap width is not recorded" in err and f"e.g. 12={bare[20]}" in err
    assert _cli("report", scores[5], f"20={bare[20]}", "--out", out, "--worst", "0") == 0
    table = sweep_table([(None, read_per_image(scores[5])), ("20", read_per_image(bare[20]))])
    assert list(table["width_px"]) == [5, 20]
    assert table["sad"].iloc[1] == pytest.approx(read_per_image(scores[20])["sad"].mean(), rel=1e-12)
    # the same trimap files in another folder are the same set, labelled or not
    assert "the same trimaps" in _refused(capsys, scores[5], f"7={bare[5]}", "--out", tmp_path / "r2.html")


def test_sweep_api_refuses_the_same_table_twice_and_unrecorded_references(sweep):
    from matbench.errors import MatbenchError
    from matbench.scorefiles import read_per_image
    from matbench.sweep import sweep_table

    _, scores = sweep
    a = read_per_image(scores[5])
    with pytest.raises(MatbenchError, match="given twice"):
        sweep_table([(None, a), (None, a)])
    bare = read_per_image(scores[20]).copy()
    bare.attrs = {}
    with pytest.raises(MatbenchError, match="not recorded"):
        sweep_table([(None, a), ("20", bare)])


def test_run_and_score_refuse_a_trimap_folder_that_lacks_images(sweep, small_dataset, tmp_path, capsys):
    root, _ = sweep
    partial = tmp_path / "T"
    partial.mkdir()
    for p in sorted((root / "T" / "w5").glob("*.png"))[:3]:
        (partial / p.name).write_bytes(p.read_bytes())
    capsys.readouterr()
    assert _cli("run", "trimap-mid", "--dataset", small_dataset, "--trimaps", partial, "--out", tmp_path / "o",
                "-q") == 2
    err = capsys.readouterr().err
    assert err.startswith("matbench: error: 7 input problems") and err.count("no trimap for image") == 7
    assert _cli("score", root / "p" / "w5" / "trimap-mid", "--dataset", small_dataset, "--trimap-dir", partial,
                "-q") == 2
    assert "trimap file not found" in capsys.readouterr().err
    # resuming into a folder made with other trimaps is refused
    assert _cli("run", "trimap-mid", "--dataset", small_dataset, "--trimaps", root / "T" / "w12",
                "--out", root / "p" / "w5" / "trimap-mid", "-q") == 2
    assert "another input" in capsys.readouterr().err


@pytest.mark.parametrize("args, words", [
    (["--kernel", "5", "--width", "3"], "--kernel and --width"),
    (["--kernel", "5", "--method", "random"], "--kernel applies to --method erode-dilate"),
    (["--kernel", "5", "--method", "distance"], "--kernel applies to --method erode-dilate"),
    (["--width", "3", "--method", "random"], "--width does not apply to --method random"),
    (["--seed", "1"], "--seed applies to --method random only"),
    (["--width", "5,5"], "5 px given twice"),
    (["--width", "huge"], "expected a number of pixels"),
])
def test_conflicting_trimap_options_are_refused(small_dataset, tmp_path, capsys, args, words):
    assert _cli("trimap", "--dataset", small_dataset, "--out", tmp_path / "T", *args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err
    assert not (tmp_path / "T").exists()  # nothing written


def test_trimap_forms_and_help(small_dataset, tmp_path, capsys):
    assert _cli("trimap", "--dataset", small_dataset, "--out", small_dataset / "trimaps") == 2
    assert "a folder of the dataset" in capsys.readouterr().err
    assert _cli("trimap", small_dataset / "alpha", "--dataset", small_dataset, "--out", tmp_path) == 2
    assert _cli("trimap", "--dataset", small_dataset) == 2
    h = subprocess.run([sys.executable, "-m", "matbench.cli", "trimap", "--help"], capture_output=True, text=True)
    text = " ".join(h.stdout.split())
    assert "[default: erode-dilate]" in text and "[default: 25]" in text and "[default: 0]" in text
    # several widths in the alpha-folder form too: one subfolder each
    assert _cli("trimap", small_dataset / "alpha", tmp_path / "A", "--method", "distance", "--width", "3,9",
                "-q") == 0
    assert sorted(p.name for p in (tmp_path / "A").iterdir()) == ["w3", "w9"]
    assert json.loads((tmp_path / "A" / "w9" / "trimaps.json").read_text())["method"] == "distance"


def test_dataset_trimaps_read_alphas_with_the_matte_channel(small_dataset, tmp_path, capsys):
    """--matte-channel applies with --dataset too (it used to be ignored there while the command
    printed that the alphas were read with it): a manifest listing a cut-out alpha (photo colours,
    matte in the alpha channel) is refused without it and read from the alpha channel with it."""
    import shutil

    from matbench.manifest import read_manifest

    data = tmp_path / "D"
    shutil.copytree(small_dataset, data)
    row = read_manifest(data)[0]
    gray = np.asarray(Image.open(data / row["alpha"]))
    photo = np.random.default_rng(0).integers(0, 256, (*gray.shape, 3), dtype=np.uint8)
    Image.fromarray(np.dstack([photo, gray]), "RGBA").save(data / row["alpha"])
    assert _cli("trimap", "--dataset", data, "--out", tmp_path / "T0", "--width", "3", "-q") == 2
    assert "--matte-channel" in capsys.readouterr().err
    assert _cli("trimap", "--dataset", data, "--out", tmp_path / "T", "--width", "3", "--matte-channel", "alpha",
                "-q") == 0
    assert "read with --matte-channel alpha" in capsys.readouterr().out
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))  # width 3: a 2·3 + 1 px ellipse, from the gray alpha
    fg = cv2.erode((gray == 255).astype(np.uint8), k).astype(bool)
    anyfg = cv2.dilate((gray > 0).astype(np.uint8), k).astype(bool)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "T" / f"{row['image']}.png")),
                                  np.where(fg, 255, np.where(anyfg, 128, 0)).astype(np.uint8))
