"""Matting metrics that give the numbers of the DIM MATLAB evaluation code.

Every Composition-1K result in the literature comes from the evaluation code of Deep Image
Matting (Xu, Price, Cohen, Huang, CVPR 2017), the ``DIM_evaluation_code/`` folder shipped by
GCA-Matting, IndexNet and BackgroundMattingV2 (``compute_sad_loss.m``, ``compute_mse_loss.m``,
``compute_gradient_loss.m`` with ``gaussgradient.m``, ``compute_connectivity_error.m``).
The functions here reproduce those programs as run by Octave, single-precision arithmetic and
summation order included (``sum(sum(x))`` adds each column in order, then the column sums), so
they agree with the reference's printed values to ~1e-8 relative; a double-precision sum of
the same terms can be 4e-5 off on a 1080×1920 image. Grad filters in double, as MATLAB does
(a single-precision filter is ~1e-5 off when pred ≈ gt). The returned floats are the
reference's single-precision results.

How the work is kept small: one pass over the three images finds the unknown pixels' tiles
(bands of 16 rows cut into column spans), each image's min and max and the extras' sums
(``_scan``); every per-pixel term is then computed only in the tiles, by loops compiled with
numba (imported on first use; compiled once and cached on disk). Each column's terms are still
added row after row, as Octave does. Grad filters in double with exactly the operations, in the same order, of
OpenCV's ``sepFilter2D``, each needed image row once (along rows) and each tile row once
(along columns). Conn's thresholds become byte comparisons of min(pred, gt); its labellings
are union-find passes over the runs of each level mask, and only as many as can change a term:
the labelling stops where the nested chain of largest components ends, and the last level of
the default step (t = 1) never changes a term (see ``_conn_colsums``).

Inputs are ``pred``, ``gt`` and ``trimap`` as 8-bit arrays of one shape, by the rule
:mod:`matbench.mattes` applies to files: an H×W ``uint8`` array; an H×W×1 one; an H×W×3 one
only when its three channels are equal; an H×W×4 one only when its colour channels are equal
and channel 3 (alpha) is 255 everywhere. A 3- or 4-channel array whose channels differ is
refused as ambiguous (an H×W×4 array from ``cv2.imread(..., IMREAD_UNCHANGED)`` is BGRA: its
channel 0 is blue, the matte is often ``a[..., 3]``): pass the matte channel yourself.
Array-likes (lists, CPU torch tensors) go through ``np.asarray`` and follow the same rule, so
only ``uint8`` data is accepted. Anything else (float, bool, int64, 16-bit, other shapes) is
rejected with a one-line ``ValueError`` naming the argument: a float matte is never rescaled
silently. Convert it yourself, e.g. ``np.clip(np.round(a * 255), 0, 255).astype(np.uint8)``
for a matte in [0, 1].

Only pixels with ``trimap == 128`` count ("unknown"); the prediction is used as given.

Units (as printed by the reference and by papers, except MSE):

=========  =====================================================================
``sad``    Σ_unknown |p − g| / 255, ÷ 1000
``mse``    Σ_unknown ((p − g) / 255)² ÷ n_unknown, raw (papers print it ×1e3);
           NaN when there is no unknown pixel
``grad``   Σ_unknown (|∇p| − |∇g|)², ÷ 1000 (Gaussian-derivative gradient, σ = 1.4)
``conn``   Σ_unknown |φ_p − φ_g|, ÷ 1000 (connectivity, threshold step 0.1)
=========  =====================================================================

Extra metrics (not in the MATLAB code; exact double-precision sums):

================  ==============================================================
``mad``           mean over the unknown pixels of |p − g| / 255 (a fraction of full
                  scale, 0..1; papers often print it ×1e3); NaN without unknown pixel
``sad_image``     Σ over the whole image of |p − g| / 255, ÷ 1000 (mmagic's "SAD")
``sad_unknown``   Σ over trimap == 128 of |p − g| / 255, ÷ 1000 (= ``sad`` up to the
                  single-precision rounding of the reference)
``sad_fg``        the same over trimap == 255
``sad_bg``        the same over trimap == 0
================  ==============================================================

The region split is the GFM/P3M convention; trimap values other than 0, 128 and 255 belong
to no region, so ``sad_unknown + sad_fg + sad_bg`` equals ``sad_image`` only for a clean
trimap.
"""
from __future__ import annotations

import math
import os
import time
from types import SimpleNamespace

import cv2
import numpy as np

__all__ = ["sad", "mse", "grad", "conn", "evaluate", "sad_regions", "unknown_mask", "trimap_counts",
           "trimap_other_count", "prepare_kernels", "kernels_cached", "REFERENCE_KEYS", "EXTRA_KEYS"]

REFERENCE_KEYS = ("sad", "mse", "grad", "conn")
EXTRA_KEYS = ("mad", "sad_image", "sad_unknown", "sad_fg", "sad_bg")

UNKNOWN = 128

_F255 = np.float32(255)
_F1000 = np.float32(1000)
_VALUES32 = np.arange(256, dtype=np.float32)


# --------------------------------------------------------------------------- inputs

def _as_gray8(name: str, a) -> np.ndarray:
    """``a`` as an H×W uint8 array by the array rule (module docstring); ValueError naming
    ``name`` otherwise. The channel checks run only for 3-D inputs."""
    a = np.asarray(a)
    if a.dtype != np.uint8:
        raise ValueError(f"{name}: expected an 8-bit (uint8) image, got dtype {a.dtype}; "
                         f"other types are not rescaled (convert to uint8 0..255 first)")
    if a.ndim == 3 and a.shape[2] in (1, 3, 4):
        _check_channels(name, a)
        a = a[:, :, 0]  # every channel that counts holds the matte
    elif a.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D H×W array (or H×W×1, or H×W×3/H×W×4 with equal colour "
                         f"channels), got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name}: empty image (shape {a.shape})")
    return np.ascontiguousarray(a)


def _check_channels(name: str, a: np.ndarray) -> None:
    """Refuse an H×W×3/H×W×4 uint8 array whose matte channel is ambiguous, as
    :mod:`matbench.mattes` refuses such a file: colour channels that differ, or (4 channels) an
    alpha channel that is not all 255. One-line ValueError naming ``name``."""
    c = a.shape[2]
    if c == 1:
        return
    colour = a[:, :, :3]
    differ = int(np.count_nonzero((colour != colour[:, :, :1]).any(axis=2)))
    transparent = int(np.count_nonzero(a[:, :, 3] != 255)) if c == 4 else 0
    if not (differ or transparent):
        return
    found = []
    if differ:
        found.append(f"colour channels differ in {differ} pixels")
    if transparent:
        found.append(f"channel 3 (alpha) is not 255 in {transparent} pixels")
    raise ValueError(f"{name}: H×W×{c} array whose {' and whose '.join(found)}; which channel is the matte is "
                     f"ambiguous: pass the matte channel as an H×W array, e.g. {name}[..., 3] for the alpha of a "
                     f"cv2.imread(..., IMREAD_UNCHANGED) BGRA image, {name}[..., 0] for MATLAB's channel 1 of an RGB file")


