"""Never silently wrong (issue 11): every command reads a matte by the one rule or refuses it, reports
lossy files and odd trimap values the same way, checks its whole input set and reports every
problem at once, with nothing written.

Each kind of fault is tried in every command that meets it (score, run, trimap, build-comp1k,
build-train, verify) and their Python functions. Expected values come from first principles
(a perfect prediction scores 0; SAD is Σ|p − g|/255/1000 over trimap == 128, computed here with
numpy; a file read by the rule gives the values of the same matte stored as 8-bit gray).
"""
import csv
import json
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest
from PIL import Image

from matbench import score
from matbench.baselines import run_baseline
from matbench.build import build_comp1k, build_train, verify
from matbench.errors import MatbenchError
from matbench.manifest import HASH_COLUMNS, read_manifest, write_manifest
from matbench.trimap import make_trimaps
from test_build import make_release

H, W = 48, 64  # the 64×48 example
RNG = np.random.default_rng(11)
GT = np.clip(np.linspace(-80, 335, W)[None, :] + RNG.normal(0, 20, (H, W)), 0, 255).astype(np.uint8)
PHOTO = RNG.integers(0, 256, (H, W, 3), dtype=np.uint8)
TRIMAP = np.full((H, W), 128, np.uint8)
TRIMAP[:, :12], TRIMAP[:, -12:] = 0, 255
PRED = np.clip(GT.astype(int) + RNG.integers(-30, 31, (H, W)), 0, 255).astype(np.uint8)


