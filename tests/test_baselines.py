"""Classical baselines, trimap-mid and the runner (inputs, run.json, resume, errors).

Reference for the classical methods: a synthetic composite I = αF + (1 − α)B with a known α
(constant F and B, so the colour-line model of closed-form matting holds exactly). PyMatting
compiles with numba on first import (~40 s without a cache), so every classical method runs
once, on one tiny image, in a single test.
"""
import json

import numpy as np
import pytest

from matbench.baselines import BASELINES, run_baseline
from matbench.baselines.classical import force_known
from matbench.baselines.trivial import trimap_mid
from matbench.cli import main
from matbench.errors import MatbenchError
from matbench.io import write_png_atomic
from matbench.mattes import read_matte
from matbench.manifest import write_manifest


def synthetic_case(size=40):
    """uint8 composite, uint8 trimap and the true float alpha (a soft disc edge).

    F and B are constant colours plus faint noise (random-walk matting's solver does not
    converge on perfectly flat colours).
    """
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - size / 2 + 0.5, xx - size / 2 + 0.5)
    alpha = np.clip((size * 0.3 - r) / 6 + 0.5, 0, 1)
    fg = np.array([230.0, 60.0, 40.0])
    bg = np.array([30.0, 90.0, 200.0])
    rng = np.random.default_rng(0)
    fg = fg + rng.normal(0, 2, (size, size, 3))
    bg = bg + rng.normal(0, 2, (size, size, 3))
    image = np.rint(alpha[..., None] * fg + (1 - alpha[..., None]) * bg).astype(np.uint8)
    trimap = np.full((size, size), 128, np.uint8)
    trimap[alpha == 0] = 0
    trimap[alpha == 1] = 255
    return image, trimap, alpha


def test_trimap_mid_is_the_trimap_with_mid_grey_unknown():
    rng = np.random.default_rng(0)
    trimap = rng.integers(0, 256, (17, 23), dtype=np.uint8)
    trimap[:3], trimap[-3:] = 0, 255
    alpha = trimap_mid(None, trimap)
    assert alpha.dtype == np.uint8
    assert (alpha[trimap == 0] == 0).all() and (alpha[trimap == 255] == 255).all()
    assert (alpha[(trimap != 0) & (trimap != 255)] == 128).all()


def test_force_known_rounds_half_to_even_and_clips():
    a = np.array([[0.5 / 255, 1.5 / 255, 2.5 / 255, -0.2, 1.3, 0.7]])
    t = np.array([[128, 128, 128, 128, 128, 0]], np.uint8)
    assert force_known(a, t).tolist() == [[0, 2, 2, 0, 255, 0]]


def test_classical_methods_recover_known_alpha():
    from matbench.baselines.classical import METHODS, classical_predictor

    image, trimap, alpha = synthetic_case()
    unknown = trimap == 128
    floor = np.abs(trimap_mid(image, trimap)[unknown] / 255.0 - alpha[unknown]).mean()
    errors = {}
    for method in METHODS:
        pred = classical_predictor(method)(image, trimap)
        assert pred.dtype == np.uint8 and pred.shape == trimap.shape
        assert (pred[trimap == 0] == 0).all() and (pred[trimap == 255] == 255).all()
        errors[method] = np.abs(pred[unknown] / 255.0 - alpha[unknown]).mean()
    # Closed-form matting is exact for locally constant F and B (Levin et al. 2008, Thm 1):
    # only the faint noise and the uint8 rounding of the composite remain.
    assert errors["closed-form"] < 0.01, errors
    for method, err in errors.items():
        assert err < floor / 2, (method, errors, floor)


def make_dataset(root, n=3, size=(12, 10)):
    rows = []
    rng = np.random.default_rng(4)
    for i in range(n):
        name = f"fg{i}_0"
        image = rng.integers(0, 256, size + (3,), dtype=np.uint8)
        trimap = rng.choice(np.array([0, 128, 255], np.uint8), size)
        write_png_atomic(root / "merged" / f"{name}.png", image)
        write_png_atomic(root / "trimaps" / f"{name}.png", trimap)
        rows.append({"split": "test", "image": name, "merged": f"merged/{name}.png",
                     "trimap": f"trimaps/{name}.png", "alpha": ""})
    write_manifest(root, rows)
    return rows


def test_runner_over_dataset_writes_pngs_and_run_json(tmp_path):
    rows = make_dataset(tmp_path / "ds")
    run_json = run_baseline("trimap-mid", tmp_path / "pred", dataset=tmp_path / "ds", progress=False)
    for row in rows:
        trimap = read_matte(tmp_path / "ds" / row["trimap"])
        np.testing.assert_array_equal(read_matte(tmp_path / "pred" / f"{row['image']}.png"),
                                      trimap_mid(None, trimap))
    record = json.loads(run_json.read_text())
    assert record["method"] == "trimap-mid" and record["complete"] and record["images"] == 3
    assert record["predicted_this_run"] == 3 and record["seconds_per_image"] >= 0
    assert {"matbench", "numpy", "python"} <= set(record["versions"])
    assert record["checkpoint_sha256"] is None