def _validate(pred, gt, trimap):
    p = _as_gray8("pred", pred)
    g = _as_gray8("gt", gt)
    t = _as_gray8("trimap", trimap)
    if g.shape != p.shape:
        raise ValueError(f"gt: shape {g.shape} differs from pred's shape {p.shape}")
    if t.shape != p.shape:
        raise ValueError(f"trimap: shape {t.shape} differs from pred's shape {p.shape}")
    return p, g, t


def unknown_mask(trimap) -> np.ndarray:
    """Boolean mask of the pixels that count: ``trimap == 128`` exactly (127 does not)."""
    return _as_gray8("trimap", trimap) == UNKNOWN


class _Prepared:
    """What every metric needs once, from one pass over the three images (``_scan``): the
    checked inputs, the unknown region's size, bounding columns and tiles, each image's min and
    max, and the integer sums of |p − g| by trimap region."""

    __slots__ = ("p", "g", "t", "n_unknown", "box", "tiles", "lims", "sums")

    def __init__(self, pred, gt, trimap):
        self.p, self.g, self.t = _validate(pred, gt, trimap)
        self.sums, self.lims, n, self.tiles = _kernels().scan(self.p, self.g, self.t, _TILE_ROWS, _TILE_GAP)
        self.n_unknown = int(n)
        # All sums only see the columns of the unknown pixels: outside them every term is 0, and
        # adding zeros does not change a floating-point sum.
        x0, x1 = (int(self.tiles[:, 2].min()), int(self.tiles[:, 3].max())) if n else (0, 0)
        self.box = slice(x0, x1)


_TILE_ROWS = 16
_TILE_GAP = 16


# --------------------------------------------------------------------------- compiled kernels

_KERNELS = None


def _kernels():
    """The loops of this module compiled by numba, as ``.scan``, ``.sad_mse``, ``.grad``,
    ``.levels``, ``.runs``, ``.conn`` and ``.counts``. numba is imported here, on first use,
    not with this module: its import takes ~0.2 s that ``matbench --help`` should not pay.
    ``cache=True``: the machine code is compiled once (~7 s) and then loaded from numba's
    on-disk cache (~0.3 s per process).
    No fast-math: every floating-point operation is the IEEE one written, in the order
    written, which is what makes the results identical to the reference's arithmetic."""
    global _KERNELS
    if _KERNELS is None:
        from numba import njit

        jit = njit(cache=True, nogil=True)
        _KERNELS = SimpleNamespace(scan=jit(_scan), sad_mse=jit(_sad_mse_colsums),
                                   grad=jit(_grad_colsums), levels=jit(_conn_levels), runs=jit(_level_runs),
                                   conn=jit(_conn_colsums), counts=jit(_trimap_counts))
    return _KERNELS


COMPILE_SECONDS = 7  # a cold compilation of every kernel: ~7 s CPU measured on a 2-core x86 machine


def kernels_cached() -> bool | None:
    """Whether numba's on-disk cache holds every metric kernel compiled for this machine (CPU)
    and this version of the source; None when it cannot tell (numba's cache internals changed).

    It looks up each kernel's cache index exactly as numba's loader does (same numba version,
    same source stamp, same target CPU and bytecode hash), without compiling anything.
    """
    return numba_cached(vars(_kernels()).values())


def numba_cached(dispatchers) -> bool | None:
    """:func:`kernels_cached` for any numba functions compiled with ``cache=True``."""
    try:
        for kernel in dispatchers:
            cache = kernel._cache
            codegen = kernel.targetctx.codegen()
            index = cache._cache_file._load_index()
            if not any(key[1:] == cache._index_key(key[0], codegen)[1:]
                       and os.path.isfile(os.path.join(cache.cache_path, name)) for key, name in index.items()):
                return False
        return True
    except Exception:  # private numba API: never let it break scoring
        return None


def prepare_kernels(announce=None) -> float:
    """Compile the metric kernels now (or load them from numba's cache), in this process, and
    return the seconds it took: a one-off cost to keep out of progress bars and timings.

    ``announce(message)`` is called first when the cache is cold (or cannot be inspected):
    ``"compiling the metric kernels (once, ~N s)"``. Later calls in the process cost nothing.
    """
    t0 = time.perf_counter()
    if announce is not None and not _WARM:
        cached = kernels_cached()
        if not cached:
            announce(f"compiling the metric kernels (once, ~{COMPILE_SECONDS} s)" if cached is False else
                     f"preparing the metric kernels (compiled once per machine, ~{COMPILE_SECONDS} s)")
    if not _WARM:
        rng = np.random.default_rng(0)  # a tiny input that runs every kernel
        p, g = rng.integers(0, 256, (2, 12, 12), dtype=np.uint8)
        t = np.array([0, 128, 255, 7], np.uint8)[rng.integers(0, 4, (12, 12))]
        evaluate(p, g, t)
        trimap_other_count(t)
        _WARM.append(True)
    return time.perf_counter() - t0


_WARM: list = []  # non-empty once this process has run every kernel