def save(path, array, mode=None, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    (Image.fromarray(array, mode) if mode else Image.fromarray(array)).save(path, **kw)
    return path


def cutout(matte):
    """An RGBA cut-out: photo colours in RGB, the matte in the alpha channel."""
    return np.dstack([PHOTO, matte])


def gray_palette(array):
    im = Image.fromarray(array, "P")
    im.putpalette([v for i in range(256) for v in (i, i, i)])
    return im


def sad_by_hand(pred, gt, trimap):
    unk = trimap == 128
    return np.abs(pred.astype(np.float64) - gt)[unk].sum() / 255 / 1000


def reference(tmp_path, gt=GT, trimap=TRIMAP, name="x"):
    save(tmp_path / "alpha" / f"{name}.png", gt)
    save(tmp_path / "trimap" / f"{name}.png", trimap)
    return {"alpha_dir": tmp_path / "alpha", "trimap_dir": tmp_path / "trimap", "progress": False}


def one_line(e):
    text = str(e.value)
    assert "\n" not in text
    return text


def cli(*args):
    return subprocess.run([sys.executable, "-m", "matbench.cli", *map(str, args)], capture_output=True, text=True)


# ------------------------------------------------------------------ mattes stored in colour

def test_score_cutout_prediction_refused_then_exact_with_alpha_channel(tmp_path):
    ref = reference(tmp_path)
    pred = save(tmp_path / "p" / "x.png", cutout(GT))  # a perfect prediction saved as a cut-out
    with pytest.raises(MatbenchError) as e:
        score([tmp_path / "p"], **ref)
    msg = one_line(e)
    assert str(pred) in msg and "alpha channel is not 255" in msg and "--matte-channel" in msg
    df = score([tmp_path / "p"], matte_channel="alpha", **ref)
    assert (df[["sad", "mse", "grad", "conn"]].to_numpy() == 0).all()  # perfect: exactly 0
    assert df.attrs["matte_channel"] == "alpha"
    # what the old silent reading (channel 1) gives, now only on request
    red = score([tmp_path / "p"], matte_channel="red", **ref)
    assert red["sad"][0] == pytest.approx(sad_by_hand(PHOTO[..., 0], GT, TRIMAP), rel=1e-5) and red["sad"][0] > 0.1


def test_score_ground_truth_with_matte_in_channel_4(tmp_path):
    ref = reference(tmp_path, gt=cutout(GT))
    save(tmp_path / "p" / "x.png", PRED)
    with pytest.raises(MatbenchError, match=r"alpha.x\.png: RGBA image .*--matte-channel"):
        score([tmp_path / "p"], **ref)
    df = score([tmp_path / "p"], matte_channel="alpha", **ref)
    assert df["sad"][0] == pytest.approx(sad_by_hand(PRED, GT, TRIMAP), rel=1e-5)
    unk = TRIMAP == 128
    assert df["mse"][0] == pytest.approx((((PRED[unk] - GT[unk].astype(float)) / 255) ** 2).mean(), rel=1e-5)


def test_cli_score_cutout(tmp_path):
    ref = reference(tmp_path)
    save(tmp_path / "p" / "x.png", cutout(GT))
    r = cli("score", tmp_path / "p", "--alpha-dir", ref["alpha_dir"], "--trimap-dir", ref["trimap_dir"], "-q",
            "--out", tmp_path / "out", "--matte-channel", "alpha")
    assert r.returncode == 0, r.stderr
    from matbench.scorefiles import read_per_image

    per = read_per_image(tmp_path / "out")
    assert per["sad"].tolist() == [0.0] and per.attrs["matte_channel"] == "alpha"


@pytest.mark.parametrize("channel", [None, "red", "alpha"])
def test_sixteen_bit_rgb_refused_like_sixteen_bit_gray(tmp_path, channel):
    ref = reference(tmp_path)
    (tmp_path / "p").mkdir()
    cv2.imwrite(str(tmp_path / "p" / "x.png"), np.dstack([GT] * 3).astype(np.uint16) * 257)
    with pytest.raises(MatbenchError, match=r"x\.png: PNG RGB has 16-bit samples.*never rescales"):
        score([tmp_path / "p"], matte_channel=channel, **ref)


def test_palette_trimaps(tmp_path):
    ref = reference(tmp_path)
    gray_palette(TRIMAP).save(tmp_path / "trimap" / "x.png")
    save(tmp_path / "p" / "x.png", PRED)
    assert score([tmp_path / "p"], **ref)["sad"][0] == pytest.approx(sad_by_hand(PRED, GT, TRIMAP), rel=1e-5)
    # indices 0/1/2 shown as black/gray/white: the reference reads 0/1/2 (SAD 0, MSE NaN)
    coloured = Image.fromarray((TRIMAP // 127).astype(np.uint8), "P")
    coloured.putpalette([0, 0, 0, 128, 128, 128, 255, 255, 255])
    coloured.save(tmp_path / "trimap" / "x.png")
    for channel in (None, "red"):
        with pytest.raises(MatbenchError, match=r"trimap.x\.png: palette image whose palette maps index 1"):
            score([tmp_path / "p"], matte_channel=channel, **ref)


def test_run_reads_trimaps_by_the_rule(tmp_path):
    save(tmp_path / "img" / "x.png", PHOTO)
    save(tmp_path / "tri" / "x.png", cutout(TRIMAP))
    args = {"images": tmp_path / "img", "trimaps": tmp_path / "tri", "progress": False}
    with pytest.raises(MatbenchError, match=r"tri.x\.png: RGBA .*--matte-channel"):
        run_baseline("trimap-mid", tmp_path / "o", **args)
    assert not (tmp_path / "o").exists()
    run_json = run_baseline("trimap-mid", tmp_path / "o", matte_channel="alpha", **args)
    expected = np.where(TRIMAP == 0, 0, np.where(TRIMAP == 255, 255, 128))  # trimap-mid, by definition
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "o" / "x.png")), expected)
    assert json.loads(run_json.read_text())["options"]["matte_channel"] == "alpha"
    (tmp_path / "o" / "x.png").unlink()
    with pytest.raises(MatbenchError, match=r"different options matte_channel: 'alpha' then, None now"):
        run_baseline("trimap-mid", tmp_path / "o", **args)


def test_trimap_command_reads_alphas_by_the_rule(tmp_path):
    save(tmp_path / "a" / "x.png", cutout(GT))
    with pytest.raises(MatbenchError, match=r"a.x\.png: RGBA .*--matte-channel"):
        make_trimaps(tmp_path / "a", tmp_path / "t")
    assert not (tmp_path / "t").exists()
    r = cli("trimap", tmp_path / "a", tmp_path / "t", "--kernel", "5", "--matte-channel", "alpha", "-q")
    assert r.returncode == 0 and "--matte-channel alpha" in r.stdout, r.stderr
    # mmagic's formulation on the true alpha: eroded >= 255 -> fg, dilated <= 0 -> bg
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    want = np.full(GT.shape, 128, np.uint8)
    want[cv2.erode(GT, k) >= 255] = 255
    want[cv2.dilate(GT, k) <= 0] = 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "t" / "x.png")), want)