def test_interrupted_run_resumes_to_identical_files(tmp_path, monkeypatch):
    make_dataset(tmp_path / "ds", n=4)
    run_baseline("trimap-mid", tmp_path / "full", dataset=tmp_path / "ds", progress=False)
    import matbench.baselines.runner as runner

    real = runner.write_png_atomic
    calls = []

    def interrupt_on_third(path, array, *a, **k):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real(path, array, *a, **k)

    monkeypatch.setattr(runner, "write_png_atomic", interrupt_on_third)
    with pytest.raises(KeyboardInterrupt):
        run_baseline("trimap-mid", tmp_path / "part", dataset=tmp_path / "ds", progress=False)
    assert not json.loads((tmp_path / "part" / "run.json").read_text())["complete"]
    monkeypatch.setattr(runner, "write_png_atomic", real)
    run_baseline("trimap-mid", tmp_path / "part", dataset=tmp_path / "ds", progress=False)
    assert json.loads((tmp_path / "part" / "run.json").read_text())["predicted_this_run"] == 2
    full = sorted(p.name for p in (tmp_path / "full").iterdir())
    assert full == sorted(p.name for p in (tmp_path / "part").iterdir())
    for name in full:
        if name.endswith(".png"):
            assert (tmp_path / "full" / name).read_bytes() == (tmp_path / "part" / name).read_bytes()