def _scan(p, g, t, rows, gap):  # compiled by numba
    """One pass over the three images (each row read once) for ``_Prepared``: the integer sums
    of |p − g| over trimap == 128, == 255, == 0 and the whole image (exact); the min and max of
    p and of g; the number of unknown pixels (t == 128); and the tiles, rectangles covering
    every unknown pixel as rows (y0, y1, x0, x1): bands of ``rows`` rows from the top, cut into
    the spans of columns that hold unknown pixels (gaps under ``gap`` columns bridged).

    The per-pixel work of the metrics is done only in the tiles, each band in order from the
    top, so every column still adds its terms row after row. Each column has its own counters
    (16-bit, emptied into the int64 totals every 256 rows: 256 · 255 < 2¹⁶) and running min
    and max, so the row loop runs many pixels at a time."""
    h, w = p.shape
    a_unk, a_fg, a_bg, a_all = np.zeros(w, np.uint16), np.zeros(w, np.uint16), np.zeros(w, np.uint16), np.zeros(w, np.uint16)
    n_unk = np.zeros(w, np.uint16)
    lo_p, hi_p = np.full(w, 255, np.uint8), np.zeros(w, np.uint8)
    lo_g, hi_g = np.full(w, 255, np.uint8), np.zeros(w, np.uint8)
    seen = np.zeros(w, np.uint8)  # unknown pixels in the band so far, per column
    sums = np.zeros(4, np.int64)
    n = 0
    tiles = np.empty(((h + rows - 1) // rows * (w // (gap + 1) + 1), 4), np.int64)
    n_tiles = 0
    for r in range(h):
        pr, gr, tr = p[r], g[r], t[r]
        for c in range(w):
            a, b, v = pr[c], gr[c], tr[c]
            d = max(a, b) - min(a, b)
            u = v == 128
            a_unk[c] += d * u
            a_fg[c] += d * (v == 255)
            a_bg[c] += d * (v == 0)
            a_all[c] += d
            n_unk[c] += u
            seen[c] |= u
            lo_p[c], hi_p[c] = min(lo_p[c], a), max(hi_p[c], a)
            lo_g[c], hi_g[c] = min(lo_g[c], b), max(hi_g[c], b)
        if r % 256 == 255 or r == h - 1:
            for c in range(w):
                sums[0] += a_unk[c]
                sums[1] += a_fg[c]
                sums[2] += a_bg[c]
                sums[3] += a_all[c]
                n += n_unk[c]
                a_unk[c] = a_fg[c] = a_bg[c] = a_all[c] = n_unk[c] = 0
        if r % rows == rows - 1 or r == h - 1:  # the band's tiles
            top = r - r % rows
            c = 0
            while c < w:
                if seen[c] == 0:
                    c += 1
                    continue
                start = last = c
                while c < w and c - last <= gap:
                    if seen[c]:
                        last = c
                    c += 1
                tiles[n_tiles, 0], tiles[n_tiles, 1], tiles[n_tiles, 2], tiles[n_tiles, 3] = top, r + 1, start, last + 1
                n_tiles += 1
                c = last + 1
            seen[:] = 0
    lims = np.array([255, 0, 255, 0], np.int64)  # (loops: array.min() and max() cost compile time)
    for c in range(w):
        lims[0], lims[1] = min(lims[0], lo_p[c]), max(lims[1], hi_p[c])
        lims[2], lims[3] = min(lims[2], lo_g[c]), max(lims[3], hi_g[c])
    return sums, lims, n, tiles[:n_tiles].copy()


# --------------------------------------------------------------------------- summation

def _total_single(colsums: np.ndarray) -> np.float32:
    """``sum(sum(x))`` of MATLAB/Octave on a single-precision matrix, from its column sums.

    Octave sums each column sequentially in single precision (the kernels below add each
    column's terms row after row into ``colsums``), then the row of column sums sequentially.
    Mimicking the order matters: for a 1080×1920 image a double-precision sum of the same
    terms can differ from the reference by up to ~4e-5 relative. Terms outside the unknown
    region are 0 and adding them changes nothing, so only tiles holding unknown pixels are
    visited.
    """
    if colsums.size == 0:
        return np.float32(0)
    return np.add.accumulate(colsums, dtype=np.float32)[-1]


def _count_single(t: np.ndarray, n: int) -> np.float32:
    """``sum(sum(single(trimap == 128)))``: exact below 2**24 pixels, single rounding above."""
    if n <= 2 ** 24:
        return np.float32(n)
    cols = np.count_nonzero(t == UNKNOWN, axis=0).astype(np.float32)
    return np.add.accumulate(cols, dtype=np.float32)[-1]


# --------------------------------------------------------------------------- SAD, MSE

def _sad_mse_colsums(p, g, tri, tiles, x0, width):
    """Column sums (float32, rows added in order) of the SAD and MSE terms over the unknown
    pixels of ``tiles``: e = single(|p − g|) / 255 and e·e, each operation rounded to single
    precision as in the reference. Compiled by numba."""
    colsums = np.zeros((2, width), np.float32)
    zero, f255 = np.float32(0), np.float32(255)
    for t in range(tiles.shape[0]):
        tx0, tx1 = tiles[t, 2], tiles[t, 3]
        col_sad, col_mse = colsums[0, tx0 - x0:tx1 - x0], colsums[1, tx0 - x0:tx1 - x0]
        for y in range(tiles[t, 0], tiles[t, 1]):
            tr, pr, gr = tri[y, tx0:tx1], p[y, tx0:tx1], g[y, tx0:tx1]
            for c in range(tx1 - tx0):
                e = np.float32(abs(np.int32(pr[c]) - np.int32(gr[c]))) / f255
                col_sad[c] += e if tr[c] == 128 else zero
                col_mse[c] += e * e if tr[c] == 128 else zero
    return colsums


def _sad_mse(pp: _Prepared):
    if pp.n_unknown == 0:
        return 0.0, float("nan")  # the reference's 0 and 0/0
    xs = pp.box
    colsums = _kernels().sad_mse(pp.p, pp.g, pp.t, pp.tiles, xs.start, xs.stop - xs.start)
    sad_v = float(_total_single(colsums[0]) / _F1000)
    count = _count_single(pp.t, pp.n_unknown)
    with np.errstate(invalid="ignore", divide="ignore"):
        mse_v = float(_total_single(colsums[1]) / count)  # 0/0 -> NaN, as in the reference
    return sad_v, mse_v


def sad(pred, gt, trimap) -> float:
    """Sum of absolute differences over the unknown region, ÷ 1000 (DIM ``compute_sad_loss.m``).

    SAD = Σ_{trimap=128} |pred − gt| / 255 / 1000, in single precision like the reference.
    """
    return _sad_mse(_Prepared(pred, gt, trimap))[0]


def mse(pred, gt, trimap) -> float:
    """Mean squared error over the unknown region (DIM ``compute_mse_loss.m``).

    MSE = Σ_{trimap=128} ((pred − gt) / 255)² / #{trimap=128}, raw (papers print ×1e3).
    NaN when the trimap has no unknown pixel (the reference's 0/0).
    """
    return _sad_mse(_Prepared(pred, gt, trimap))[1]


# --------------------------------------------------------------------------- Grad

def _gauss_kernels(sigma: float = 1.4, epsilon: float = 1e-2):
    """1-D factors of ``gaussgradient.m``'s 9×9 filter hx(i, j) = G(i−5)·G'(j−5) / ‖·‖.

    The 2-D normalisation sqrt(ΣΣ hx²) is the product of the 1-D norms, so hx = ky ⊗ kx with
    ky = G/‖G‖ along rows (y) and kx = G'/‖G'‖ along columns (x); hy = hxᵀ.
    """
    half = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * epsilon)))
    x = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-x ** 2 / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
    dgauss = -x * gauss / sigma ** 2
    return gauss / np.sqrt(np.sum(gauss ** 2)), dgauss / np.sqrt(np.sum(dgauss ** 2)), half


_KG, _KD, _HALF = _gauss_kernels()
assert _HALF == 4  # the kernel below is written out for 9 taps
_GRAD_RING = 32  # ring rows: a band's rows and the 4 above and below it fit
assert _TILE_ROWS + 2 * _HALF <= _GRAD_RING