def _alpha_path(adobe, i=0):
    return adobe / "Combined_Dataset/Test_set/Adobe-licensed images/alpha" / f"fg{i}.png"


def _merged(out):
    return {p.name: np.asarray(Image.open(p)) for p in sorted((out / "merged").iterdir())}


def test_build_reads_release_alphas_by_the_rule(tmp_path):
    """Gray, equal-channel and gray-identity palette alphas give the same composites (the script
    reads the same values from each); a colour alpha is refused unless a channel is chosen."""
    adobe, voc = make_release(tmp_path / "src", n_fg=1, bgs_per_fg=2)
    gray = np.asarray(Image.open(_alpha_path(adobe)))
    build_comp1k(adobe, voc, tmp_path / "gray", bgs_per_fg=2, trimaps="generate", progress=False)
    for kind in ("rgb", "palette"):
        (gray_palette(gray) if kind == "palette" else Image.fromarray(np.dstack([gray] * 3))).save(_alpha_path(adobe))
        build_comp1k(adobe, voc, tmp_path / kind, bgs_per_fg=2, trimaps="generate", progress=False)
        assert _merged(tmp_path / kind).keys() == _merged(tmp_path / "gray").keys()
        for name, px in _merged(tmp_path / kind).items():
            np.testing.assert_array_equal(px, _merged(tmp_path / "gray")[name])
    save(_alpha_path(adobe), np.dstack([gray, PHOTO[:gray.shape[0], :gray.shape[1], 1], gray]))
    with pytest.raises(MatbenchError, match=r"alpha.fg0\.png: RGB image whose colour channels differ"):
        build_comp1k(adobe, voc, tmp_path / "colour", bgs_per_fg=2, trimaps="generate", progress=False)
    assert not (tmp_path / "colour").exists()
    build_comp1k(adobe, voc, tmp_path / "red", bgs_per_fg=2, trimaps="generate", matte_channel="red", progress=False)
    for name, px in _merged(tmp_path / "red").items():  # channel 1 is the gray matte
        np.testing.assert_array_equal(px, _merged(tmp_path / "gray")[name])
    assert json.loads((tmp_path / "red" / "dataset.json").read_text())["matte_channel"] == "red"
    with pytest.raises(MatbenchError, match="matte_channel differ"):
        build_comp1k(adobe, voc, tmp_path / "red", bgs_per_fg=2, trimaps="generate", matte_channel="alpha",
                     progress=False)


def test_build_train_reports_the_release_jpeg_alphas_once(golden, tmp_path):
    gin = golden / "composition" / "input"
    with pytest.warns(UserWarning) as record:
        build_train(gin / "adobe", gin / "coco", tmp_path / "t", bgs_per_fg=5, write_bg=False, progress=False)
    msgs = [str(w.message) for w in record if "JPEG" in str(w.message)]
    assert len(msgs) == 1 and msgs[0].startswith("the release ships its 3 training alphas as JPEG")


# ------------------------------------------------------------------ lossy files and odd trimap values

