"""matbench.metrics against the MATLAB reference's own outputs and a literal re-implementation.

The golden cases (``golden/metrics``) are outputs of the DIM MATLAB code run under Octave.
``reference_metrics`` below follows the MATLAB programs line by line with plain numpy/scipy
(single precision where MATLAB uses it, scipy.ndimage.label on the transposed mask for
MATLAB's column-major component numbering, scipy.ndimage.convolve with the 2-D kernel built
the way gaussgradient.m builds it); it shares no code with matbench.metrics.
"""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import scipy.ndimage as ndi

from matbench import metrics
from matbench.mattes import read_matte

KEYS = ("sad", "mse", "grad", "conn")


# --------------------------------------------------------------------------- literal reference

def matlab_sum(x) -> np.float32:
    """sum(sum(x)) of a single matrix in Octave: each column in order, then the row in order."""
    x = np.asarray(x, np.float32)
    cols = np.zeros(x.shape[1], np.float32)
    for row in x:
        cols = (cols + row).astype(np.float32)
    total = np.float32(0)
    for c in cols:
        total = np.float32(total + c)
    return total


def gaussgradient_kernel(sigma=1.4):
    epsilon = 1e-2
    halfsize = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * epsilon)))
    size = 2 * halfsize + 1

    def gauss(x):
        return math.exp(-x ** 2 / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))

    def dgauss(x):
        return -x * gauss(x) / sigma ** 2

    hx = np.zeros((size, size))
    for i in range(1, size + 1):
        for j in range(1, size + 1):
            hx[i - 1, j - 1] = gauss(i - halfsize - 1) * dgauss(j - halfsize - 1)
    hx = hx / math.sqrt(np.sum(np.abs(hx) * np.abs(hx)))
    return hx, hx.T


def mat2gray(a):
    a = a.astype(np.float64)
    lo, hi = a.min(), a.max()
    if hi == lo:
        return np.clip(a, 0, 1)
    return (a - lo) / (hi - lo)


def reference_metrics(pred, gt, trimap, empty_level="gca", column_major=True, step=0.1):
    unk = (trimap == 128).astype(np.float32)
    p32, g32 = pred.astype(np.float32), gt.astype(np.float32)
    # compute_sad_loss.m / compute_mse_loss.m
    sad = matlab_sum(np.abs(p32 - g32) / np.float32(255) * unk) / np.float32(1000)
    err = (p32 - g32) / np.float32(255)
    with np.errstate(invalid="ignore", divide="ignore"):
        mse = matlab_sum(err * err * unk) / matlab_sum(unk)
    # compute_gradient_loss.m
    hx, hy = gaussgradient_kernel()

    def amp(a):
        a = mat2gray(a)
        # imfilter(..., 'replicate', 'conv'): ndimage.convolve flips the kernel; 'nearest' replicates
        gx = ndi.convolve(a, hx, mode="nearest")
        gy = ndi.convolve(a, hy, mode="nearest")
        return np.sqrt(gx ** 2 + gy ** 2)

    d = amp(pred).astype(np.float32) - amp(gt).astype(np.float32)
    grad = matlab_sum(d * d * unk) / np.float32(1000)
    # compute_connectivity_error.m
    p = p32 / np.float32(255)
    g = g32 / np.float32(255)
    steps = [0 + i * step for i in range(int(1 / step + 1e-9) + 1)]  # Octave's 0:step:1
    l_map = -np.ones(pred.shape)
    for ii in range(1, len(steps)):
        both = (p.astype(np.float64) >= steps[ii]) & (g.astype(np.float64) >= steps[ii])
        if column_major:
            lab, n = ndi.label(both.T)  # raster order of the transpose = column-major order
            lab = lab.T
        else:
            lab, n = ndi.label(both)
        omega = np.zeros(pred.shape, bool)
        if n == 0 and empty_level == "indexnet":
            continue
        if n:
            sizes = np.bincount(lab.ravel())[1:]
            omega = lab == int(np.argmax(sizes)) + 1  # first of the largest
        flag = (l_map == -1) & ~omega
        l_map[flag] = steps[ii - 1]
    l_map[l_map == -1] = 1
    l32 = l_map.astype(np.float32)
    pd, gd = p - l32, g - l32
    pphi = np.float32(1) - pd * (pd >= 0.15).astype(np.float32)
    gphi = np.float32(1) - gd * (gd >= 0.15).astype(np.float32)
    conn = matlab_sum(np.abs(pphi - gphi) * unk) / np.float32(1000)
    return {"sad": float(sad), "mse": float(mse), "grad": float(grad), "conn": float(conn)}