def _grad_colsums(p, g, tri, tiles, x0, width, kd, kg, scale_p, scale_g):  # compiled by numba
    """Column sums (float32, rows added in order) of (single(|∇p|) − single(|∇g|))² over the
    unknown pixels of ``tiles``, for the columns x0 .. x0 + width − 1.

    |∇a| = sqrt(gx² + gy²) / scale in double, where gx is ``a`` filtered along rows with
    ``kd`` and then along columns with ``kg``, gy the other way round, with replicated image
    borders, and scale = max − min of the image (0: a constant image, |∇| = 0). The operations
    are those of OpenCV's ``sepFilter2D(a, CV_64F, ...)`` in the same order (its row filter
    Σ_j k[j]·a[x−4+j] for j = 0..8; its column filter for a symmetric kernel
    k[4]·b[y] + 0 + Σ_{j=1..4} k[4+j]·(b[y+j] + b[y−j]), for an antisymmetric one
    0 + Σ_{j=1..4} k[4+j]·(b[y+j] − b[y−j])), so the values are bit-identical to it; no
    fast-math, so nothing is reassociated or fused. The amplitude is sqrt(gx·gx + gy·gy) as
    Octave computes it (cv2.magnitude fuses the multiply-add on some elements, one ulp of a
    double apart; after the rounding to single, not one of 25 million test pixels differed).

    Bands are processed from the top, each image row filtered along rows once: the
    row-filtered rows a band reads (its rows and 4 on each side) are kept in a ring of rows. A
    row is filtered over the columns of the tiles of the bands that read it (its own band and,
    within 4 rows of the next band, that one's too). Loops read rows as 1-D views, so they
    vectorise (an index computed per element instead makes numba emit gathers or scatters).
    """
    h, w = p.shape
    colsum = np.zeros(width, np.float32)
    n_tiles = tiles.shape[0]
    # ring[0], ring[1]: pred filtered along rows with kd (for gx), with kg (for gy); 2, 3: gt
    ring = np.empty((4, _GRAD_RING, width), np.float64)
    line = np.empty(width + 8, np.float64)  # one source row, the filtered columns ±4
    spans = np.empty((2 * n_tiles + 1, 2), np.int64)  # the column spans to filter in a row
    amp = np.empty((2, 4, width), np.float32)  # |∇p|, |∇g| of 4 rows of a tile
    at = np.empty(12, np.int64)  # the ring slots of the rows a column filter reads
    d0, d1, d2, d3, d5, d6, d7, d8 = kd[0], kd[1], kd[2], kd[3], kd[5], kd[6], kd[7], kd[8]
    dc = kd[4]
    g0, g1, g2, g3, g4, g5, g6, g7, g8 = kg[0], kg[1], kg[2], kg[3], kg[4], kg[5], kg[6], kg[7], kg[8]
    zero = np.float32(0)

    def taps(line, c, k0, k1, k2, k3, k4, k5, k6, k7, k8):
        """sepFilter2D's row filter at column c: Σ_j k_j·line[c + j], in this order"""
        v = k0 * line[c]
        v += k1 * line[c + 1]
        v += k2 * line[c + 2]
        v += k3 * line[c + 3]
        v += k4 * line[c + 4]
        v += k5 * line[c + 5]
        v += k6 * line[c + 6]
        v += k7 * line[c + 7]
        v += k8 * line[c + 8]
        return v

    def amplitude(dm4, dm3, dm2, dm1, d00, dp1, dp2, dp3, dp4, gm4, gm3, gm2, gm1, gp1, gp2, gp3, gp4, scale):
        """single(|∇|) of one pixel from the row-filtered values of rows −4 .. +4 (kd-filtered
        d.., kg-filtered g..), by sepFilter2D's column filter (inlined by numba)"""
        gx = g4 * d00 + 0.0
        gx += g5 * (dp1 + dm1)
        gx += g6 * (dp2 + dm2)
        gx += g7 * (dp3 + dm3)
        gx += g8 * (dp4 + dm4)
        gy = 0.0
        gy += d5 * (gp1 - gm1)
        gy += d6 * (gp2 - gm2)
        gy += d7 * (gp3 - gm3)
        gy += d8 * (gp4 - gm4)
        return np.float32(np.sqrt(gx * gx + gy * gy) / scale)

    filled = -(1 << 62)  # rows < filled are in the ring
    b0 = 0
    while b0 < n_tiles:  # a band: the tiles b0 .. b1 − 1 (rows ty0 .. ty1 − 1)
        ty0, ty1 = tiles[b0, 0], tiles[b0, 1]
        b1 = b0
        while b1 < n_tiles and tiles[b1, 0] == ty0:
            b1 += 1
        b2 = b1  # the next band: tiles b1 .. b2 − 1
        while b2 < n_tiles and tiles[b2, 0] == tiles[b1, 0]:
            b2 += 1
        next_top = tiles[b1, 0] if b1 < n_tiles else h + 8
        # the row filter: the rows this band reads (ty0 − 4 .. ty1 + 3) not in the ring yet
        for rr in range(max(filled, ty0 - 4), ty1 + 4):
            # the column spans of this band's tiles, and of the next band's if it reads row rr
            n_spans = 0
            i, j = b0, b1 if rr >= next_top - 4 else b2
            while i < b1 or j < b2:
                if j >= b2 or (i < b1 and tiles[i, 2] <= tiles[j, 2]):
                    s0, s1 = tiles[i, 2], tiles[i, 3]
                    i += 1
                else:
                    s0, s1 = tiles[j, 2], tiles[j, 3]
                    j += 1
                if n_spans > 0 and s0 <= spans[n_spans - 1, 1]:
                    spans[n_spans - 1, 1] = max(spans[n_spans - 1, 1], s1)
                else:
                    spans[n_spans, 0], spans[n_spans, 1] = s0, s1
                    n_spans += 1
            slot = (rr + 8) % _GRAD_RING
            for im in range(2):
                if (scale_p if im == 0 else scale_g) == 0:
                    continue
                src = (p if im == 0 else g)[min(max(rr, 0), h - 1)]  # replicated border rows
                bd, bg = ring[2 * im, slot], ring[2 * im + 1, slot]
                for s in range(n_spans):
                    sx0, sx1 = spans[s, 0], spans[s, 1]
                    n = sx1 - sx0
                    lo, hi = max(sx0 - 4, 0), min(sx1 + 4, w)
                    for c in range(lo - (sx0 - 4)):  # replicated border columns
                        line[c] = src[0]
                    row, dst = src[lo:hi], line[lo - (sx0 - 4):hi - (sx0 - 4)]
                    for c in range(hi - lo):
                        dst[c] = row[c]
                    for c in range(hi - (sx0 - 4), n + 8):
                        line[c] = src[w - 1]
                    od, og = bd[sx0 - x0:sx1 - x0], bg[sx0 - x0:sx1 - x0]
                    for c in range(n):
                        od[c] = taps(line, c, d0, d1, d2, d3, dc, d5, d6, d7, d8)
                        og[c] = taps(line, c, g0, g1, g2, g3, g4, g5, g6, g7, g8)
        filled = ty1 + 4
        # the column filter, tile by tile, 4 rows at a time: rows y .. y + 3 read the ring rows
        # y − 4 .. y + 7, each loaded once for all four (a row at a time loads each 9 times and
        # waits on the cache). Past the band's last row the rows are clamped to filtered ones
        # and their terms are not added.
        last = ty1 + 3
        for t in range(b0, b1):
            cx0, cx1 = tiles[t, 2] - x0, tiles[t, 3] - x0
            n = cx1 - cx0
            for y in range(ty0, ty1, 4):
                for i in range(12):  # rows y − 4 .. y + 7
                    at[i] = (min(y - 4 + i, last) + 8) % _GRAD_RING
                for im in range(2):
                    o0, o1, o2, o3 = amp[im, 0, :n], amp[im, 1, :n], amp[im, 2, :n], amp[im, 3, :n]
                    scale = scale_p if im == 0 else scale_g
                    if scale == 0:  # a constant image: mat2gray only clips it, its gradient is 0
                        amp[im, :, :n] = 0
                        continue
                    rd, rg = ring[2 * im], ring[2 * im + 1]
                    a0, a1, a2, a3 = rd[at[0], cx0:cx1], rd[at[1], cx0:cx1], rd[at[2], cx0:cx1], rd[at[3], cx0:cx1]
                    a4, a5, a6, a7 = rd[at[4], cx0:cx1], rd[at[5], cx0:cx1], rd[at[6], cx0:cx1], rd[at[7], cx0:cx1]
                    a8, a9, a10, a11 = rd[at[8], cx0:cx1], rd[at[9], cx0:cx1], rd[at[10], cx0:cx1], rd[at[11], cx0:cx1]
                    b0_, b1_, b2_, b3_ = rg[at[0], cx0:cx1], rg[at[1], cx0:cx1], rg[at[2], cx0:cx1], rg[at[3], cx0:cx1]
                    b4_, b5_, b6_, b7_ = rg[at[4], cx0:cx1], rg[at[5], cx0:cx1], rg[at[6], cx0:cx1], rg[at[7], cx0:cx1]
                    b8_, b9_, b10_, b11_ = rg[at[8], cx0:cx1], rg[at[9], cx0:cx1], rg[at[10], cx0:cx1], rg[at[11], cx0:cx1]
                    for c in range(n):
                        v0, v1, v2, v3, v4, v5 = a0[c], a1[c], a2[c], a3[c], a4[c], a5[c]
                        v6, v7, v8, v9, v10, v11 = a6[c], a7[c], a8[c], a9[c], a10[c], a11[c]
                        u0, u1, u2, u3, u4, u5 = b0_[c], b1_[c], b2_[c], b3_[c], b4_[c], b5_[c]
                        u6, u7, u8, u9, u10, u11 = b6_[c], b7_[c], b8_[c], b9_[c], b10_[c], b11_[c]
                        o0[c] = amplitude(v0, v1, v2, v3, v4, v5, v6, v7, v8, u0, u1, u2, u3, u5, u6, u7, u8, scale)
                        o1[c] = amplitude(v1, v2, v3, v4, v5, v6, v7, v8, v9, u1, u2, u3, u4, u6, u7, u8, u9, scale)
                        o2[c] = amplitude(v2, v3, v4, v5, v6, v7, v8, v9, v10, u2, u3, u4, u5, u7, u8, u9, u10, scale)
                        o3[c] = amplitude(v3, v4, v5, v6, v7, v8, v9, v10, v11, u3, u4, u5, u6, u8, u9, u10, u11, scale)
                col = colsum[cx0:cx1]
                for i in range(min(4, ty1 - y)):  # row after row, as each column must add them
                    tr, ap, ag = tri[y + i, cx0 + x0:cx1 + x0], amp[0, i, :n], amp[1, i, :n]
                    for c in range(n):
                        d = ap[c] - ag[c]
                        col[c] += d * d if tr[c] == 128 else zero
        b0 = b1
    return colsum


