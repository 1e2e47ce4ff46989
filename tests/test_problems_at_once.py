"""Every problem of an input set that can be found before scoring is reported in one error
(duplicate names, missing files, headers, the pixels of colour files), and the messages that
name a wrong path, a float file or per-foreground trimaps say what is wrong and what to do.
Files are written here with Pillow, so what each one is, is known from first principles."""
import numpy as np
import pytest
from PIL import Image

from matbench.baselines.runner import list_inputs
from matbench.errors import MatbenchError
from matbench.mattes import raise_grouped, read_matte
from matbench.score import score


def _gray(path, h=8, w=8, value=128):
    Image.fromarray(np.full((h, w), value, np.uint8)).save(path)


def _reference(tmp_path, stems):
    alpha, trimap = tmp_path / "alpha", tmp_path / "trimaps"
    alpha.mkdir()
    trimap.mkdir()
    for s in stems:
        _gray(alpha / f"{s}.png", value=200)
        t = np.zeros((8, 8), np.uint8)
        t[2:6, 2:6] = 128
        Image.fromarray(t).save(trimap / f"{s}.png")
    return alpha, trimap


def test_mixed_prediction_folder_reports_every_kind_at_once(tmp_path):
    names = ["a", "b", "c", "d", "e", "f"]
    alpha, trimap = _reference(tmp_path, names)
    pred = tmp_path / "mine"
    pred.mkdir()
    _gray(pred / "a.png")
    _gray(pred / "a.tif")                                              # duplicate stem
    Image.fromarray(np.full((8, 8), 300, np.uint16)).save(pred / "b.png")  # 16-bit
    _gray(pred / "c.png", h=9)                                         # wrong size
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 3] = 77                                                  # a cut-out: matte in the alpha
    Image.fromarray(rgba, "RGBA").save(pred / "d.png")
    _gray(pred / "e.png")                                              # fine; f is missing
    with pytest.raises(MatbenchError) as err:
        score([pred], alpha_dir=alpha, trimap_dir=trimap, progress=False)
    msg = str(err.value)
    assert msg.startswith("5 input problems (nothing was computed or written): ")
    for part in ("two predictions named 'a' (a.png, a.tif)", "1 of 6 missing: f", f"{pred / 'b.png'}",
                 "16-bit", f"{pred / 'c.png'}: prediction is 8×9 but ground-truth alpha c.png is 8×8",
                 f"{pred / 'd.png'}: RGBA image whose alpha channel is not 255 in 64 pixels"):
        assert part in msg
    assert "e.png" not in msg
    # one section per kind, in the order the checks run
    kinds = ["\n  duplicate names:", "\n  missing predictions:", "\n  file headers", "\n  pixels"]
    assert [msg.index(k) for k in kinds] == sorted(msg.index(k) for k in kinds)


def test_grouped_caps_each_kind_not_the_whole(tmp_path):
    with pytest.raises(MatbenchError) as err:
        raise_grouped([("headers", [f"h{i}" for i in range(25)]), ("pixels", ["p0"])])
    msg = str(err.value)
    assert "26 input problems" in msg and "25 headers, 1 pixels" in msg
    assert "h9" in msg and "h10" not in msg and "… and 15 more" in msg and "p0" in msg
    with pytest.raises(MatbenchError, match=r"^only one$"):
        raise_grouped([("a", []), ("b", ["only one"])])
    raise_grouped([("a", []), ("b", [])])  # nothing: no error


def test_float_and_16bit_files_get_their_own_conversion_hint(tmp_path):
    Image.fromarray(np.full((4, 4), 0.5, np.float32)).save(tmp_path / "f.tif")
    Image.fromarray(np.full((4, 4), 300, np.uint16)).save(tmp_path / "s.png")
    with pytest.raises(MatbenchError) as err:
        read_matte(tmp_path / "f.tif")
    assert "float" in str(err.value) and "round(v·255) for floats in 0..1" in str(err.value)
    assert "257" not in str(err.value)
    with pytest.raises(MatbenchError, match=r"round\(v / 257\) for 16-bit"):
        read_matte(tmp_path / "s.png")