def assert_close(got, want, what, rel=1e-5, abs_=1e-9):
    if math.isnan(want):
        assert math.isnan(got), f"{what}: expected NaN, got {got}"
    else:
        assert got == pytest.approx(want, rel=rel, abs=abs_), f"{what}: {got} != {want}"


# --------------------------------------------------------------------------- golden cases

def golden_rows():
    from conftest import GOLDEN

    path = GOLDEN / "metrics" / "expected.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("row", golden_rows(), ids=lambda r: r["case"])
def test_golden_case(golden, row):
    case = golden / "metrics" / "cases" / row["case"]
    pred, gt, trimap = (read_matte(case / f"{n}.png") for n in ("pred", "gt", "trimap"))
    assert pred.shape == (int(row["h"]), int(row["w"]))
    ev = metrics.evaluate(pred, gt, trimap)
    single = {"sad": metrics.sad, "mse": metrics.mse, "grad": metrics.grad, "conn": metrics.conn}
    for k in KEYS:
        want = float(row[k])
        assert_close(ev[k], want, f"{row['case']} evaluate {k}")
        assert_close(single[k](pred, gt, trimap), want, f"{row['case']} {k}()")


def test_golden_cases_all_present(golden):
    rows = golden_rows()
    cases = sorted(p.name for p in (golden / "metrics" / "cases").iterdir() if p.is_dir())
    assert sorted(r["case"] for r in rows) == cases and len(cases) >= 16


# --------------------------------------------------------------------------- literal reference