def test_paired_folders_missing_trimap_names_the_image(tmp_path, capsys):
    write_png_atomic(tmp_path / "img" / "a.png", np.zeros((4, 4, 3), np.uint8))
    write_png_atomic(tmp_path / "img" / "b.jpg.png", np.zeros((4, 4, 3), np.uint8))
    write_png_atomic(tmp_path / "tri" / "a.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(SystemExit) as e:
        main(["run", "trimap-mid", "--images", str(tmp_path / "img"), "--trimaps", str(tmp_path / "tri"),
              "--out", str(tmp_path / "o"), "--quiet"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no trimap for image b.jpg.png" in err


def test_size_mismatch_and_other_run_are_errors(tmp_path):
    write_png_atomic(tmp_path / "img" / "a.png", np.zeros((4, 4, 3), np.uint8))
    write_png_atomic(tmp_path / "tri" / "a.png", np.zeros((5, 4), np.uint8))
    with pytest.raises(MatbenchError, match=r"a.png: trimap is 4×5 but image a.png is 4×4"):
        run_baseline("trimap-mid", tmp_path / "o", images=tmp_path / "img", trimaps=tmp_path / "tri",
                     progress=False)
    write_png_atomic(tmp_path / "tri" / "a.png", np.zeros((4, 4), np.uint8))
    run_baseline("trimap-mid", tmp_path / "o", images=tmp_path / "img", trimaps=tmp_path / "tri", progress=False)
    record = json.loads((tmp_path / "o" / "run.json").read_text())
    (tmp_path / "o" / "run.json").write_text(json.dumps({**record, "method": "knn"}))
    with pytest.raises(MatbenchError, match="another run"):
        run_baseline("trimap-mid", tmp_path / "o", images=tmp_path / "img", trimaps=tmp_path / "tri",
                     progress=False)
    with pytest.raises(MatbenchError, match="needs --checkpoint"):
        run_baseline("dim", tmp_path / "o2", images=tmp_path / "img", trimaps=tmp_path / "tri", progress=False)
    with pytest.raises(MatbenchError, match="dim only"):
        run_baseline("knn", tmp_path / "o3", images=tmp_path / "img", trimaps=tmp_path / "tri", tile=100,
                     progress=False)
    with pytest.raises(MatbenchError, match="dim and the classical methods, not trimap-mid"):
        run_baseline("trimap-mid", tmp_path / "o3", images=tmp_path / "img", trimaps=tmp_path / "tri",
                     max_side=100, progress=False)
    with pytest.raises(MatbenchError, match="unknown baseline"):
        run_baseline("nope", tmp_path / "o4", images=tmp_path / "img", trimaps=tmp_path / "tri")
    assert "dim" in BASELINES and "trimap-mid" in BASELINES


def test_dataset_without_trimaps_is_an_error(tmp_path):
    write_manifest(tmp_path, [{"image": "x_0", "merged": "merged/x_0.png", "trimap": ""}])
    with pytest.raises(MatbenchError, match="x_0 has no trimap"):
        run_baseline("trimap-mid", tmp_path / "o", dataset=tmp_path)


def test_dim_without_torch_is_one_line_error(tmp_path, monkeypatch, capsys):
    """The core install has no torch: ``run dim`` says what to install, no traceback."""
    import sys

    from matbench.cli import main

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(SystemExit) as e:
        main(["run", "dim", "--images", str(tmp_path), "--trimaps", str(tmp_path), "--out", str(tmp_path / "o"),
              "--checkpoint", str(tmp_path / "x.pth")])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "pip install -e '.[dim]'" in err and "Traceback" not in err


def _disc(h, w):
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - h / 2, xx - w / 2)
    alpha = np.clip((min(h, w) * 0.3 - r) / 3 + 0.5, 0, 1)
    image = np.rint(alpha[..., None] * [220, 60, 40] + (1 - alpha[..., None]) * [30, 90, 200]).astype(np.uint8)
    trimap = np.where(alpha == 0, 0, np.where(alpha == 1, 255, 128)).astype(np.uint8)
    trimap[(r > min(h, w) * 0.3 - 6) & (r < min(h, w) * 0.3 + 6)] = 128
    return image, trimap, alpha


def test_memory_check_refuses_in_one_line_and_max_side_fits(tmp_path, monkeypatch, capsys):
    """A classical run whose largest image would not fit in memory is refused before anything is
    predicted, naming the image and a --jobs/--max-side that fits; --max-side then runs it on a
    downscaled copy (approximate) with the known regions exact at full size."""
    from matbench.baselines import classical, runner

    image, trimap, alpha = _disc(80, 100)
    write_png_atomic(tmp_path / "img" / "big.png", image)
    write_png_atomic(tmp_path / "tri" / "big.png", trimap)
    write_png_atomic(tmp_path / "img" / "small.png", image[:40, :50])
    write_png_atomic(tmp_path / "tri" / "small.png", trimap[:40, :50])
    monkeypatch.setitem(classical.PEAK_GIB_PER_MPX, "closed-form", 1000.0)  # 8 GiB for the 0.008 Mpx image
    monkeypatch.setattr(runner, "available_gib", lambda: 8.0)
    args = ["run", "closed-form", "--images", str(tmp_path / "img"), "--trimaps", str(tmp_path / "tri"), "-q"]
    with pytest.raises(SystemExit) as e:
        main([*args, "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "img" / "big.png") in err
    assert "100×80 image needs about 8.4 GiB" in err and "--max-side 96" in err and "nothing was predicted" in err
    assert not (tmp_path / "o").exists()
    main([*args, "--out", str(tmp_path / "o"), "--max-side", "96"])
    pred = read_matte(tmp_path / "o" / "big.png")
    assert pred.shape == trimap.shape
    assert (pred[trimap == 0] == 0).all() and (pred[trimap == 255] == 255).all()
    assert np.abs(pred[trimap == 128] / 255 - alpha[trimap == 128]).mean() < 0.1  # approximate, not wrong
    assert json.loads((tmp_path / "o" / "run.json").read_text())["options"]["max_side"] == 96
    monkeypatch.setattr(runner, "available_gib", lambda: 9.0)  # one job fits, two do not
    with pytest.raises(MatbenchError, match=r"× 2 jobs.*--jobs 1"):
        run_baseline("closed-form", tmp_path / "o2", images=tmp_path / "img", trimaps=tmp_path / "tri", jobs=2,
                     progress=False)


def test_out_in_an_input_folder_or_over_foreign_images_is_refused(tmp_path, capsys):
    """Predictions never go into (or under) the dataset, image or trimap folder, nor into a folder
    of images without run.json (someone's predictions, a dataset folder); nothing is written."""
    make_dataset(tmp_path / "ds")
    write_png_atomic(tmp_path / "img" / "a.png", np.zeros((4, 4, 3), np.uint8))
    write_png_atomic(tmp_path / "tri" / "a.png", np.zeros((4, 4), np.uint8))
    write_png_atomic(tmp_path / "theirs" / "a.png", np.zeros((4, 4), np.uint8))

    def listing():
        return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))

    before = listing()
    paired = ["--images", str(tmp_path / "img"), "--trimaps", str(tmp_path / "tri")]
    for source, out, words in ((["--dataset", str(tmp_path / "ds")], tmp_path / "ds", "is the dataset"),
                               (["--dataset", str(tmp_path / "ds")], tmp_path / "ds" / "pred", "is inside the dataset"),
                               (paired, tmp_path / "img", "is the image folder"),
                               (paired, tmp_path / "tri" / "p", "is inside the trimap folder"),
                               (paired, tmp_path / "theirs", "holds 1 image(s) (a) but no run.json"),
                               (paired, tmp_path / "ds" / "merged", "holds 3 image(s)"),
                               (paired, tmp_path / "ds", "a dataset folder (manifest.csv)")):
        capsys.readouterr()
        with pytest.raises(SystemExit) as e:
            main(["run", "trimap-mid", *source, "--out", str(out), "--quiet"])
        err = capsys.readouterr().err
        assert e.value.code == 2 and err.count("\n") == 1 and words in err, (out, err)
    assert listing() == before
    # resuming a matbench run (its run.json there) is still fine
    run_baseline("trimap-mid", tmp_path / "o", images=tmp_path / "img", trimaps=tmp_path / "tri", progress=False)
    run_baseline("trimap-mid", tmp_path / "o", images=tmp_path / "img", trimaps=tmp_path / "tri", progress=False)


def test_memory_check_uses_the_size_after_max_side(tmp_path, monkeypatch):
    """The estimate is for the image as predicted: under --max-side a long thin image (the most
    pixels on disk) shrinks below a square one, which is then the one that must fit. Figures
    from first principles: need = BASE_GIB + GiB/Mpx × Mpx predicted."""
    from matbench.baselines import classical, runner

    for name, (h, w) in {"long": (40, 400), "square": (100, 100)}.items():
        image, trimap, _ = _disc(h, w)
        write_png_atomic(tmp_path / "img" / f"{name}.png", image)
        write_png_atomic(tmp_path / "tri" / f"{name}.png", trimap)
    monkeypatch.setitem(classical.PEAK_GIB_PER_MPX, "closed-form", 100.0)
    base = classical.BASE_GIB
    # predicted pixels: long 400×40 = 0.016 Mpx, or 100×10 = 0.001 Mpx under --max-side 100; square 0.01 Mpx
    need_long, need_long_scaled, need_square = base + 1.6, base + 0.1, base + 1.0
    assert need_long_scaled < need_square < need_long
    kw = dict(images=tmp_path / "img", trimaps=tmp_path / "tri", progress=False)

    monkeypatch.setattr(runner, "available_gib", lambda: (need_square + need_long) / 2)
    with pytest.raises(MatbenchError) as e:  # at full size the long image does not fit
        run_baseline("closed-form", tmp_path / "a", **kw)
    assert str(e.value).startswith(f"{tmp_path / 'img' / 'long.png'}: closed-form on this 400×40 image needs about "
                                   f"{need_long:.1f} GiB")
    run_baseline("closed-form", tmp_path / "b", max_side=100, **kw)  # downscaled, it does
    assert sorted(p.name for p in (tmp_path / "b").glob("*.png")) == ["long.png", "square.png"]

    monkeypatch.setattr(runner, "available_gib", lambda: (need_long_scaled + need_square) / 2)
    with pytest.raises(MatbenchError) as e:  # under --max-side the square image is the largest
        run_baseline("closed-form", tmp_path / "c", max_side=100, **kw)
    assert str(e.value).startswith(f"{tmp_path / 'img' / 'square.png'}: closed-form on this 100×100 image needs "
                                   f"about {need_square:.1f} GiB")
    assert not (tmp_path / "c").exists()
    # a scaled image is named with the size it is predicted at
    monkeypatch.setattr(runner, "available_gib", lambda: need_long_scaled / 2)
    (tmp_path / "img" / "square.png").unlink()
    (tmp_path / "tri" / "square.png").unlink()
    with pytest.raises(MatbenchError) as e:
        run_baseline("closed-form", tmp_path / "d", max_side=100, **kw)
    assert str(e.value).startswith(f"{tmp_path / 'img' / 'long.png'}: closed-form on this 400×40 image (predicted "
                                   f"at 0.001 Mpx under --max-side 100) needs about {need_long_scaled:.1f} GiB")


def test_seconds_per_megapixel_counts_the_pixels_predicted(tmp_path):
    """Under --max-side the method predicts a downscaled copy: run.json's seconds_per_megapixel
    is per megapixel of that copy (400×300 → 100×75 = 7500 px), not of the stored image."""
    image, trimap, _ = _disc(300, 400)
    write_png_atomic(tmp_path / "img" / "a.png", image)
    write_png_atomic(tmp_path / "tri" / "a.png", trimap)
    run_json = run_baseline("closed-form", tmp_path / "o", images=tmp_path / "img", trimaps=tmp_path / "tri",
                            max_side=100, progress=False)
    record = json.loads(run_json.read_text())
    expected = record["seconds_per_image"] / (100 * 75 / 1e6)  # one image
    assert record["seconds_per_megapixel"] == pytest.approx(expected, rel=0.05, abs=0.02)
