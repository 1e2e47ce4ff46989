"""DIM's training sample recipe (matbench.training.samples, no torch) against docs/specs/training.md:
each step on hand-derived cases, the distributions of the random draws, determinism, and the
materialised sample set (build-train-samples): resumable, parallel, hashed."""
import csv
import json
import os

import cv2
import numpy as np
import pytest

from matbench.compose import pixels_sha256
from matbench.errors import MatbenchError
from matbench.io import read_rgb8
from matbench.mattes import read_matte
from matbench.training import samples
from matbench.training.materialise import build_train_samples
from matbench.training.samples import Recipe


# ----------------------------------------------------------------------------- step 2: rescue resize

@pytest.mark.parametrize("h,w,s,expected", [
    (100, 200, 320, (320, 640)),      # r = 3.2: (int(320.0), int(640.0))
    (67, 163, 320, (320, 778)),       # r = 320/67: int(67·r) may round below 320 -> max(., 320); 52160/67 = 778.5
    (320, 500, 320, None),            # r = 1: no resize
    (1000, 1500, 640, None),
    (500, 300, 320, (533, 320)),      # the narrow side decides: r = 320/300
    (300, 500, 320, (320, 533)),      # r = 320/300: 500·r = 533.3
])
def test_rescue_size(h, w, s, expected):
    assert samples.rescue_size(h, w, s) == expected


def test_rescue_resize_of_an_image_smaller_than_the_crop():
    """A 10×20 composite and a 32-px crop: resized to (32, 64) bilinearly (OpenCV, as mmcv) before
    cropping; a vertical band of unknown pixels far from the top and bottom (no inner candidate
    rows: 16 <= y < 16 is empty) falls back to all unknown pixels, so top is always 0."""
    alpha = np.zeros((10, 20), np.uint8)
    alpha[:, 10:] = 255
    alpha[:, 9] = 128
    image = np.random.default_rng(0).integers(0, 256, (10, 20, 3), dtype=np.uint8)
    recipe = Recipe(crop_sizes=(32,), out_size=32, trimap_kernels=(1, 1))
    for seed in range(20):
        params = samples.draw_params(alpha, np.random.default_rng(seed), recipe)
        assert params.rescue == (32, 64) and params.crop_size == 32 and params.top == 0
        out = samples.apply_params({"alpha": alpha, "merged": image}, params, 32)
        big = cv2.resize(image, (64, 32), interpolation=cv2.INTER_LINEAR)
        window = big[:, params.left:params.left + 32]
        np.testing.assert_array_equal(out["merged"], window[:, ::-1] if params.flip else window)


# ----------------------------------------------------------------------------- step 3: where

def test_candidates_exclude_the_border_band():
    alpha = np.zeros((10, 10), np.uint8)
    for y, x in ((0, 0), (5, 5), (9, 9), (2, 7), (7, 2), (8, 5)):
        alpha[y, x] = 100
    ys, xs = samples.crop_candidates(alpha, 4)            # s//2 = 2: 2 <= y < 8, 2 <= x < 8
    assert list(zip(ys, xs)) == [(2, 7), (5, 5), (7, 2)]  # row-major
    ys, xs = samples.crop_candidates(alpha, 5)            # s//2 = 2 for an odd size too
    assert list(zip(ys, xs)) == [(2, 7), (5, 5), (7, 2)]


def test_candidates_fall_back_to_all_unknown_then_to_the_top_left():
    alpha = np.full((10, 10), 255, np.uint8)
    alpha[0, 0] = alpha[9, 9] = 1
    ys, xs = samples.crop_candidates(alpha, 4)
    assert list(zip(ys, xs)) == [(0, 0), (9, 9)]
    alpha[0, 0] = alpha[9, 9] = 0                         # 0 and 255 only: no unknown pixel
    ys, xs = samples.crop_candidates(alpha, 4)
    assert list(zip(ys, xs)) == [(2, 2)]
    assert samples.crop_origin(2, 2, 4, 10, 10) == (0, 0)