def test_per_foreground_trimaps_get_the_composite_hint(tmp_path):
    # Composition-1K layout: alphas and trimaps per foreground, composites (and predictions) STEM_K
    alpha, trimap = _reference(tmp_path, ["hair"])
    pred = tmp_path / "p"
    pred.mkdir()
    for k in range(2):
        _gray(pred / f"hair_{k}.png")
    with pytest.raises(MatbenchError, match="trimaps are per foreground; Composition-1K needs one per composite: "
                                            "matbench trimap --dataset"):
        score([pred], alpha_dir=alpha, trimap_dir=trimap, progress=False)
    # a dataset with a folder of per-foreground trimaps
    ds = tmp_path / "ds"
    (ds / "merged").mkdir(parents=True)
    _gray(ds / "merged" / "hair_0.png")
    (ds / "manifest.csv").write_text("image,merged,alpha,trimap\nhair_0,merged/hair_0.png,../alpha/hair.png,"
                                     "../trimaps/hair.png\n")
    with pytest.raises(MatbenchError, match=r"hair_0\).*trimap --dataset .*ds --out DIR"):
        score([pred], dataset=ds, trimap_dir=trimap, progress=False)
    with pytest.raises(MatbenchError, match="trimaps are per foreground"):
        list_inputs(images=pred, trimaps=trimap)
    # no hint when the names do not suggest it
    other = tmp_path / "other"
    other.mkdir()
    _gray(other / "zzz.png")
    with pytest.raises(MatbenchError) as err:
        list_inputs(images=pred, trimaps=other)
    assert "per foreground" not in str(err.value)


def test_wrong_paths_say_what_they_are(tmp_path):
    alpha, trimap = _reference(tmp_path, ["a"])
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "manifest.csv").write_text("image,merged,alpha,trimap\n")
    pred = tmp_path / "p"
    pred.mkdir()
    with pytest.raises(MatbenchError, match=r"datset: dataset folder not found$"):
        score([pred], dataset=tmp_path / "datset", progress=False)
    with pytest.raises(MatbenchError, match=r"manifest.csv: is a file, not a dataset folder"):
        score([pred], dataset=tmp_path / "ds" / "manifest.csv", progress=False)
    with pytest.raises(MatbenchError, match=r"manifest.csv: is a file, not a prediction folder"):
        score([tmp_path / "ds" / "manifest.csv"], alpha_dir=alpha, trimap_dir=trimap, progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MatbenchError, match=r"build-comp1k, build-train or build-sim"):
        score([pred], dataset=tmp_path / "empty", progress=False)


def test_run_reports_pairing_headers_and_pixels_at_once(tmp_path):
    from matbench.baselines.runner import run_baseline

    images, trimaps = tmp_path / "images", tmp_path / "trimaps"
    images.mkdir()
    trimaps.mkdir()
    for s in "abcd":
        Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(images / f"{s}.png")
    _gray(trimaps / "a.png")
    _gray(trimaps / "a.tif")                                                   # duplicate trimap name
    Image.fromarray(np.full((8, 8), 300, np.uint16)).save(trimaps / "b.png")   # 16-bit trimap
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 128                                                          # colour channels differ
    Image.fromarray(rgb).save(trimaps / "c.png")                               # d has no trimap
    out = tmp_path / "out"
    with pytest.raises(MatbenchError) as err:
        run_baseline("trimap-mid", out, images=images, trimaps=trimaps, progress=False)
    msg = str(err.value)
    assert msg.startswith("4 input problems (nothing was computed or written): ")
    for part in ("two trimaps named 'a' (a.png, a.tif)", "no trimap for image d.png", f"{trimaps / 'b.png'}",
                 f"{trimaps / 'c.png'}: RGB image whose colour channels differ in 64 pixels"):
        assert part in msg
    assert not out.exists()