def _grad(pp: _Prepared) -> float:
    if pp.n_unknown == 0:
        return 0.0
    # Double-precision filtering: MATLAB filters in double and rounds |∇| to single; a
    # single-precision filter rounds differently often enough to be ~1e-5 off when pred ≈ gt.
    # mat2gray is affine and the derivative kernels sum to 0, so filtering the raw image and
    # dividing |∇| by (max − min) gives the gradient of the normalised image.
    # imfilter(I, h, 'replicate', 'conv') is a convolution: the flipped G' kernel is −G', which
    # only flips the signs of gx and gy.
    lo_p, hi_p, lo_g, hi_g = pp.lims
    xs = pp.box
    colsum = _kernels().grad(pp.p, pp.g, pp.t, pp.tiles, xs.start, xs.stop - xs.start,
                             _KD, _KG, float(hi_p - lo_p), float(hi_g - lo_g))
    return float(_total_single(colsum) / _F1000)


def grad(pred, gt, trimap) -> float:
    """Gradient error over the unknown region, ÷ 1000 (DIM ``compute_gradient_loss.m``).

    Each image is normalised on its own (``mat2gray``: (x − min)/(max − min)), filtered with
    the 9×9 Gaussian-derivative kernels of ``gaussgradient.m`` (σ = 1.4, true convolution,
    replicated borders), and Grad = Σ_{trimap=128} (single(|∇p|) − single(|∇g|))² / 1000.
    """
    return _grad(_Prepared(pred, gt, trimap))


# --------------------------------------------------------------------------- Conn

# φ = 1 − d·[d ≥ 0.15] with d = single(x) − single(l): d ≥ 0.15 (a double) holds for a single d
# exactly when d > the float just below single(0.15).
_PHI_THRESHOLD = float(np.nextafter(np.float32(0.15), np.float32(0)))


