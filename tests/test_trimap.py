"""Trimap generation: values, determinism, and agreement with independent formulations."""
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from matbench.errors import MatbenchError
from matbench.trimap import (DEFAULT_TEST_KERNEL, NAMED_WIDTHS, distance_band, erode_dilate, generate,
                             random_kernels)


def soft_disc(h=90, w=120, r=25, soft=6):
    yy, xx = np.mgrid[:h, :w]
    d = np.hypot(yy - h / 2, xx - w / 2)
    return np.clip((r + soft - d) / soft * 255, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("method", ["erode-dilate", "random", "distance"])
def test_values_and_regions(method):
    alpha = soft_disc()
    t = generate(alpha, method, name="a", seed=1)
    assert t.dtype == np.uint8 and t.shape == alpha.shape
    assert set(np.unique(t)) == {0, 128, 255}
    # definite regions never contradict the alpha; every partial pixel is unknown
    assert (alpha[t == 255] == 255).all() and (alpha[t == 0] == 0).all()
    assert (t[(alpha > 0) & (alpha < 255)] == 128).all()


def test_erode_dilate_matches_mmagic_formulation():
    """mmagic's GenerateTrimap: grayscale erosion/dilation of the alpha, eroded >= 255 -> fg,
    dilated <= 0 -> bg, unknown otherwise (elliptical kernels)."""
    alpha = soft_disc()
    for ke, kd in ((1, 1), (5, 9), (DEFAULT_TEST_KERNEL, DEFAULT_TEST_KERNEL), (29, 3)):
        ek = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (ke, ke))
        dk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kd, kd))
        ref = np.full(alpha.shape, 128, np.uint8)
        ref[cv2.erode(alpha, ek) >= 255] = 255
        ref[cv2.dilate(alpha, dk) <= 0] = 0
        np.testing.assert_array_equal(erode_dilate(alpha, ke, dilate_kernel=kd), ref)


def test_distance_band_matches_exact_edt():
    alpha = soft_disc()
    for r in (0, 3, NAMED_WIDTHS["large"]):
        ref = np.full(alpha.shape, 128, np.uint8)
        ref[ndimage.distance_transform_edt(alpha == 255) > r] = 255
        ref[ndimage.distance_transform_edt(alpha == 0) > r] = 0
        np.testing.assert_array_equal(distance_band(alpha, r), ref)
    assert (distance_band(alpha, "small") == distance_band(alpha, NAMED_WIDTHS["small"])).all()
    with pytest.raises(MatbenchError, match="huge"):
        distance_band(alpha, "huge")


def test_random_kernels_deterministic_and_in_range():
    ks = [random_kernels(7, f"img{i}") for i in range(400)]
    assert ks == [random_kernels(7, f"img{i}") for i in range(400)]
    assert ks != [random_kernels(8, f"img{i}") for i in range(400)]
    flat = {k for pair in ks for k in pair}
    assert flat == set(range(1, 30))  # the whole mmagic DIM range 1..29, nothing outside
    alpha = soft_disc()
    a = generate(alpha, "random", name="x", seed=3)
    np.testing.assert_array_equal(a, generate(alpha, "random", name="x", seed=3))


def test_cli_trimap(tmp_path):
    src = tmp_path / "alpha"
    src.mkdir()
    Image.fromarray(soft_disc()).save(src / "a.png")
    Image.fromarray(soft_disc(r=10)).save(src / "b.png")
    out = tmp_path / "t"
    p = subprocess.run([sys.executable, "-m", "matbench.cli", "trimap", str(src), str(out), "--method",
                        "distance", "--width", "large", "-q"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    np.testing.assert_array_equal(np.asarray(Image.open(out / "a.png")), distance_band(soft_disc(), "large"))
    p = subprocess.run([sys.executable, "-m", "matbench.cli", "trimap", str(src), str(src)],
                       capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.startswith("matbench: error:") and "Traceback" not in p.stderr
    from matbench.trimap import make_trimaps, write_trimaps

    for out_dir in (src, src / "t"):  # the alpha folder, or a folder inside it: refused, nothing written
        with pytest.raises(MatbenchError, match="the alpha folder"):
            make_trimaps(src, out_dir)
        with pytest.raises(MatbenchError, match="the alpha folder"):
            write_trimaps(out_dir, "erode-dilate", alpha_dir=src, width="5,12")
    assert sorted(p.name for p in src.iterdir()) == ["a.png", "b.png"]


def test_widths_as_numbers_strings_and_lists():
    """``width`` may be a number (px), a name, a comma list or a list (the docstring's forms);
    a plain int used to raise a TypeError."""
    from matbench.trimap import parse_widths, trimap_sets

    assert parse_widths(7) == [7] and parse_widths("7") == [7]
    assert parse_widths("small,20") == [NAMED_WIDTHS["small"], 20] == parse_widths(["small", 20])
    (one,) = trimap_sets(width=7)
    assert (one["folder"], one["width_px"], one["kernel"]) == (None, 7, 15)  # a 2·7 + 1 px kernel


def _binary_form(alpha, ke, kd, ie, di):
    """DIM/mmagic's statement: erode(A == 255) and dilate(A > 0) as binary masks."""
    e = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (ke, ke))
    d = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kd, kd))
    fg = cv2.erode((alpha == 255).astype(np.uint8), e, iterations=ie).astype(bool)
    anyfg = cv2.dilate((alpha > 0).astype(np.uint8), d, iterations=di).astype(bool)
    return np.where(fg, 255, np.where(anyfg, 128, 0)).astype(np.uint8)


def _gray_form(alpha, ke, kd, ie, di):
    """The training recipe's and the SIM script's statement: gray-level erode/dilate of A
    (docs/specs/training.md step 6, docs/specs/sim.md step 5): 255 where erode(A) >= 255, 0 where
    dilate(A) <= 0, else 128."""
    e = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (ke, ke))
    d = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kd, kd))
    t = np.full(alpha.shape, 128, np.uint8)
    t[cv2.erode(alpha, e, iterations=ie) >= 255] = 255
    t[cv2.dilate(alpha, d, iterations=di) <= 0] = 0
    return t


def test_erode_dilate_with_iterations_equals_the_binary_and_the_gray_statements():
    """erode_dilate serves the test trimaps, the training recipe and the SIM script: on random
    alphas (noise with many 0/255, soft discs, sparse dots, constants), random kernels 1–29 and
    iterations 0–15, it equals both ways the three sources state the morphology."""
    rng = np.random.default_rng(3)
    for i in range(120):
        h, w = (int(v) for v in rng.integers(1, 60, 2))
        if i % 4 == 0:
            alpha = rng.choice(np.array([0, 255, 1, 128, 254], np.uint8), size=(h, w), p=[.4, .4, .1, .05, .05])
        elif i % 4 == 1:
            alpha = soft_disc(h, w, r=int(rng.integers(1, 20)), soft=int(rng.integers(1, 9)))
        elif i % 4 == 2:
            alpha = np.where(rng.random((h, w)) < .05, 255, np.where(rng.random((h, w)) < .05, 90, 0)).astype(np.uint8)
        else:
            alpha = np.full((h, w), rng.choice([0, 77, 255]), np.uint8)
        ke, kd = (int(v) for v in rng.integers(1, 30, 2))
        ie, di = (int(v) for v in rng.integers(0, 16, 2))
        got = erode_dilate(alpha, ke, dilate_kernel=kd, iterations=ie, dilate_iterations=di)
        np.testing.assert_array_equal(got, _binary_form(alpha, ke, kd, ie, di))
        np.testing.assert_array_equal(got, _gray_form(alpha, ke, kd, ie, di))