def test_lossy_and_odd_values_reported_by_every_command(tmp_path):
    # run: a JPEG trimap (gray levels around 0/128/255, only exact 128 is unknown)
    save(tmp_path / "img" / "x.png", PHOTO)
    save(tmp_path / "tri" / "x.jpg", TRIMAP, quality=75)
    jpeg_trimap = np.asarray(Image.open(tmp_path / "tri" / "x.jpg"))
    odd = int(np.count_nonzero((jpeg_trimap != 0) & (jpeg_trimap != 128) & (jpeg_trimap != 255)))
    assert odd > 0
    with pytest.warns(UserWarning) as record:
        run_baseline("trimap-mid", tmp_path / "o", images=tmp_path / "img", trimaps=tmp_path / "tri", progress=False)
    msgs = " | ".join(str(w.message) for w in record)
    assert f"1 trimap(s) have {odd} pixels that are not 0/128/255" in msgs
    assert "1 trimap file(s) are lossy (JPEG/WebP), read as decoded: x.jpg" in msgs
    # score: a JPEG ground truth, and the same JPEG trimap
    save(tmp_path / "gt" / "x.jpg", GT, quality=90)
    save(tmp_path / "p" / "x.png", PRED)
    with pytest.warns(UserWarning) as record:
        score([tmp_path / "p"], alpha_dir=tmp_path / "gt", trimap_dir=tmp_path / "tri", progress=False)
    msgs = " | ".join(str(w.message) for w in record)
    assert "1 ground-truth alpha file(s) are lossy" in msgs and "x.jpg" in msgs
    assert f"1 trimap(s) have {odd} pixels that are not 0/128/255" in msgs
    # trimap: a JPEG alpha
    with pytest.warns(UserWarning, match=r"1 alpha file\(s\) are lossy .*x\.jpg"):
        make_trimaps(tmp_path / "gt", tmp_path / "t")
    # build-comp1k: official trimaps with odd values, a JPEG-decoded alpha saved as PNG is fine
    adobe, voc = make_release(tmp_path / "src", n_fg=1, bgs_per_fg=2, trimaps=True)
    official = adobe / "Combined_Dataset/Test_set/Adobe-licensed images/trimaps/fg0_1.png"
    t = np.asarray(Image.open(official)).copy()
    t[:3, :5] = 127
    save(official, t)
    with pytest.warns(UserWarning, match=r"1 trimap\(s\) have 15 pixels that are not 0/128/255 .*fg0_1\.png"):
        build_comp1k(adobe, voc, tmp_path / "b", bgs_per_fg=2, progress=False)


# ------------------------------------------------------------------ the reference set is complete

def test_score_reference_set_must_be_complete(tmp_path):
    for name in ("fgA", "lonely"):
        save(tmp_path / "alpha" / f"{name}.png", GT)
    for name in ("fgA_0", "fgA_1", "orphan_3", "solo"):
        save(tmp_path / "trimap" / f"{name}.png", TRIMAP)
        save(tmp_path / "p" / f"{name}.png", PRED)
    with pytest.raises(MatbenchError) as e:
        score([tmp_path / "p"], alpha_dir=tmp_path / "alpha", trimap_dir=tmp_path / "trimap", progress=False)
    msg = str(e.value)
    assert msg.startswith("3 reference set problems")
    assert "orphan_3.png: alpha not found (or orphan.png) for trimap orphan_3.png" in msg
    assert "solo.png: alpha not found for trimap solo.png" in msg
    assert "lonely.png: trimap not found (nor any lonely_K) for alpha lonely.png" in msg
    assert "fgA" not in msg  # the Adobe layout: one alpha per foreground, trimaps STEM_K


def test_build_official_trimaps_required(tmp_path):
    adobe, voc = make_release(tmp_path / "src", n_fg=2, bgs_per_fg=2)
    with pytest.raises(MatbenchError) as e:
        build_comp1k(adobe, voc, tmp_path / "o", bgs_per_fg=2, progress=False)
    assert "no official trimaps folder" in one_line(e) and "--trimaps generate" in str(e.value)
    trimaps = adobe / "Combined_Dataset/Test_set/Adobe-licensed images/trimaps"
    trimaps.mkdir()
    with pytest.raises(MatbenchError, match=r"^4 listed files missing: .*fg0_0\.png, fg0_1\.png, fg1_0\.png, fg1_1"):
        build_comp1k(adobe, voc, tmp_path / "o", bgs_per_fg=2, progress=False)  # empty
    for name in ("fg0_0", "fg1_1"):
        save(trimaps / f"{name}.png", np.full((40, 60), 128, np.uint8))
    with pytest.raises(MatbenchError, match=r"^2 listed files missing: .*trimaps: fg0_1\.png, fg1_0\.png$"):
        build_comp1k(adobe, voc, tmp_path / "o", bgs_per_fg=2, progress=False)  # partial
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ every problem at once, nothing written