def random_case(rng, h, w, noise=20.0):
    """Smooth alpha with soft edges, a noisy prediction, a trimap with unknown band (and 127)."""
    low = rng.normal(size=(h // 6 + 2, w // 6 + 2))
    field = ndi.zoom(low, (h / low.shape[0] + 1e-9, w / low.shape[1] + 1e-9), order=1)[:h, :w]
    gt = np.clip(np.round((0.5 + field * 1.5) * 255), 0, 255).astype(np.uint8)
    pred = np.clip(np.round(gt + rng.normal(scale=noise, size=(h, w))), 0, 255).astype(np.uint8)
    trimap = np.where(gt == 255, 255, np.where(gt == 0, 0, 128)).astype(np.uint8)
    trimap[rng.random((h, w)) < 0.1] = 128
    trimap[rng.random((h, w)) < 0.03] = 127  # not unknown
    return pred, gt, trimap


SHAPES = [(1, 1), (1, 7), (6, 1), (2, 3), (5, 4), (9, 9), (13, 31), (37, 53), (64, 48)]


@pytest.mark.parametrize("shape", SHAPES)
def test_matches_literal_reference(shape):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    for noise in (20.0, 3.0):
        pred, gt, trimap = random_case(rng, *shape, noise=noise)
        want = reference_metrics(pred, gt, trimap)
        got = metrics.evaluate(pred, gt, trimap, extra=False)
        for k in KEYS:
            assert_close(got[k], want[k], f"{shape} {k}", rel=1e-6)


def test_near_identical_grad_needs_double_filtering():
    # pred = gt + 1: the gradient differences are tiny, so a single-precision filter would
    # round |∇| differently from MATLAB's double filter on many pixels (~1e-5 off).
    rng = np.random.default_rng(7)
    _, gt, trimap = random_case(rng, 48, 64)
    pred = np.clip(gt.astype(np.int16) + 1, 0, 255).astype(np.uint8)
    want = reference_metrics(pred, gt, trimap)
    assert want["grad"] > 0
    assert_close(metrics.grad(pred, gt, trimap), want["grad"], "grad", rel=1e-6)


def test_gray_colour_arrays_are_their_matte():
    rng = np.random.default_rng(3)
    pred, gt, trimap = random_case(rng, 20, 30)
    rgb = np.dstack([pred] * 3)
    rgba = np.dstack([gt, gt, gt, np.full_like(gt, 255)])
    assert metrics.evaluate(rgb, rgba, trimap[:, :, None]) == metrics.evaluate(pred, gt, trimap)
    with pytest.raises(ValueError, match="ambiguous"):  # a colour prediction (the rule: see below)
        metrics.evaluate(np.stack([pred, 255 - pred, pred // 2], axis=2), gt, trimap)


# --------------------------------------------------------------------------- properties

def test_identical_inputs_give_zero():
    rng = np.random.default_rng(1)
    pred, _, trimap = random_case(rng, 40, 50)
    r = metrics.evaluate(pred, pred, trimap)
    assert all(r[k] == 0 for k in ("sad", "mse", "grad", "conn", "mad", "sad_image", "sad_fg", "sad_bg"))


def test_symmetric():
    rng = np.random.default_rng(2)
    pred, gt, trimap = random_case(rng, 33, 47)
    a, b = metrics.evaluate(pred, gt, trimap), metrics.evaluate(gt, pred, trimap)
    for k in ("sad", "mse"):
        assert a[k] == b[k], k


def test_sad_mse_ignore_pixels_outside_unknown():
    rng = np.random.default_rng(4)
    pred, gt, trimap = random_case(rng, 40, 40)
    outside = trimap != 128
    pred2, gt2 = pred.copy(), gt.copy()
    pred2[outside] = rng.integers(0, 256, outside.sum())
    gt2[outside] = rng.integers(0, 256, outside.sum())
    for f in (metrics.sad, metrics.mse):
        assert f(pred2, gt2, trimap) == f(pred, gt, trimap)


def test_only_128_is_unknown():
    pred = np.full((4, 4), 200, np.uint8)
    gt = np.zeros((4, 4), np.uint8)
    trimap = np.full((4, 4), 127, np.uint8)
    assert metrics.sad(pred, gt, trimap) == 0 and math.isnan(metrics.mse(pred, gt, trimap))
    trimap[0, 0] = 128
    assert metrics.sad(pred, gt, trimap) == pytest.approx(200 / 255 / 1000, rel=1e-6)
    assert metrics.unknown_mask(trimap).sum() == 1


def tie_case():
    """Two 4-pixel components: A first in row-major order, B first in column-major order."""
    gt = np.zeros((8, 8), np.uint8)
    gt[0, 4:8] = 255  # A: top row, right
    gt[4:8, 0] = 255  # B: left column, bottom
    pred = gt.copy()
    pred[0, 4:8] = 128
    pred[4:8, 0] = 250
    trimap = np.full((8, 8), 128, np.uint8)
    return pred, gt, trimap


def test_tie_between_equal_components_is_column_major():
    pred, gt, trimap = tie_case()
    matlab = reference_metrics(pred, gt, trimap, column_major=True)["conn"]
    row_major = reference_metrics(pred, gt, trimap, column_major=False)["conn"]
    assert abs(matlab - row_major) > 1e-5  # the case does distinguish the two rules
    assert_close(metrics.conn(pred, gt, trimap), matlab, "conn", rel=1e-6)
    # by hand: A gets l = 0 at the first level, so φ_p = 1 − 128/255, φ_g = 0 on its 4 pixels;
    # B stays the largest up to t = 0.9 and the empty t = 1 level gives it l = 0.9: φ = 1 both.
    assert metrics.conn(pred, gt, trimap) == pytest.approx(4 * (1 - 128 / 255) / 1000, rel=1e-6)
    # transposing swaps which component is first in column-major order, and the result
    assert metrics.conn(pred.T, gt.T, trimap.T) == pytest.approx(row_major, rel=1e-6)


def test_empty_level_gca_vs_indexnet():
    rng = np.random.default_rng(5)
    pred, gt, trimap = random_case(rng, 30, 40)
    pred = np.minimum(pred, 190)  # no pixel reaches t = 0.8 in both: levels 0.8..1 are empty
    gca = metrics.conn(pred, gt, trimap)
    idx = metrics.conn(pred, gt, trimap, empty_level="indexnet")
    assert_close(gca, reference_metrics(pred, gt, trimap, "gca")["conn"], "gca", rel=1e-6)
    assert_close(idx, reference_metrics(pred, gt, trimap, "indexnet")["conn"], "indexnet", rel=1e-6)
    assert abs(gca - idx) > 1e-6
    # without an empty level the two agree
    pred[0, 0] = gt[0, 0] = 255
    assert metrics.conn(pred, gt, trimap) == metrics.conn(pred, gt, trimap, empty_level="indexnet")
    with pytest.raises(ValueError, match="empty_level"):
        metrics.conn(pred, gt, trimap, empty_level="matlab")


def test_conn_thresholds_exhaustive():
    # p >= t_k with p = single(v)/255 and t = 0:0.1:1 in double, for every byte value
    _, level_of, _, _ = metrics._conn_tables(0.1)
    p = (np.arange(256, dtype=np.float32) / np.float32(255)).astype(np.float64)
    for k in range(1, 11):
        t = 0 + k * 0.1
        assert np.array_equal(level_of >= k, p >= t), k
        # comparing in single precision instead gives the same answer
        assert np.array_equal(level_of >= k, p.astype(np.float32) >= np.float32(t)), k
    assert level_of[153] == 6  # 153 passes the 0.6000000000000001 level
    assert 153 / 255 < 0 + 6 * 0.1  # ... which float64 153/255 would not


# --------------------------------------------------------------------------- extras, API

@pytest.mark.parametrize("shape", [(30, 40), (600, 37)])  # 600 rows: the kernels' counters are emptied
def test_extras(shape):
    rng = np.random.default_rng(6)
    pred, gt, trimap = random_case(rng, *shape)
    trimap[trimap == 127] = 0  # a clean trimap: the three regions cover the image
    r = metrics.evaluate(pred, gt, trimap)
    assert set(r) == set(metrics.REFERENCE_KEYS + metrics.EXTRA_KEYS)
    diff = np.abs(pred.astype(np.float64) - gt) / 255
    assert r["sad_image"] == pytest.approx(diff.sum() / 1000, rel=1e-12)
    assert r["sad_unknown"] == pytest.approx(diff[trimap == 128].sum() / 1000, rel=1e-12)
    assert r["sad_fg"] == pytest.approx(diff[trimap == 255].sum() / 1000, rel=1e-12)
    assert r["sad_bg"] == pytest.approx(diff[trimap == 0].sum() / 1000, rel=1e-12)
    assert r["sad_unknown"] + r["sad_fg"] + r["sad_bg"] == pytest.approx(r["sad_image"], rel=1e-12)
    assert r["mad"] == pytest.approx(diff[trimap == 128].mean(), rel=1e-12)
    assert r["sad_unknown"] == pytest.approx(r["sad"], rel=1e-6)
    assert metrics.sad_regions(pred, gt, trimap) == {
        "unknown": r["sad_unknown"], "fg": r["sad_fg"], "bg": r["sad_bg"], "image": r["sad_image"]}
    assert set(metrics.evaluate(pred, gt, trimap, extra=False)) == set(KEYS)


def test_region_sums_do_not_overflow():
    # |p − g| = 255 at every pixel of 700 rows: the largest per-column sums there can be
    pred, gt = np.zeros((700, 9), np.uint8), np.full((700, 9), 255, np.uint8)
    trimap = np.tile(np.array([0, 128, 255], np.uint8), (700, 3))
    r = metrics.sad_regions(pred, gt, trimap)
    assert r == {"unknown": 2.1, "fg": 2.1, "bg": 2.1, "image": 6.3}  # 700 · 3 pixels of 1 each, ÷ 1000


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (600, 41)])
def test_trimap_other_count(shape):
    rng = np.random.default_rng(shape[0])
    trimap = rng.choice(np.array([0, 1, 127, 128, 129, 254, 255], np.uint8), size=shape)
    expected = np.count_nonzero(~np.isin(trimap, [0, 128, 255]))
    assert metrics.trimap_other_count(trimap) == expected
    assert metrics.trimap_other_count(np.full((600, 41), 77, np.uint8)) == 600 * 41


def test_no_unknown_pixel():
    pred = np.full((5, 5), 10, np.uint8)
    r = metrics.evaluate(pred, pred * 2, np.zeros((5, 5), np.uint8))
    assert r["sad"] == 0 and r["grad"] == 0 and r["conn"] == 0
    assert math.isnan(r["mse"]) and math.isnan(r["mad"])


@pytest.mark.parametrize("bad, name, why", [
    (dict(pred=np.zeros((4, 4), np.float32)), "pred", "uint8"),
    (dict(gt=np.zeros((4, 4), np.float64)), "gt", "uint8"),
    (dict(trimap=np.zeros((4, 4), bool)), "trimap", "uint8"),
    (dict(pred=np.zeros((4, 4), np.uint16)), "pred", "uint8"),
    (dict(gt=np.zeros((4, 5), np.uint8)), "gt", "shape"),
    (dict(trimap=np.zeros((5, 4), np.uint8)), "trimap", "shape"),
    (dict(pred=np.zeros(16, np.uint8)), "pred", "2-D"),
    (dict(gt=np.zeros((4, 4, 2), np.uint8)), "gt", "2-D"),
    (dict(trimap=np.zeros((0, 4), np.uint8)), "trimap", "empty"),
])
@pytest.mark.parametrize("fn", ["sad", "mse", "grad", "conn", "evaluate"])
def test_bad_input_names_argument(bad, name, why, fn):
    args = dict(pred=np.zeros((4, 4), np.uint8), gt=np.zeros((4, 4), np.uint8), trimap=np.zeros((4, 4), np.uint8))
    args.update(bad)
    with pytest.raises(ValueError, match=why) as e:
        getattr(metrics, fn)(args["pred"], args["gt"], args["trimap"])
    assert str(e.value).startswith(name + ":")


def test_many_equal_components():
    # a checkerboard: every component is one pixel, all tie; MATLAB keeps the column-major first
    board = (np.indices((24, 30)).sum(axis=0) % 2 == 1)
    rng = np.random.default_rng(8)
    gt = np.where(board, 255, 0).astype(np.uint8)
    pred = np.where(board, rng.integers(100, 256, board.shape), 0).astype(np.uint8)
    trimap = np.full(board.shape, 128, np.uint8)
    for el in ("gca", "indexnet"):
        want = reference_metrics(pred, gt, trimap, el)["conn"]
        assert_close(metrics.conn(pred, gt, trimap, empty_level=el), want, el, rel=1e-6)


@pytest.mark.parametrize("step", [0.05, 0.2, 0.3, 0.02])  # 0.02: 50 levels, q by table lookup
def test_conn_other_steps(step):
    rng = np.random.default_rng(9)
    pred, gt, trimap = random_case(rng, 31, 29, noise=30.0)
    want = reference_metrics(pred, gt, trimap, step=step)["conn"]
    assert_close(metrics.conn(pred, gt, trimap, step=step), want, f"step {step}", rel=1e-6)


def union_find_stress_cases():
    """Small images that stress Conn's one-pass union-find: few distinct levels (many equally
    large components), stripes and blocks, levels left empty, single rows and columns."""
    rng = np.random.default_rng(10)
    cases = []
    for i in range(36):
        h, w = (int(v) for v in rng.integers(1, 28, 2))
        if i % 6 == 0:
            h = 1
        elif i % 6 == 1:
            w = 1
        kind = i % 4
        if kind == 0:  # a few values: plateaus and ties
            pred = (rng.integers(0, 4, (h, w)) * 85).astype(np.uint8)
            gt = (rng.integers(0, 4, (h, w)) * 85).astype(np.uint8)
        elif kind == 1:  # any value
            pred = rng.integers(0, 256, (h, w)).astype(np.uint8)
            gt = rng.integers(0, 256, (h, w)).astype(np.uint8)
        elif kind == 2:  # blocks of 2x2 (equal components) and a capped prediction (empty levels)
            pred = np.kron(rng.integers(0, 2, (h // 2 + 1, w // 2 + 1)) * 200, np.ones((2, 2)))[:h, :w].astype(np.uint8)
            gt = np.full((h, w), 230, np.uint8)
        else:  # stripes
            pred = np.where(np.arange(w)[None, :] % 3 == 0, 255, rng.integers(0, 256, (h, 1))).astype(np.uint8)
            gt = np.where(np.arange(h)[:, None] % 2 == 0, 255, 128).astype(np.uint8) * np.ones((1, w), np.uint8)
        trimap = np.where(rng.random((h, w)) < 0.8, 128, 0).astype(np.uint8)
        cases.append((pred, gt, trimap))
    return cases


@pytest.mark.parametrize("step, empty_level", [(0.1, "gca"), (0.1, "indexnet"), (0.05, "gca"), (0.3, "indexnet")])
def test_conn_stress_against_literal_reference(step, empty_level):
    for n, (pred, gt, trimap) in enumerate(union_find_stress_cases()):
        want = reference_metrics(pred, gt, trimap, empty_level, step=step)["conn"]
        got = metrics.conn(pred, gt, trimap, step=step, empty_level=empty_level)
        assert_close(got, want, f"case {n} {pred.shape}", rel=1e-6)


def test_conn_chain_ends_where_the_largest_component_moves():
    # A (36 px, min(p, g) = 128: levels 0.1..0.5) is the largest up to t = 0.5; at t = 0.6 only
    # a 2-px spot inside A and B (9 px, 255) remain, and B, apart from A, is the largest: all
    # of A gets l = 0.5 (the spot too, though it passes t = 0.6), B never was in Ω: l = 0.
    pred = np.zeros((12, 12), np.uint8)
    gt = np.zeros((12, 12), np.uint8)
    pred[1:7, 1:7], gt[1:7, 1:7] = 128, 230
    pred[3, 3:5], gt[3, 3:5] = 255, 160  # the spot
    pred[8:11, 8:11] = gt[8:11, 8:11] = 255  # B
    trimap = np.full((12, 12), 128, np.uint8)
    # A without the spot: φ_p = 1 (d = 128/255 − 0.5 < 0.15), φ_g = 1 − (230/255 − 0.5);
    # the spot: φ_p = 1 − 0.5, φ_g = 1 (d = 160/255 − 0.5 < 0.15); B and the rest: p = g
    by_hand = (34 * (230 / 255 - 0.5) + 2 * 0.5) / 1000
    assert metrics.conn(pred, gt, trimap) == pytest.approx(by_hand, rel=1e-6)
    assert_close(metrics.conn(pred, gt, trimap), reference_metrics(pred, gt, trimap)["conn"], "conn", rel=1e-6)


def test_conn_noisy_top_levels():
    # an opaque object predicted with 205..255 noise: M_9 and M_10 break into many pieces
    rng = np.random.default_rng(11)
    gt = np.zeros((40, 50), np.uint8)
    gt[5:35, 5:45] = rng.integers(240, 256, (30, 40))
    pred = np.where(gt > 0, rng.integers(205, 256, gt.shape), 0).astype(np.uint8)
    trimap = np.where(rng.random(gt.shape) < 0.7, 128, 255).astype(np.uint8)
    for el in ("gca", "indexnet"):
        want = reference_metrics(pred, gt, trimap, el)["conn"]
        assert want > 0
        assert_close(metrics.conn(pred, gt, trimap, empty_level=el), want, el, rel=1e-6)


def test_grad_tiles_apart_and_partial_bands():
    # unknown pixels in two column ranges far apart (two tiles per band, one at each image
    # border) over 37 rows (bands of 16, 16 and 5 rows): Grad's ring and 4-row column filter
    rng = np.random.default_rng(12)
    pred, gt, _ = random_case(rng, 37, 130, noise=25.0)
    trimap = np.zeros(pred.shape, np.uint8)
    trimap[:, :9] = 128
    trimap[3:30, 100:] = 128
    trimap[20:22, 60:63] = 128  # a third tile, in the middle band only
    want = reference_metrics(pred, gt, trimap)
    assert want["grad"] > 0
    assert_close(metrics.grad(pred, gt, trimap), want["grad"], "grad", rel=1e-6)


@pytest.mark.parametrize("step", [0.005, 0.0075])
def test_conn_many_levels_at_one_edge(step):
    # a hard edge from 0 to 255: all K (> 127) levels start their runs at the same column
    gt = np.zeros((20, 30), np.uint8)
    gt[5:15, 5:25] = 255
    pred = gt.copy()
    pred[8:12, 8:20] = 200
    trimap = np.full(gt.shape, 128, np.uint8)
    want = reference_metrics(pred, gt, trimap, step=step)["conn"]
    assert_close(metrics.conn(pred, gt, trimap, step=step), want, f"step {step}", rel=1e-6)


@pytest.mark.parametrize("pred_value, gt_value", [(128, None), (0, 0), (255, 255), (None, 0)])
def test_constant_images(pred_value, gt_value):
    # a constant prediction (its gradient is 0, mat2gray only clips it), all zero, all 255
    rng = np.random.default_rng(13)
    pred, gt, trimap = random_case(rng, 40, 60)
    if pred_value is not None:
        pred = np.full_like(pred, pred_value)
    if gt_value is not None:
        gt = np.full_like(gt, gt_value)
    want = reference_metrics(pred, gt, trimap)
    got = metrics.evaluate(pred, gt, trimap, extra=False)
    for k in KEYS:
        assert_close(got[k], want[k], f"{pred_value}/{gt_value} {k}", rel=1e-6)


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (600, 41), (256, 300)])
def test_trimap_counts_one_pass(shape):
    """trimap_counts gives score's unknown_px (pixels == 128) and the odd-value count in one pass;
    expected from numpy's own comparisons."""
    rng = np.random.default_rng(shape[1])
    trimap = rng.choice(np.array([0, 1, 127, 128, 129, 254, 255], np.uint8), size=shape)
    assert metrics.trimap_counts(trimap) == (np.count_nonzero(trimap == 128),
                                             np.count_nonzero(~np.isin(trimap, [0, 128, 255])))
    assert metrics.trimap_counts(np.full((600, 41), 128, np.uint8)) == (600 * 41, 0)


def _first_principles_sad(p, g, t):
    """Σ over trimap == 128 of |p − g| / 255, ÷ 1000, in double precision."""
    u = t == 128
    return float(np.abs(p[u].astype(np.float64) - g[u]).sum() / 255 / 1000)


def test_colour_arrays_follow_the_file_rule():
    rng = np.random.default_rng(21)
    p, g, t = random_case(rng, 23, 19, noise=40.0)
    assert _first_principles_sad(p, g, t) != _first_principles_sad(g, g, t)
    opaque = np.full(p.shape, 255, np.uint8)
    # unambiguous: every channel that counts holds the matte -> the matte's own scores
    for pa in (p[..., None], np.dstack([p] * 3), np.dstack([p, p, p, opaque])):
        for fn in ("sad", "evaluate"):
            got = getattr(metrics, fn)(pa, np.dstack([g] * 3), np.dstack([t] * 3))
            got = got["sad"] if fn == "evaluate" else got
            assert got == pytest.approx(_first_principles_sad(p, g, t), rel=1e-6)
    # ambiguous: channels differ (the trial's dstack([p, gt, gt])), or a BGRA cut-out's alpha
    cases = [(np.dstack([p, g, g]), r"H×W×3 array whose colour channels differ in \d+ pixels"),
             (np.dstack([g, g, g, p]), r"H×W×4 array whose channel 3 \(alpha\) is not 255 in \d+ pixels"),
             (np.dstack([p, g, g, p]), r"colour channels differ .* and whose channel 3 \(alpha\) is not 255")]
    for fn in ("sad", "mse", "grad", "conn", "evaluate"):
        for arr, why in cases:
            for name in ("pred", "gt", "trimap"):
                args = {"pred": p, "gt": g, "trimap": t, name: arr}
                with pytest.raises(ValueError, match=why) as e:
                    getattr(metrics, fn)(args["pred"], args["gt"], args["trimap"])
                msg = str(e.value)
                assert msg.startswith(name + ":") and "\n" not in msg and f"{name}[..., 3]" in msg
    with pytest.raises(ValueError, match="ambiguous"):
        metrics.unknown_mask(np.dstack([t, t, g]))


def test_array_likes_follow_the_same_rule():
    rng = np.random.default_rng(22)
    p, g, t = random_case(rng, 9, 11, noise=40.0)
    with pytest.raises(ValueError, match=r"^pred: expected an 8-bit \(uint8\) image, got dtype int64"):
        metrics.sad(p.tolist(), g, t)  # a list of ints is int64: refused, not guessed
    torch = pytest.importorskip("torch")
    assert metrics.sad(torch.from_numpy(p), g, t) == pytest.approx(_first_principles_sad(p, g, t), rel=1e-6)
    with pytest.raises(ValueError, match="got dtype float32"):
        metrics.sad(torch.from_numpy(p).float() / 255, g, t)