def test_no_unknown_gives_the_top_left_crop():
    alpha = np.zeros((50, 70), np.uint8)
    alpha[10:30, 20:40] = 255
    recipe = Recipe(crop_sizes=(16, 24, 32), out_size=32)
    for seed in range(30):
        p = samples.draw_params(alpha, np.random.default_rng(seed), recipe)
        assert (p.top, p.left, p.rescue) == (0, 0, None)


@pytest.mark.parametrize("cy,cx,expected", [(0, 9, (0, 6)), (5, 5, (3, 3)), (9, 0, (6, 0)), (1, 8, (0, 6))])
def test_crop_origin_is_clipped_into_the_image(cy, cx, expected):
    assert samples.crop_origin(cy, cx, 4, 10, 10) == expected


def test_crop_centre_is_uniform_over_candidates():
    alpha = np.zeros((20, 20), np.uint8)
    alpha[5, 5] = alpha[12, 14] = 128                     # two candidates for s = 8
    recipe = Recipe(crop_sizes=(8,), out_size=32)
    tops = [samples.draw_params(alpha, np.random.default_rng(i), recipe).top for i in range(800)]
    assert set(tops) == {1, 8}
    assert abs(tops.count(1) - 400) < 4.5 * np.sqrt(800 * 0.25)


# ----------------------------------------------------------------------------- steps 4–6

def test_flip_and_resize():
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.testing.assert_array_equal(samples.flip(a), [[3, 2, 1, 0], [7, 6, 5, 4], [11, 10, 9, 8]])
    const = np.full((7, 9, 3), 77, np.uint8)
    out = samples.resize(const, 32, 32)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8 and (out == 77).all()


def test_trimap_kernel_one_is_the_alpha_classes():
    alpha = np.array([[0, 1, 128], [254, 255, 0]], np.uint8)
    np.testing.assert_array_equal(samples.random_trimap(alpha, 1, 1), [[0, 128, 128], [128, 255, 0]])


def test_trimap_of_a_square_with_cross_kernels():
    """cv2's 3×3 ellipse is the cross [[0,1,0],[1,1,1],[0,1,0]]: erosion removes a 1-px rim
    of the 255 square, dilation adds a 1-px rim to the non-zero square except its corners."""
    alpha = np.zeros((20, 20), np.uint8)
    alpha[5:15, 5:15] = 255
    t = samples.random_trimap(alpha, 3, 3)
    expected = np.zeros((20, 20), np.uint8)
    expected[4:16, 4:16] = 128
    for y, x in ((4, 4), (4, 15), (15, 4), (15, 15)):
        expected[y, x] = 0
    expected[6:14, 6:14] = 255
    np.testing.assert_array_equal(t, expected)


def test_trimap_regions_are_inside_the_alpha_classes():
    rng = np.random.default_rng(3)
    alpha = cv2.GaussianBlur((rng.random((64, 64)) > 0.5).astype(np.uint8) * 255, (7, 7), 2)
    alpha[:8] = 0
    alpha[-8:] = 255
    for k in range(30):
        ek, dk, ei, di = samples.draw_trimap_morphology(rng, (1, 29), (1, 3))
        t = samples.random_trimap(alpha, ek, dk, ei, di)
        assert set(np.unique(t)) <= {0, 128, 255}
        assert (alpha[t == 255] == 255).all() and (alpha[t == 0] == 0).all()
        assert (t[(alpha > 0) & (alpha < 255)] == 128).all()


def test_online_merge_formula():
    alpha = np.array([[0, 255, 128]], np.uint8)
    fg = np.full((1, 3, 3), 200, np.uint8)
    bg = np.full((1, 3, 3), 100, np.uint8)
    m = samples.online_merge(alpha, fg, bg)
    assert m.dtype == np.float32
    np.testing.assert_allclose(m[0, :, 0], [100, 200, 200 * 128 / 255 + 100 * 127 / 255], rtol=1e-6)