def test_score_reports_every_bad_file_at_once(tmp_path):
    for name in ("a", "b", "c", "d"):
        reference(tmp_path, name=name)
        save(tmp_path / "m1" / f"{name}.png", PRED)
        save(tmp_path / "m2" / f"{name}.png", PRED)
    save(tmp_path / "m1" / "a.png", PRED[:-1])                                         # size
    cv2.imwrite(str(tmp_path / "m2" / "b.png"), PRED.astype(np.uint16) * 257)          # 16-bit
    (tmp_path / "trimap" / "c.png").write_bytes(b"not an image")                       # unreadable
    save(tmp_path / "alpha" / "d.png", cutout(GT))                                     # cut-out
    args = ["score", tmp_path / "m1", tmp_path / "m2", "--alpha-dir", tmp_path / "alpha", "--trimap-dir",
            tmp_path / "trimap", "--out", tmp_path / "out", "-q"]
    r = cli(*args)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    # the headers and, in the same report, the pixels of the colour files whose header passed
    assert r.stderr.startswith("matbench: error: 4 input problems (nothing was computed or written):")
    for part in ("m1/a.png: prediction is 64×47 but ground-truth alpha a.png is 64×48", "m2/b.png: PNG I;16",
                 "trimap/c.png: not an image file", "alpha/d.png: RGBA image"):
        assert part in r.stderr, part
    assert not (tmp_path / "out").exists()
    # alone, the cut-out is still refused
    save(tmp_path / "m1" / "a.png", PRED)
    save(tmp_path / "m2" / "b.png", PRED)
    save(tmp_path / "trimap" / "c.png", TRIMAP)
    with pytest.raises(MatbenchError, match=r"alpha.d\.png: RGBA image"):
        score([tmp_path / "m1", tmp_path / "m2"], alpha_dir=tmp_path / "alpha", trimap_dir=tmp_path / "trimap",
              progress=False)


