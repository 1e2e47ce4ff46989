"""Reference files are what the dataset says, and misplaced inputs are explained (trial findings):

- ``score --dataset`` checks the decoded pixels of every alpha and dataset trimap it reads
  against the sha256 in manifest.csv, ``run --dataset`` its composites and trimaps: a changed
  file is an error naming it, ``matbench verify`` and the repair (a re-saved file with the
  same pixels is not a change);
- missing predictions that sit in subfolders, or are .npy files, get a hint;
- a size mismatch involving a file with an EXIF orientation says the tag is ignored;
- two model names for one folder are warned about.
Expected values come from first principles (hashlib on file pixels, SAD of a perfect prediction = 0).
"""
import shutil
import warnings

import numpy as np
import pytest
from PIL import Image

from matbench.errors import MatbenchError
from matbench.manifest import read_manifest


def _perfect(dataset, out):
    """Predictions equal to the alphas (SAD 0 by definition)."""
    out.mkdir()
    for row in read_manifest(dataset):
        shutil.copy(dataset / row["alpha"], out / f"{row['image']}.png")
    return out


def _invert(path):
    with Image.open(path) as im:
        px = np.asarray(im).copy()
    Image.fromarray(255 - px).save(path)


def _score(*args, **kw):
    from matbench.score import score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return score(*args, progress=False, **kw)


def test_score_refuses_changed_alpha_and_trimap(tmp_path, small_dataset):
    copy = tmp_path / "dcopy"
    shutil.copytree(small_dataset, copy)
    preds = _perfect(small_dataset, tmp_path / "pred")
    assert (_score(preds, dataset=copy)["sad"] == 0).all()  # an intact copy scores
    rows = read_manifest(copy)
    # the same pixels saved again (other PNG bytes) are not a change
    with Image.open(copy / rows[0]["alpha"]) as im:
        im.save(copy / rows[0]["alpha"], compress_level=0)
    assert (_score(preds, dataset=copy)["sad"] == 0).all()
    _invert(copy / rows[0]["alpha"])
    _invert(copy / rows[-1]["trimap"])
    with pytest.raises(MatbenchError) as e:
        _score(preds, dataset=copy)
    msg = str(e.value)
    assert "\n" not in msg and "2 reference file(s) changed" in msg
    assert rows[0]["alpha"] in msg and rows[-1]["trimap"] in msg
    assert f"matbench verify {copy}" in msg and "delete the 2 changed file(s)" in msg
    # other trimaps: the dataset's changed trimap is not read, its changed alpha still is
    trimaps = tmp_path / "trimaps"
    trimaps.mkdir()
    for row in read_manifest(small_dataset):
        shutil.copy(small_dataset / row["trimap"], trimaps / f"{row['image']}.png")
    with pytest.raises(MatbenchError, match=r"1 reference file\(s\) changed.*" + rows[0]["alpha"]):
        _score(preds, dataset=copy, trimap_dir=trimaps)
    shutil.copy(small_dataset / rows[0]["alpha"], copy / rows[0]["alpha"])
    assert (_score(preds, dataset=copy, trimap_dir=trimaps)["sad"] == 0).all()


def test_run_refuses_changed_composite(tmp_path, small_dataset):
    from matbench.baselines.runner import run_baseline

    copy = tmp_path / "dcopy"
    shutil.copytree(small_dataset, copy)
    rows = read_manifest(copy)
    _invert(copy / rows[1]["merged"])
    out = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(MatbenchError) as e:
            run_baseline("trimap-mid", out, dataset=copy, progress=False)
    msg = str(e.value)
    assert "1 input file(s) changed" in msg and rows[1]["merged"] in msg and f"matbench verify {copy}" in msg
    written = {p.stem for p in out.glob("*.png")}
    assert written == {r["image"] for r in rows} - {rows[1]["image"]}


def test_missing_predictions_hint_subfolders_and_npy(tmp_path, small_dataset):
    rows = read_manifest(small_dataset)
    messy = tmp_path / "messy"
    for i, row in enumerate(rows):
        (messy / f"part{i % 2}").mkdir(parents=True, exist_ok=True)
        shutil.copy(small_dataset / row["alpha"], messy / f"part{i % 2}" / f"{row['image']}.png")
    with pytest.raises(MatbenchError, match=rf"{len(rows)} are image files in subfolders \(part0/ \d+, part1/ \d+\): "
                                            r"matbench reads only the files directly in .*messy; move them there"):
        _score(messy, dataset=small_dataset)
    npy = tmp_path / "npy"
    npy.mkdir()
    for row in rows:
        np.save(npy / f"{row['image']}.npy", np.zeros((2, 2), np.float32))
    with pytest.raises(MatbenchError, match=rf"{len(rows)} are \.npy files, which matbench does not read: save each "
                                            r"prediction as an 8-bit gray PNG .*round\(a·255\)"):
        _score(npy, dataset=small_dataset)


def test_size_mismatch_names_exif_orientation(tmp_path):
    alphas, trimaps = tmp_path / "a", tmp_path / "t"
    alphas.mkdir(), trimaps.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° to display: stored 30 wide × 40 high
    Image.fromarray(np.full((40, 30), 200, np.uint8)).save(alphas / "rot.jpg", exif=exif)
    Image.fromarray(np.full((30, 40), 128, np.uint8)).save(trimaps / "rot.png")
    pred = tmp_path / "p"
    pred.mkdir()
    Image.fromarray(np.zeros((30, 40), np.uint8)).save(pred / "rot.png")
    with pytest.raises(MatbenchError, match=r"trimap is 40×30 but ground-truth alpha rot\.jpg is 30×40 \(rot\.jpg "
                                            r"has EXIF orientation 6: matbench ignores it as MATLAB's imread does.*"
                                            r"build-sim applies it"):
        _score(pred, alpha_dir=alphas, trimap_dir=trimaps)


def test_same_folder_under_two_names_is_warned(tmp_path, small_dataset):
    from matbench.score import parse_pred_dirs

    preds = _perfect(small_dataset, tmp_path / "pred")
    with pytest.warns(UserWarning, match=r"models 'my model' and 'pred' are the same folder"):
        parse_pred_dirs([f"my model={preds}", str(preds)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parse_pred_dirs([f"a={preds}", f"b={_perfect(small_dataset, tmp_path / 'other')}"])


def test_a_file_found_intact_is_checked_again_once_rewritten(tmp_path):
    """changed_since_build remembers files found intact (an alpha serves 20 composites) only while
    they are unchanged on disk: a rewrite with other pixels is caught in the same process."""
    import hashlib
    import os

    from matbench.io import write_png_atomic
    from matbench.manifest import changed_since_build

    a = np.zeros((4, 5), np.uint8)
    path = tmp_path / "alpha.png"
    write_png_atomic(path, a)
    expected = {str(path): hashlib.sha256(a.tobytes()).hexdigest()}
    assert not changed_since_build(path, a, expected)
    assert not changed_since_build(path, a, expected)
    b = a.copy()
    b[0, 0] = 255
    write_png_atomic(path, b)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # a rewrite within the clock's tick
    assert changed_since_build(path, b, expected)