# ----------------------------------------------------------------------------- distributions

def test_crop_sizes_flips_and_kernels_are_uniform():
    n = 900
    alpha = np.zeros((40, 40), np.uint8)
    alpha[10:30, 10:30] = 128
    recipe = Recipe(crop_sizes=(8, 16, 24), out_size=32)
    params = [samples.draw_params(alpha, samples.sample_rng(0, e, "x"), recipe) for e in range(n)]
    sizes = [p.crop_size for p in params]
    tol = 4.5 * np.sqrt(n * (1 / 3) * (2 / 3))            # 4.5 binomial standard deviations
    for s in (8, 16, 24):
        assert abs(sizes.count(s) - n / 3) < tol
    flips = sum(p.flip for p in params)
    assert abs(flips - n / 2) < 4.5 * np.sqrt(n / 4)
    kernels = [p.erode_kernel for p in params] + [p.dilate_kernel for p in params]
    assert min(kernels) == 1 and max(kernels) == 29
    assert abs(np.mean(kernels) - 15) < 4.5 * np.sqrt((29 ** 2 - 1) / 12 / len(kernels))
    assert {p.erode_iterations for p in params} == {1}


def test_samples_are_a_function_of_seed_epoch_and_name():
    alpha = np.zeros((40, 40), np.uint8)
    alpha[10:30, 10:30] = 128
    recipe = Recipe(crop_sizes=(8, 16, 24), out_size=32)

    def draw(seed, epoch, name):
        return samples.draw_params(alpha, samples.sample_rng(seed, epoch, name), recipe)

    assert draw(1, 2, "a") == draw(1, 2, "a")
    assert len({draw(1, e, "a") for e in range(10)}) > 5
    assert draw(1, 2, "a") != draw(2, 2, "a") or draw(1, 3, "a") != draw(2, 3, "a")
    order = samples.epoch_order(5, 3, 10)
    assert sorted(order) == list(range(10)) and (order == samples.epoch_order(5, 3, 10)).all()
    assert not (order == samples.epoch_order(5, 4, 10)).all()


def test_recipe_refuses_bad_options():
    with pytest.raises(MatbenchError, match="multiple of 32"):
        Recipe(out_size=100)
    with pytest.raises(MatbenchError, match="trimap kernel range 5-2"):
        Recipe(trimap_kernels=(5, 2))


# ----------------------------------------------------------------------------- materialised set

@pytest.fixture
def train_set(golden_train_set):
    return golden_train_set