def test_score_collects_decoding_problems(tmp_path):
    for name in ("a", "b", "c"):
        reference(tmp_path, name=name)
        save(tmp_path / "p" / f"{name}.png", PRED)
    data = (tmp_path / "p" / "a.png").read_bytes()
    (tmp_path / "p" / "a.png").write_bytes(data[: len(data) // 2])  # the header is fine, the pixels are cut
    save(tmp_path / "p" / "c.png", np.dstack([PRED, PRED, GT]))     # colour: only visible in the pixels
    r = cli("score", tmp_path / "p", "--alpha-dir", tmp_path / "alpha", "--trimap-dir", tmp_path / "trimap",
            "--out", tmp_path / "out", "-q")
    assert r.returncode == 2 and r.stderr.startswith("matbench: error: 2 input problems")
    assert "p/a.png: unreadable or truncated image" in r.stderr and "p/c.png: RGB image whose colour" in r.stderr
    assert not (tmp_path / "out").exists()
    with pytest.raises(MatbenchError, match=r"(?s)^2 input problems.*p.a\.png: unreadable.*p.c\.png: RGB image"):
        score([tmp_path / "p"], alpha_dir=tmp_path / "alpha", trimap_dir=tmp_path / "trimap", jobs=2,
              progress=False)  # collected from the worker processes too


def test_run_reports_every_bad_input_at_once(tmp_path):
    for name in ("a", "b", "c"):
        save(tmp_path / "img" / f"{name}.png", PHOTO)
        save(tmp_path / "tri" / f"{name}.png", TRIMAP)
    save(tmp_path / "tri" / "a.png", TRIMAP[:-2])                    # size
    save(tmp_path / "tri" / "b.png", np.dstack([TRIMAP, TRIMAP, GT]))  # colour
    cv2.imwrite(str(tmp_path / "img" / "c.png"), PHOTO.astype(np.uint16) * 257)  # 16-bit image
    args = {"images": tmp_path / "img", "trimaps": tmp_path / "tri", "progress": False}
    with pytest.raises(MatbenchError) as e:
        run_baseline("trimap-mid", tmp_path / "o", **args)
    msg = str(e.value)
    assert msg.startswith("3 input problems") and "tri/a.png: trimap is 64×46 but image a.png is 64×48" in msg
    assert "img/c.png: PNG RGB has 16-bit samples" in msg
    assert "tri/b.png: RGB image whose colour channels differ" in msg  # its pixels, in the same report
    assert not (tmp_path / "o").exists()
    save(tmp_path / "tri" / "a.png", TRIMAP)
    save(tmp_path / "img" / "c.png", PHOTO)
    with pytest.raises(MatbenchError, match=r"tri.b\.png: RGB image whose colour channels differ"):
        run_baseline("trimap-mid", tmp_path / "o", **args)  # found by decoding, before predicting
    assert not (tmp_path / "o").exists()
    # an image whose pixels are cut: found while predicting; the others are written, run.json incomplete
    save(tmp_path / "tri" / "b.png", TRIMAP)
    data = (tmp_path / "img" / "b.png").read_bytes()
    (tmp_path / "img" / "b.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(MatbenchError, match=r"img.b\.png: unreadable or truncated.*rerun the same command to resume"):
        run_baseline("trimap-mid", tmp_path / "o", **args)
    assert sorted(p.name for p in (tmp_path / "o").glob("*.png")) == ["a.png", "c.png"]
    assert json.loads((tmp_path / "o" / "run.json").read_text())["complete"] is False


def test_trimap_command_reports_every_bad_alpha_at_once(tmp_path):
    save(tmp_path / "a" / "x.png", GT)
    save(tmp_path / "a" / "y.png", np.dstack([GT, GT, PRED]))
    cv2.imwrite(str(tmp_path / "a" / "z.png"), GT.astype(np.uint16) * 257)
    with pytest.raises(MatbenchError) as e:
        make_trimaps(tmp_path / "a", tmp_path / "t")
    # headers first: the 16-bit file; nothing is decoded or written until the headers are clean
    assert "z.png: PNG I;16 has 16-bit samples" in str(e.value) and not (tmp_path / "t").exists()
    (tmp_path / "a" / "z.png").unlink()
    with pytest.raises(MatbenchError, match=r"y\.png: RGB image whose colour channels differ.*other alphas were"):
        make_trimaps(tmp_path / "a", tmp_path / "t")


def test_build_reports_every_bad_source_at_once(tmp_path):
    adobe, voc = make_release(tmp_path / "src", n_fg=3, bgs_per_fg=2)
    cv2.imwrite(str(_alpha_path(adobe, 0)), np.zeros((40, 60), np.uint16))
    save(_alpha_path(adobe, 1), np.zeros((41, 60), np.uint8))
    save(_alpha_path(adobe, 2), np.dstack([np.zeros((40, 60, 2), np.uint8), np.ones((40, 60), np.uint8)]))
    with pytest.raises(MatbenchError) as e:
        build_comp1k(adobe, voc, tmp_path / "o", bgs_per_fg=2, trimaps="generate", progress=False)
    msg = str(e.value)
    assert msg.startswith("2 input problems (nothing was computed or written)")  # headers; then the pixels
    assert "fg0.png: PNG I;16 has 16-bit samples" in msg and "fg1.png: test alpha is 60×41 but foreground" in msg
    assert not (tmp_path / "o").exists()
    save(_alpha_path(adobe, 0), np.zeros((40, 60), np.uint8))
    save(_alpha_path(adobe, 1), np.zeros((40, 60), np.uint8))
    with pytest.raises(MatbenchError, match=r"fg2\.png: RGB image whose colour channels differ"):
        build_comp1k(adobe, voc, tmp_path / "o", bgs_per_fg=2, trimaps="generate", progress=False)
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ verify

def test_verify_old_manifest_then_resume_adds_hashes(tmp_path):
    adobe, voc = make_release(tmp_path / "src", n_fg=2, bgs_per_fg=2)
    out = tmp_path / "o"
    build_comp1k(adobe, voc, out, bgs_per_fg=2, trimaps="generate", progress=False)
    rows = read_manifest(out)
    new = {h for h, _ in HASH_COLUMNS.values()} - {"sha256"}
    with open(out / "manifest.csv", "w", newline="") as f:  # the manifest of an older matbench
        writer = csv.DictWriter(f, fieldnames=[c for c in rows[0] if c not in new], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(MatbenchError) as e:
        verify(out)
    assert "older matbench" in one_line(e) and "rerun the same build command" in str(e.value)
    build_comp1k(adobe, voc, out, bgs_per_fg=2, trimaps="generate", progress=False)  # resumes, hashes
    assert read_manifest(out) == rows
    assert verify(out)["ok"]


def test_verify_checks_any_registered_path_column(tmp_path, monkeypatch):
    """Another builder's manifest column is checked as soon as it is in HASH_COLUMNS."""
    import matbench.build
    from matbench.compose import pixels_sha256

    save(tmp_path / "m" / "a.png", PHOTO)
    save(tmp_path / "x" / "a.png", GT)
    write_manifest(tmp_path, [{"image": "a", "merged": "m/a.png", "alpha": "", "trimap": "",
                               "sha256": pixels_sha256(PHOTO)}])
    text = (tmp_path / "manifest.csv").read_text().splitlines()
    (tmp_path / "manifest.csv").write_text(f"{text[0]},extra_path,extra_sha256\n{text[1]},x/a.png,"
                                           f"{pixels_sha256(GT)}\n")
    monkeypatch.setitem(matbench.build.HASH_COLUMNS, "extra_path", ("extra_sha256", "matte"))
    assert verify(tmp_path)["files"] == 2 and verify(tmp_path)["ok"]
    save(tmp_path / "x" / "a.png", 255 - GT)
    assert verify(tmp_path)["changed"] == ["x/a.png"]


# ------------------------------------------------------------------ one-off costs (issue 12)

def test_numba_cache_state_is_told_before_compiling(tmp_path):
    (tmp_path / "tiny_kernel.py").write_text(textwrap.dedent("""
        from numba import njit

        @njit(cache=True)
        def twice(x):
            return 2 * x
        """))
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import tiny_kernel as t; "
             "from matbench.metrics import numba_cached; before = numba_cached([t.twice]); t.twice(3); "
             "print(before, numba_cached([t.twice]))")
    env = {**__import__("os").environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, env=env)
            for _ in range(2)]
    assert [r.stdout.split() for r in runs] == [["False", "True"], ["True", "True"]], [r.stderr for r in runs]


def test_score_announces_compilation_before_the_progress_bar(tmp_path, monkeypatch, capsys):
    import matbench.metrics as metrics

    ref = reference(tmp_path)
    save(tmp_path / "p" / "x.png", PRED)
    for cached, said in ((False, True), (True, False)):
        monkeypatch.setattr(metrics, "_WARM", [])
        monkeypatch.setattr(metrics, "kernels_cached", lambda: cached)
        score([tmp_path / "p"], **{**ref, "progress": True})
        err = capsys.readouterr().err
        assert ("matbench: compiling the metric kernels (once, ~" in err) == said
        if said:
            assert err.index("compiling the metric kernels") < err.index("score:")


def test_run_json_timings_exclude_the_warm_up(tmp_path, monkeypatch):
    import time

    import matbench.baselines.runner as runner
    from matbench.baselines.trivial import trimap_mid

    def slow_first_call(image, trimap, _seen=[]):
        if not _seen:  # a one-off cost, as numba compiling on first use
            _seen.append(1)
            time.sleep(0.4)
        return trimap_mid(image, trimap)

    monkeypatch.setattr(runner, "make_predictor", lambda name, **kw: (slow_first_call, {}, {}))
    monkeypatch.setattr(runner, "_WARMED", set())
    for name in ("a", "b", "c"):
        save(tmp_path / "img" / f"{name}.png", PHOTO)
        save(tmp_path / "tri" / f"{name}.png", TRIMAP)
    record = json.loads(run_baseline("trimap-mid", tmp_path / "o", images=tmp_path / "img",
                                     trimaps=tmp_path / "tri", progress=False).read_text())
    assert record["one_off_seconds"] >= 0.4 and record["seconds_per_image"] < 0.1
    assert record["jobs"] == 1 and record["images_per_second"] > 10 and record["seconds_per_megapixel"] >= 0


def test_cli_matte_channel_reaches_every_command(golden, tmp_path):
    from matbench.cli import main

    save(tmp_path / "img" / "x.png", PHOTO)
    save(tmp_path / "tri" / "x.png", cutout(TRIMAP))
    main(["run", "trimap-mid", "--images", str(tmp_path / "img"), "--trimaps", str(tmp_path / "tri"),
          "--out", str(tmp_path / "o"), "--matte-channel", "alpha", "-q"])
    assert json.loads((tmp_path / "o" / "run.json").read_text())["options"]["matte_channel"] == "alpha"
    adobe, voc = make_release(tmp_path / "src", n_fg=1, bgs_per_fg=2)
    main(["build-comp1k", "--adobe-root", str(adobe), "--voc-root", str(voc), "--out", str(tmp_path / "c"),
          "--bgs-per-fg", "2", "--trimaps", "generate", "--matte-channel", "red", "-q"])
    gin = golden / "composition" / "input"
    main(["build-train", "--adobe-root", str(gin / "adobe"), "--coco-root", str(gin / "coco"), "--out",
          str(tmp_path / "t"), "--bgs-per-fg", "5", "--no-write-bg", "--matte-channel", "alpha", "-q"])
    for out, channel in (("c", "red"), ("t", "alpha")):
        assert json.loads((tmp_path / out / "dataset.json").read_text())["matte_channel"] == channel


def test_build_official_trimaps_read_by_the_rule(tmp_path):
    """An official trimap stored as a gray-identity palette is read as its indices and written as
    8-bit gray; one whose palette shows other colours is refused before anything is written."""
    adobe, voc = make_release(tmp_path / "src", n_fg=1, bgs_per_fg=2, trimaps=True)
    official = adobe / "Combined_Dataset/Test_set/Adobe-licensed images/trimaps/fg0_1.png"
    t = np.full((40, 60), 128, np.uint8)
    t[:, :10], t[:, -10:] = 0, 255
    gray_palette(t).save(official)
    build_comp1k(adobe, voc, tmp_path / "o", bgs_per_fg=2, progress=False)
    written = Image.open(tmp_path / "o" / "trimaps" / "fg0_1.png")
    assert written.mode == "L" and (np.asarray(written) == t).all()
    assert verify(tmp_path / "o")["ok"]
    coloured = Image.fromarray((t // 127).astype(np.uint8), "P")
    coloured.putpalette([0, 0, 0, 128, 128, 128, 255, 255, 255])
    coloured.save(official)
    with pytest.raises(MatbenchError, match=r"fg0_1\.png: palette image whose palette maps index 1"):
        build_comp1k(adobe, voc, tmp_path / "o2", bgs_per_fg=2, progress=False)
    assert not (tmp_path / "o2").exists()


# ------------------------------------------------------------------ outputs never go into inputs

def test_every_writing_command_refuses_an_out_in_its_inputs(tmp_path, golden_train_set, capsys):
    """--out equal to or inside an input folder: one line, exit 2, nothing written (score, run and
    report: tests/test_score.py, test_baselines.py, test_report.py)."""
    from matbench.cli import main

    def refused(*args, words="choose another"):
        capsys.readouterr()
        with pytest.raises(SystemExit) as e:
            main([*map(str, args)])
        err = capsys.readouterr().err
        assert e.value.code == 2 and err.count("\n") == 1 and words in err, (args, err)

    def listing(root):
        return sorted(str(p.relative_to(root)) for p in root.rglob("*"))

    save(tmp_path / "alpha" / "x.png", GT)
    adobe, voc = make_release(tmp_path / "src", n_fg=1, bgs_per_fg=2)
    before = listing(tmp_path)
    refused("trimap", tmp_path / "alpha", tmp_path / "alpha" / "t", "-q", words="inside the alpha folder")
    refused("trimap", tmp_path / "alpha", tmp_path / "alpha", "-q", words="is the alpha folder")
    (tmp_path / "w").mkdir()  # several widths: the alphas are OUT/w12, so OUT/w5 is not written either
    (tmp_path / "alpha").rename(tmp_path / "w" / "w12")
    refused("trimap", tmp_path / "w" / "w12", tmp_path / "w", "--width", "5,12", "-q", words="the alpha folder")
    assert listing(tmp_path / "w") == ["w12", "w12/x.png"]
    (tmp_path / "w" / "w12").rename(tmp_path / "alpha")
    (tmp_path / "w").rmdir()
    refused("build-comp1k", "--adobe-root", adobe, "--voc-root", voc, "--out", adobe / "built", "--trimaps",
            "generate", "--bgs-per-fg", "2", "-q", words="inside the source folder")
    refused("build-train-samples", golden_train_set, "--out", golden_train_set / "samples", "-q",
            words="inside the source folder")
    refused("train", "dim", "--stage", "1", "--data", golden_train_set, "--out", golden_train_set / "run",
            "--iterations", "1", "-q", words="inside the training data")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("mine")
    refused("demo", "--out", tmp_path / "mine", "-q", words="not a matbench demo folder")
    assert listing(tmp_path) == sorted(before + ["mine", "mine/thesis.tex"])
    assert not (golden_train_set / "samples").exists() and not (golden_train_set / "run").exists()