def _conn_tables(step: float):
    """Thresholds and lookup tables of ``compute_connectivity_error.m`` for one step: K (the
    number of levels), the level of each byte value, φ[j, v] and l_j = single(t_j) (j = K: 1).

    t = 0:step:1 as Octave's colon computes it (base + i·step, so t(7) = 0.6000000000000001
    for step 0.1). p ≥ t_k compares single(v)/255 with a double: it holds exactly for
    v ≥ vmin[k], the smallest such byte value, so the levels are integer comparisons.
    """
    if not (0.005 <= step <= 1):
        raise ValueError(f"step: expected a threshold step in [0.005, 1], got {step}")
    n = int(math.floor(1.0 / step * (1 + 2 ** -40))) + 1
    t = np.arange(n, dtype=np.float64) * step
    t[t > 1] = 1.0
    k_levels = n - 1  # levels k = 1..K use t[k]; a pixel never dropped gets l = 1
    v32 = (_VALUES32 / _F255).astype(np.float64)
    vmin = np.array([int(np.argmax(v32 >= tk)) if v32[-1] >= tk else 256 for tk in t[1:]])
    # level of a byte value: how many thresholds it passes
    level_of = np.array([(v >= vmin).sum() for v in range(256)], dtype=np.uint8)
    # φ of a pixel of value v with l = single(t_j) (t_K+1 = 1: never dropped), in single precision:
    # x = single(v)/255, d = x − l, φ = 1 − d·[d ≥ 0.15]
    l_values = np.append(t[:k_levels], 1.0).astype(np.float32)
    d = _VALUES32[None, :] / _F255 - l_values[:, None]
    phi = np.float32(1) - np.where(d.astype(np.float64) > _PHI_THRESHOLD, d, np.float32(0))
    return k_levels, level_of, np.ascontiguousarray(phi, dtype=np.float32), l_values


# Up to this many thresholds, q is counted with byte comparisons (``_conn_levels``); more (a
# step under 1/32) take a table lookup, since an unrolled loop of hundreds of comparisons per
# pixel would be slower than the lookup.
_MAX_COMPARED_LEVELS = 32


def _conn_levels(p, g, thresholds):  # compiled by numba
    """q = the number of ``thresholds`` (a tuple of bytes, θ_k = vmin[k] − 1) that min(p, g)
    exceeds, i.e. the levels it passes, as a uint8 image whose rows are padded with zeros to a
    multiple of 8 columns (``_level_runs`` reads them 8 at a time).

    The tuple's length is a compile-time constant: the loop over it unrolls and each row's loop
    runs 32 pixels at a time, ~3× faster than cv2.min + cv2.LUT + a padded copy."""
    h, w = p.shape
    w8 = (w + 7) // 8 * 8
    q = np.empty((h, w8), np.uint8)
    for r in range(h):
        pr, gr, qr = p[r], g[r], q[r]
        for c in range(w):
            m = min(pr[c], gr[c])
            n = np.uint8(0)
            for th in thresholds:
                n += np.uint8(m > th)
            qr[c] = n
        for c in range(w, w8):
            qr[c] = 0
    return q


_CONN_TABLES: dict = {}


def _conn_setup(step: float):
    """``_conn_tables`` for one step, cached, with the byte thresholds of ``_conn_levels`` and
    k_eff: the levels after k_eff change no term, since the rows k_eff .. K of φ are equal."""
    tables = _CONN_TABLES.get(step)
    if tables is None:
        k_levels, level_of, phi, l_values = _conn_tables(step)
        # q ≥ k ⇔ min(p, g) ≥ vmin[k] ⇔ min(p, g) > vmin[k] − 1, with vmin[k] = #{v: level_of[v] < k}
        # (≥ 1: t_1 > 0); levels that no byte reaches are left out
        thresholds = tuple(np.uint8(np.count_nonzero(level_of < k) - 1) for k in range(1, int(level_of[255]) + 1))
        bits = phi.view(np.uint32)
        k_eff = k_levels
        while k_eff > 0 and np.array_equal(bits[k_eff - 1], bits[k_levels]):
            k_eff -= 1
        tables = _CONN_TABLES[step] = k_levels, k_eff, level_of, thresholds, l_values
    return tables


def _level_runs(q, q64, k_eff):  # compiled by numba
    """The runs of every level: for k = 1 .. k_eff, the maximal horizontal segments of
    M_k = {q ≥ k}, in raster order, are ``runs[off[k]:off[k + 1]]``, each a row (r, c0, c1)
    for the columns c0 .. c1 − 1 of row r (``q`` padded as ``_conn_levels`` makes it, values
    ≤ k_eff; ``q64`` the same memory read 8 pixels at a time).

    A first pass records the columns where q changes in each row (words of 8 equal pixels are
    skipped); each level's runs are counted from them, then every change from u to v becomes the
    start (v > u) or the end (v < u) of a run at the levels min(u, v) + 1 .. max(u, v)."""
    h = q.shape[0]
    w = q.shape[1]  # the padding holds q = 0: it adds no run and no change that matters
    change_c = np.empty(h * w, np.int32)
    change_v = np.empty(h * w, np.uint8)
    row_first = np.empty(h + 1, np.int64)
    ones = np.uint64(0x0101010101010101)
    n = 0
    for r in range(h):
        row_first[r] = n
        qr, qr64 = q[r], q64[r]
        prev = np.uint8(0)
        prev8 = np.uint64(0)  # prev in each of 8 bytes
        for c8 in range(w >> 3):
            if qr64[c8] == prev8:
                continue  # 8 pixels without a change
            for c in range(c8 * 8, c8 * 8 + 8):
                v = qr[c]
                change_c[n], change_v[n] = c, v
                n += v != prev
                prev = v
            prev8 = np.uint64(prev) * ones
    row_first[h] = n
    # the runs that start at each level, as differences: a rise from u to v starts runs at
    # u + 1 .. v. Four interleaved counts: consecutive rises would otherwise wait on each
    # other's update of the same counter.
    new_runs = np.zeros((4, k_eff + 2), np.int64)
    for r in range(h):
        u = 0
        for e in range(row_first[r], row_first[r + 1]):
            v = np.int64(change_v[e])
            up = v > u
            new_runs[e & 3, u + 1] += up
            new_runs[e & 3, v + 1] -= up
            u = v
    off = np.zeros(k_eff + 2, np.int64)
    count = 0
    for k in range(1, k_eff + 1):
        count += new_runs[0, k] + new_runs[1, k] + new_runs[2, k] + new_runs[3, k]
        off[k + 1] = off[k] + count
    runs = np.empty((off[k_eff + 1], 3), np.int32)
    last = off.copy()  # one past the last run of each level so far
    for r in range(h):
        u = 0
        for e in range(row_first[r], row_first[r + 1]):
            c, v = change_c[e], change_v[e]
            for k in range(u + 1, v + 1):  # q rises: runs start
                i = last[k]
                runs[i, 0], runs[i, 1] = r, c
                last[k] = i + 1
            for k in range(v + 1, u + 1):  # q falls: runs end
                runs[last[k] - 1, 2] = c
            u = v
        for k in range(1, u + 1):  # the runs that reach the end of the row
            runs[last[k] - 1, 2] = w
    return off, runs