RECIPE = Recipe(crop_sizes=(32, 48, 320), out_size=32, trimap_kernels=(1, 9))


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_materialised_samples_follow_the_recipe(train_set, tmp_path):
    out = tmp_path / "s"
    build_train_samples(train_set, out, per_composite=2, seed=7, recipe=RECIPE, progress=False)
    with open(out / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 30 and json.loads((out / "dataset.json").read_text())["kind"] == "dim-train-samples"
    src_rows = {r["image"]: r for r in samples.composite_rows(train_set)}
    for row in rows:
        for col, h in (("merged", "sha256"), ("fg_path", "fg_sha256"), ("bg_path", "bg_sha256")):
            assert pixels_sha256(read_rgb8(out / row[col])) == row[h]
        for col, h in (("alpha", "alpha_sha256"), ("trimap", "trimap_sha256")):
            assert pixels_sha256(read_matte(out / row[col])) == row[h]
        alpha, trimap = read_matte(out / row["alpha"]), read_matte(out / row["trimap"])
        assert alpha.shape == (32, 32) and set(np.unique(trimap)) <= {0, 128, 255}
        assert (alpha[trimap == 255] == 255).all() and (alpha[trimap == 0] == 0).all()
        # the parameters in the row, applied to the source composite with OpenCV, give the files
        src = samples.read_composite(train_set, src_rows[row["composite"]])
        s, top, left = int(row["crop_size"]), int(row["top"]), int(row["left"])
        merged = src["merged"]
        if row["rescue_height"]:
            merged = cv2.resize(merged, (int(row["rescue_width"]), int(row["rescue_height"])),
                                interpolation=cv2.INTER_LINEAR)
        window = merged[top:top + s, left:left + s]
        window = window[:, ::-1] if row["flip"] == "1" else window
        np.testing.assert_array_equal(read_rgb8(out / row["merged"]),
                                      cv2.resize(np.ascontiguousarray(window), (32, 32),
                                                 interpolation=cv2.INTER_LINEAR))
    assert any(r["rescue_height"] for r in rows)  # 320-px crops of images under 200 px
    # sample j of composite c is sample (seed, epoch j, c) of the on-the-fly recipe
    row = rows[3]
    sample, _ = samples.sample_from_composite(train_set, src_rows[row["composite"]], 7, int(row["epoch"]), RECIPE)
    np.testing.assert_array_equal(sample["trimap"], read_matte(out / row["trimap"]))


def test_materialised_samples_resume_and_any_jobs(train_set, tmp_path):
    ref = tmp_path / "ref"
    build_train_samples(train_set, ref, per_composite=1, seed=3, recipe=RECIPE, progress=False)
    files = _files(ref)
    two = tmp_path / "two"
    build_train_samples(train_set, two, per_composite=1, seed=3, recipe=RECIPE, jobs=2, progress=False)
    assert _files(two) == files
    # an interrupted run: some samples missing, no manifest, a stray temporary file
    (two / "manifest.csv").unlink()
    for p in sorted((two / "merged").iterdir())[:4]:
        p.unlink()
    (two / "fg" / ".x.png.123.tmp").write_bytes(b"partial")
    build_train_samples(train_set, two, per_composite=1, seed=3, recipe=RECIPE, progress=False)
    assert _files(two) == files
    with pytest.raises(MatbenchError, match="different build"):
        build_train_samples(train_set, two, per_composite=1, seed=4, recipe=RECIPE, progress=False)
    # the "definition" sentence is a description, reworded between versions: a set written with
    # the old wording (citing the spec outside docs/) still resumes
    info = json.loads((two / "dataset.json").read_text())
    info["definition"] = info["definition"].replace("docs/specs/", "specs/")
    (two / "dataset.json").write_text(json.dumps(info, indent=2) + "\n")
    (two / "manifest.csv").unlink()
    build_train_samples(train_set, two, per_composite=1, seed=3, recipe=RECIPE, progress=False)
    assert _files(two) == files


def test_materialise_refuses_a_set_without_backgrounds(train_set, tmp_path):
    from matbench.manifest import read_manifest, write_manifest

    rows = read_manifest(train_set)
    rows[0]["bg_path"] = ""
    src = tmp_path / "nobg"
    src.mkdir()
    write_manifest(src, rows)
    with pytest.raises(MatbenchError, match="--write-bg"):
        build_train_samples(src, tmp_path / "o", progress=False)


def test_build_train_samples_needs_no_torch(train_set, tmp_path):
    """In a fresh process where ``import torch`` fails: the command works."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None; from matbench.cli import main; "
            f"main(['build-train-samples', {str(train_set)!r}, '--out', {str(tmp_path / 's')!r}, '--size', '32', "
            "'--crop-sizes', '32,48', '--quiet'])")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert len(os.listdir(tmp_path / "s" / "trimaps")) == 15


def test_build_train_samples_refuses_an_out_in_the_training_set(train_set, tmp_path):
    for out in (train_set, train_set / "samples", train_set / "merged"):
        with pytest.raises(MatbenchError, match="inside the source folder|is the source folder"):
            build_train_samples(train_set, out, recipe=RECIPE, progress=False)
    assert not (train_set / "samples").exists()