def _conn_colsums(p, g, tri, off, runs, tiles, x0, width, k_levels, k_eff, indexnet, l_values):  # compiled by numba
    """Column sums (float32, rows added in order) of |φ_p − φ_g| over the unknown pixels of
    ``tiles``, from the runs of the level masks M_1 ⊇ M_2 ⊇ … (``_level_runs``).

    A pixel gets l = t_j with j = k − 1 for the first level k where it is outside Ω_k, the
    largest 4-connected component of M_k (ties: the component whose first pixel in
    column-major order comes first, as MATLAB's bwconncomp numbers them and max() picks them);
    j = K (l = 1) if there is none. Ω_k lies inside one component of M_{k−1}: inside Ω_{k−1}
    or apart from it. While Ω_k ⊆ Ω_{k−1} the pixels still without l after level k are exactly
    Ω_k; once Ω_k is apart (or M_k is empty) all of Ω_{k−1} gets j = k − 1 and nothing changes
    afterwards. So j is the number of levels of the nested chain Ω_1 ⊇ Ω_2 ⊇ … that hold the
    pixel, and the chain ends at the first level whose Ω is apart or empty.

    Each level is labelled on its own: union-find over its runs in raster order (runs sharing
    a column in adjacent rows are joined, the root with the smaller index stays). Ω_k's runs
    add +1 at their first column and −1 after their last to ``marks``, whose running sum along
    a row is j. Levels after k_eff are not labelled: they only choose among rows of φ that are
    equal. Empty levels: the reference (``indexnet`` false) gives the pixels still without l
    the value t_{k−1}; IndexNet's copy skips them, so those pixels keep l = 1 (j = K). The
    terms are computed from l = ``l_values[j]`` in single precision like the reference, with the
    operations of ``_conn_tables`` (so they equal its table φ bit for bit).
    """
    h = p.shape[0]
    max_n = 1
    for k in range(1, k_eff + 1):
        max_n = max(max_n, off[k + 1] - off[k])
    parent = np.empty(max_n, np.int32)
    size = np.empty(max_n, np.int64)
    in_omega = np.zeros(max_n, np.uint8)  # level k − 1's runs: in Ω_{k−1}?
    y0, y1 = tiles[0, 0], tiles[tiles.shape[0] - 1, 1]
    # j ≤ K ≤ 200: the marks and their running sums are uint8, modulo 256, which is exact
    marks = np.zeros((y1 - y0, width + 1), np.uint8)
    chain = 0  # the last level of the chain
    ended_empty = False
    for k in range(1, k_eff + 1):
        o, n = off[k], off[k + 1] - off[k]
        if n == 0:
            ended_empty = True
            break
        lv = runs[o:o + n]
        # components: each row's runs joined with those of the row above that share a column;
        # the root with the smaller index stays, so a parent always comes before its child
        above0, above1, above_row = 0, 0, -2
        lo = 0
        while lo < n:
            r = lv[lo, 0]
            hi = lo
            while hi < n and lv[hi, 0] == r:
                parent[hi] = hi
                hi += 1
            if above_row == r - 1:
                i, j = above0, lo
                while i < above1 and j < hi:
                    if lv[i, 1] < lv[j, 2] and lv[j, 1] < lv[i, 2]:
                        a = parent[i]
                        while parent[a] != a:
                            a = parent[a]
                        parent[i] = a
                        b = parent[j]
                        while parent[b] != b:
                            b = parent[b]
                        if b < a:
                            a, b = b, a
                        parent[b] = parent[j] = a
                    ci, cj = lv[i, 2], lv[j, 2]
                    i += ci <= cj
                    j += cj <= ci
            above0, above1, above_row = lo, hi, r
            lo = hi
        # every run points at its root (its parent's own is done: parents come first); the
        # component sizes at the roots (0 elsewhere); the largest
        size[:n] = 0
        for i in range(n):
            rt = parent[parent[i]]
            parent[i] = rt
            size[rt] += lv[i, 2] - lv[i, 1]
        top, best, n_top = size[0], 0, 1  # run 0 is a root
        for i in range(1, n):
            if size[i] > top:
                top, best, n_top = size[i], i, 1
            elif size[i] == top:
                n_top += 1
        if n_top > 1:  # a tie: the first pixel in column-major order, column · H + row
            first = np.full(n, np.iinfo(np.int64).max, np.int64)
            for i in range(n):
                first[parent[i]] = min(first[parent[i]], np.int64(lv[i, 1]) * h + lv[i, 0])
            for i in range(n):
                if parent[i] == i and size[i] == top and first[i] < first[best]:
                    best = i
        if k > 1:  # is Ω_k inside Ω_{k−1}? The run of level k − 1 holding best's first pixel
            key = np.int64(lv[best, 0]) * (1 << 32) + lv[best, 1]
            a, b = off[k - 1], o
            while a < b:  # the last run of level k − 1 starting at or before it
                mid = (a + b) // 2
                if np.int64(runs[mid, 0]) * (1 << 32) + runs[mid, 1] <= key:
                    a = mid + 1
                else:
                    b = mid
            if not in_omega[a - 1 - off[k - 1]]:
                break  # Ω_k is apart from Ω_{k−1}: the chain ends
        x1 = x0 + width
        for i in range(n):  # no branch on inside: in a noisy level it is a coin toss
            inside = np.uint8(parent[i] == best)
            in_omega[i] = inside
            r = lv[i, 0]
            if y0 <= r < y1:
                a, b = min(max(lv[i, 1], x0), x1) - x0, min(max(lv[i, 2], x0), x1) - x0
                marks[r - y0, a] += inside  # (a run outside the columns: a = b, the two cancel)
                marks[r - y0, b] -= inside
        chain = k
    # IndexNet's copy skips empty levels: a chain ended by one leaves Ω_chain with l = 1 (j = K)
    l_j = l_values.copy()
    if indexnet and ended_empty:
        l_j[chain] = l_values[k_levels]
    # the terms, row by row of each band of tiles, j the running sum of marks along the row:
    # first l along the row, then φ computed as ``_conn_tables`` does (a loop that vectorises;
    # a lookup per pixel in the table of φ would not)
    colsum = np.zeros(width, np.float32)
    l_row = np.empty(width, np.float32)
    zero, one, f255 = np.float32(0), np.float32(1), np.float32(255)
    n_tiles = tiles.shape[0]
    b0 = 0
    while b0 < n_tiles:
        b1 = b0
        while b1 < n_tiles and tiles[b1, 0] == tiles[b0, 0]:
            b1 += 1
        for y in range(tiles[b0, 0], tiles[b0, 1]):
            mr = marks[y - y0]
            j = np.uint8(0)
            done = 0  # marks added up to this column
            for t in range(b0, b1):
                tx0, tx1 = tiles[t, 2], tiles[t, 3]
                for c in range(done, tx0 - x0):
                    j = np.uint8(j + mr[c])
                done = tx1 - x0
                n = tx1 - tx0
                mt, lr = mr[tx0 - x0:tx1 - x0], l_row[:n]
                for c in range(n):
                    j = np.uint8(j + mt[c])
                    lr[c] = l_j[j]
                tr, pr, gr = tri[y, tx0:tx1], p[y, tx0:tx1], g[y, tx0:tx1]
                col = colsum[tx0 - x0:tx1 - x0]
                for c in range(n):
                    dp = np.float32(pr[c]) / f255 - lr[c]
                    dg = np.float32(gr[c]) / f255 - lr[c]
                    phi_p = one - (dp if np.float64(dp) > _PHI_THRESHOLD else zero)
                    phi_g = one - (dg if np.float64(dg) > _PHI_THRESHOLD else zero)
                    col[c] += abs(phi_p - phi_g) if tr[c] == 128 else zero
        b0 = b1
    return colsum


def _conn(pp: _Prepared, step: float = 0.1, empty_level: str = "gca") -> float:
    if empty_level not in ("gca", "indexnet"):
        raise ValueError(f"empty_level: expected 'gca' or 'indexnet', got {empty_level!r}")
    k_levels, k_eff, level_of, thresholds, l_values = _conn_setup(step)
    if pp.n_unknown == 0:
        return 0.0
    if k_eff <= _MAX_COMPARED_LEVELS:
        q = _kernels().levels(pp.p, pp.g, thresholds[:k_eff])  # levels min(p, g) passes, up to k_eff
    else:
        q = cv2.LUT(cv2.min(pp.p, pp.g), np.minimum(level_of, k_eff).astype(np.uint8))
        if q.shape[1] % 8:
            q = cv2.copyMakeBorder(q, 0, 0, 0, 8 - q.shape[1] % 8, cv2.BORDER_CONSTANT, value=0)
    off, runs = _kernels().runs(q, q.view(np.uint64), k_eff)
    xs = pp.box
    colsum = _kernels().conn(pp.p, pp.g, pp.t, off, runs, pp.tiles, xs.start, xs.stop - xs.start,
                             k_levels, k_eff, empty_level == "indexnet", l_values)
    return float(_total_single(colsum) / _F1000)


def conn(pred, gt, trimap, step: float = 0.1, empty_level: str = "gca") -> float:
    """Connectivity error over the unknown region, ÷ 1000 (DIM ``compute_connectivity_error.m``).

    With p = single(pred)/255, g = single(gt)/255 and thresholds t = 0:step:1: for each
    k ≥ 2, Ω_k is the largest 4-connected component of (p ≥ t_k) & (g ≥ t_k) (ties: first in
    column-major order); a pixel's l is t_{k−1} for the first k with the pixel outside Ω_k,
    or 1. With d = x − l and φ = 1 − d·[d ≥ 0.15], Conn = Σ_{trimap=128} |φ_p − φ_g| / 1000.

    ``empty_level`` says what a level without any component does: ``"gca"`` (the reference,
    the copy in GCA-Matting) gives every pixel still without l the value t_{k−1};
    ``"indexnet"`` (the copy in IndexNet) skips the level.
    """
    return _conn(_Prepared(pred, gt, trimap), step, empty_level)


# --------------------------------------------------------------------------- extras

def _trimap_counts(t):  # compiled by numba
    """How many pixels of ``t`` are 128, and how many are none of 0, 128, 255: per-column 8-bit
    counters emptied every 255 rows, so the row loop runs many pixels at a time."""
    h, w = t.shape
    unk, odd = np.zeros(w, np.uint8), np.zeros(w, np.uint8)
    n_unk = n_odd = 0
    for r in range(h):
        tr = t[r]
        for c in range(w):
            v = tr[c]
            unk[c] += v == 128
            odd[c] += (v != 0) & (v != 128) & (v != 255)
        if r % 255 == 254 or r == h - 1:
            for c in range(w):
                n_unk += unk[c]
                n_odd += odd[c]
                unk[c] = odd[c] = 0
    return n_unk, n_odd


def trimap_counts(trimap) -> tuple[int, int]:
    """``(unknown, other)`` of an H×W uint8 trimap in one pass: the pixels equal to 128 (the
    unknown region the metrics sum over) and the pixels that are none of 0, 128, 255 (they
    belong to no region: only 128 is unknown in the reference; ``matbench score`` warns)."""
    n_unknown, n_other = _kernels().counts(_as_gray8("trimap", trimap))
    return int(n_unknown), int(n_other)


def trimap_other_count(trimap) -> int:
    """Number of trimap pixels that are none of 0, 128, 255 (:func:`trimap_counts`)."""
    return trimap_counts(trimap)[1]


def _region_sads(pp: _Prepared) -> dict:
    # integer sums of |p − g| (exact), then /255/1000: the same doubles as cv2.norm(NORM_L1) gives
    unknown, fg, bg, image = (float(v) / 255.0 / 1000.0 for v in pp.sums)
    return {"unknown": unknown, "fg": fg, "bg": bg, "image": image}


def sad_regions(pred, gt, trimap) -> dict:
    """SAD (÷ 1000) split by trimap region, the GFM/P3M convention.

    Returns ``{"unknown": ..., "fg": ..., "bg": ..., "image": ...}``: Σ |pred − gt| / 255 / 1000
    over trimap == 128, == 255, == 0, and over the whole image, summed exactly in double
    precision (not the reference's single-precision sum).
    """
    return _region_sads(_Prepared(pred, gt, trimap))


def evaluate(pred, gt, trimap, *, extra: bool = True, step: float = 0.1, empty_level: str = "gca") -> dict:
    """All four reference metrics of one image, sharing the checks and the unknown region.

    Returns a dict with keys ``sad``, ``mse``, ``grad``, ``conn`` (``REFERENCE_KEYS``; values
    identical to the functions of the same name) and, when ``extra`` is true, ``mad``,
    ``sad_image``, ``sad_unknown``, ``sad_fg``, ``sad_bg`` (``EXTRA_KEYS``; see the module
    docstring). ``step`` and ``empty_level`` are passed to Conn (see :func:`conn`).
    """
    pp = _Prepared(pred, gt, trimap)
    sad_v, mse_v = _sad_mse(pp)
    out = {"sad": sad_v, "mse": mse_v, "grad": _grad(pp), "conn": _conn(pp, step, empty_level)}
    if extra:
        r = _region_sads(pp)
        out["mad"] = r["unknown"] * 1000.0 / pp.n_unknown if pp.n_unknown else float("nan")
        out["sad_image"] = r["image"]
        out["sad_unknown"] = r["unknown"]
        out["sad_fg"] = r["fg"]
        out["sad_bg"] = r["bg"]
    return out
