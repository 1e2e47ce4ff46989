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

How the work is kept small: the unknown region's box bounds every sum; Grad and Conn's
per-pixel terms are computed only in 64-pixel tiles that hold unknown pixels; Conn's
thresholds become byte comparisons of min(pred, gt), each level is labelled by OpenCV inside
the previous level's largest component when that is provably enough, and the levels stop once
every unknown pixel has its value.

Inputs are ``pred``, ``gt`` and ``trimap`` as 8-bit arrays of one shape: 2-D ``uint8``, or an
H×W×C ``uint8`` array (C = 1, 3 or 4) whose channel 0 is used, as the MATLAB driver does with
an RGB file. Anything else (float, bool, 16-bit, other shapes) is rejected with a ``ValueError``
naming the argument: a float matte is never rescaled silently. Convert it yourself, e.g.
``np.clip(np.round(a * 255), 0, 255).astype(np.uint8)`` for a matte in [0, 1].

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

import cv2
import numpy as np

__all__ = ["sad", "mse", "grad", "conn", "evaluate", "sad_regions", "unknown_mask", "REFERENCE_KEYS",
           "EXTRA_KEYS"]

REFERENCE_KEYS = ("sad", "mse", "grad", "conn")
EXTRA_KEYS = ("mad", "sad_image", "sad_unknown", "sad_fg", "sad_bg")

UNKNOWN = 128

_F255 = np.float32(255)
_F1000 = np.float32(1000)
_VALUES32 = np.arange(256, dtype=np.float32)
# Per-pixel terms of SAD and MSE as the reference computes them in single precision:
# abs(single(p) - single(g)) / 255 and ((single(p) - single(g)) / 255)^2 depend only on |p - g|.
_SAD_LUT = _VALUES32 / _F255
_MSE_LUT = (_VALUES32 / _F255) * (_VALUES32 / _F255)


# --------------------------------------------------------------------------- inputs

def _as_gray8(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype != np.uint8:
        raise ValueError(f"{name}: expected an 8-bit (uint8) image, got dtype {a.dtype}; "
                         f"other types are not rescaled (convert to uint8 0..255 first)")
    if a.ndim == 3 and a.shape[2] in (1, 3, 4):
        a = a[:, :, 0]  # channel 0, like the MATLAB driver reading an RGB file
    elif a.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D H×W array (or H×W×3/H×W×4, channel 0 is used), "
                         f"got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name}: empty image (shape {a.shape})")
    return np.ascontiguousarray(a)


def _validate(pred, gt, trimap):
    p = _as_gray8("pred", pred)
    g = _as_gray8("gt", gt)
    t = _as_gray8("trimap", trimap)
    if g.shape != p.shape:
        raise ValueError(f"gt: shape {g.shape} differs from pred's shape {p.shape}")
    if t.shape != p.shape:
        raise ValueError(f"trimap: shape {t.shape} differs from pred's shape {p.shape}")
    return p, g, t


def _cmp(a: np.ndarray, value: int, op: int) -> np.ndarray:
    """cv2.compare against a number as a 0/255 uint8 mask (numpy for tiny arrays, which
    OpenCV's Python binding would take for a scalar)."""
    if a.size > 4:
        return cv2.compare(a, value, op)
    res = a == value if op == cv2.CMP_EQ else a >= value
    return res.astype(np.uint8) * np.uint8(255)


def unknown_mask(trimap) -> np.ndarray:
    """Boolean mask of the pixels that count: ``trimap == 128`` exactly (127 does not)."""
    return _as_gray8("trimap", trimap) == UNKNOWN


class _Prepared:
    """What every metric needs once: the checked inputs and the unknown region."""

    __slots__ = ("p", "g", "t", "unk", "n_unknown", "box", "_tiles")

    def __init__(self, pred, gt, trimap):
        self.p, self.g, self.t = _validate(pred, gt, trimap)
        self.unk = _cmp(self.t, UNKNOWN, cv2.CMP_EQ)  # uint8 0/255
        self.n_unknown = int(cv2.countNonZero(self.unk))
        # All sums only see the bounding box of the unknown pixels: outside it every term is 0,
        # and adding zeros does not change a floating-point sum.
        x, y, w, h = cv2.boundingRect(self.unk) if self.n_unknown else (0, 0, 0, 0)
        self.box = (slice(y, y + h), slice(x, x + w))
        self._tiles = None

    def tiles(self, size: int = 64):
        """Rectangles (in image coordinates) covering every unknown pixel: the size×size blocks
        of the box that hold one, merged along each row of blocks. The per-pixel work of Grad
        and Conn is done only there; an unknown band is a small part of a real image."""
        if self._tiles is None:
            ys, xs = self.box
            unk = self.unk[self.box]
            bw = unk.shape[1]
            nbx = -(-bw // size)
            tiles = []
            for ty in range(0, unk.shape[0], size):
                cols = cv2.reduce(unk[ty:ty + size], 0, cv2.REDUCE_MAX).ravel()
                cols = np.pad(cols, (0, nbx * size - bw)).reshape(nbx, size).max(axis=1) > 0
                x = 0
                while x < nbx:
                    if not cols[x]:
                        x += 1
                        continue
                    x_end = x
                    while x_end < nbx and cols[x_end]:
                        x_end += 1
                    tiles.append((slice(ys.start + ty, ys.start + min(ty + size, unk.shape[0])),
                                  slice(xs.start + x * size, xs.start + min(x_end * size, bw))))
                    x = x_end
            self._tiles = tiles
        return self._tiles


# --------------------------------------------------------------------------- summation

def _sum_single(terms: np.ndarray) -> np.float32:
    """``sum(sum(x))`` of MATLAB/Octave on a single-precision matrix.

    Octave sums each column sequentially in single precision, then the row of column sums
    sequentially. Mimicking the order matters: for a 1080×1920 image a double-precision sum
    of the same terms can differ from the reference by up to ~4e-5 relative.
    """
    if terms.size == 0:
        return np.float32(0)
    cols = cv2.reduce(terms, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32F).ravel()  # rows added one by one
    return np.add.accumulate(cols, dtype=np.float32)[-1]


def _count_single(unk_box: np.ndarray, n: int) -> np.float32:
    """``sum(sum(single(trimap == 128)))``: exact below 2**24 pixels, single rounding above."""
    if n <= 2 ** 24:
        return np.float32(n)
    cols = np.count_nonzero(unk_box, axis=0).astype(np.float32)
    return np.add.accumulate(cols, dtype=np.float32)[-1]


# --------------------------------------------------------------------------- SAD, MSE

def _sad_mse(pp: _Prepared, want_mse: bool = True):
    if pp.n_unknown == 0:
        return 0.0, float("nan")  # the reference's 0 and 0/0
    b = pp.box
    diff = cv2.absdiff(pp.p[b], pp.g[b])
    diff = cv2.bitwise_and(diff, pp.unk[b])  # 0 outside the unknown region
    sad_v = float(_sum_single(cv2.LUT(diff, _SAD_LUT)) / _F1000)
    if not want_mse:
        return sad_v, None
    total = _sum_single(cv2.LUT(diff, _MSE_LUT))
    count = _count_single(pp.unk[b], pp.n_unknown)
    with np.errstate(invalid="ignore", divide="ignore"):
        mse_v = float(np.float32(total) / count)  # 0/0 -> NaN, as in the reference
    return sad_v, mse_v


def sad(pred, gt, trimap) -> float:
    """Sum of absolute differences over the unknown region, ÷ 1000 (DIM ``compute_sad_loss.m``).

    SAD = Σ_{trimap=128} |pred − gt| / 255 / 1000, in single precision like the reference.
    """
    return _sad_mse(_Prepared(pred, gt, trimap), want_mse=False)[0]


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


def _gradient_amplitude(img: np.ndarray, box, lo: int, hi: int) -> np.ndarray:
    """single(sqrt(gx² + gy²)) of ``mat2gray(img)`` inside ``box`` (float32).

    ``imfilter(I, h, 'replicate', 'conv')`` is a convolution: the flipped G' kernel is −G',
    which only flips the sign of gx and gy. mat2gray is affine and the derivative kernel sums
    to 0, so filtering the raw image and dividing by (max − min) gives the same gradient; a
    constant image (mat2gray only clips it) has gradient 0.
    """
    ys, xs = box
    if hi == lo:
        return np.zeros((ys.stop - ys.start, xs.stop - xs.start), np.float32)
    h, w = img.shape
    # Filter the box plus the kernel's reach; at the image border 'replicate' is OpenCV's too.
    y0, y1 = max(ys.start - _HALF, 0), min(ys.stop + _HALF, h)
    x0, x1 = max(xs.start - _HALF, 0), min(xs.stop + _HALF, w)
    crop = img[y0:y1, x0:x1]
    gx = cv2.sepFilter2D(crop, cv2.CV_64F, _KD, _KG, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.sepFilter2D(crop, cv2.CV_64F, _KG, _KD, borderType=cv2.BORDER_REPLICATE)
    amp = cv2.magnitude(gx, gy)
    amp = amp[ys.start - y0: ys.stop - y0, xs.start - x0: xs.stop - x0]
    amp /= hi - lo
    return amp.astype(np.float32)


def _grad(pp: _Prepared) -> float:
    if pp.n_unknown == 0:
        return 0.0
    # Double-precision filtering: MATLAB filters in double and rounds |∇| to single; a
    # single-precision filter rounds differently often enough to be ~1e-5 off when pred ≈ gt.
    ranges = [cv2.minMaxLoc(a)[:2] for a in (pp.p, pp.g)]
    terms = np.zeros(pp.unk[pp.box].shape, np.float32)
    y0, x0 = pp.box[0].start, pp.box[1].start
    for tile in pp.tiles():
        ap, ag = (_gradient_amplitude(a, tile, int(lo), int(hi)) for a, (lo, hi) in zip((pp.p, pp.g), ranges))
        d = ap - ag
        sq = d * d
        sq[pp.unk[tile] == 0] = 0  # only the unknown pixels count
        terms[tile[0].start - y0: tile[0].stop - y0, tile[1].start - x0: tile[1].stop - x0] = sq
    return float(_sum_single(terms) / _F1000)


def grad(pred, gt, trimap) -> float:
    """Gradient error over the unknown region, ÷ 1000 (DIM ``compute_gradient_loss.m``).

    Each image is normalised on its own (``mat2gray``: (x − min)/(max − min)), filtered with
    the 9×9 Gaussian-derivative kernels of ``gaussgradient.m`` (σ = 1.4, true convolution,
    replicated borders), and Grad = Σ_{trimap=128} (single(|∇p|) − single(|∇g|))² / 1000.
    """
    return _grad(_Prepared(pred, gt, trimap))


# --------------------------------------------------------------------------- Conn

def _conn_tables(step: float):
    """Thresholds and lookup tables of ``compute_connectivity_error.m`` for one step.

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
    l_values = np.append(t[:k_levels], 1.0).astype(np.float32)  # l for Lacc = 0..K, single
    return k_levels, level_of, l_values


_CONN_TABLES: dict = {}


def _component_sizes(labels: np.ndarray, n: int) -> np.ndarray:
    """Pixel count of each label 0..n-1 (label 0, the background, included)."""
    if n <= 16:  # a few components: one comparison each is cheaper than a histogram
        return np.array([0] + [cv2.countNonZero(_cmp(labels, i, cv2.CMP_EQ)) for i in range(1, n)], np.int64)
    if labels.dtype == np.uint16:
        return cv2.calcHist([labels], [0], None, [n], [0, n]).ravel().astype(np.int64)
    return np.bincount(labels.ravel(), minlength=n)


def _largest(mask: np.ndarray):
    """The largest 4-connected component of ``mask``: (omega, size, other_bound).

    ``omega`` is its 0/255 mask (None when ``mask`` is empty). Ties go to the component whose
    first pixel in column-major order comes first (MATLAB's bwconncomp numbering and max()).
    ``other_bound`` is at least the size of every other component (0 if there is none).

    The most frequent label of a sparse sample is tried first: when that component has more
    than half of the pixels it is the largest, and no histogram of the labels is needed.
    """
    nz = cv2.countNonZero(mask)
    if nz == 0:
        return None, 0, 0
    # 16-bit labels (faster, and histogrammed by calcHist) when they cannot overflow: a new
    # provisional label starts at a pixel without left (and upper) neighbour in the mask, so
    # there are at most as many as horizontal runs.
    ltype = cv2.CV_16U
    if nz >= 65535 and mask.shape[1] > 1:
        runs = cv2.countNonZero(mask[:, :1]) + cv2.countNonZero(
            cv2.bitwise_and(mask[:, 1:], cv2.bitwise_not(mask[:, :-1])))
        if runs >= 65535:
            ltype = cv2.CV_32S
    elif nz >= 65535:
        ltype = cv2.CV_32S
    n, labels = cv2.connectedComponents(mask, connectivity=4, ltype=ltype)
    if n == 2:  # a single component: the mask itself
        return mask, nz, 0
    # Guess from a sparse sample of the labels; the guess is checked exactly.
    sample = np.bincount(labels[::8, ::8].ravel(), minlength=n)
    sample[0] = 0
    if sample.any():
        omega = _cmp(labels, int(np.argmax(sample)), cv2.CMP_EQ)
        size = cv2.countNonZero(omega)
        if 2 * size > nz:
            return omega, size, nz - size
    sizes = _component_sizes(labels, n)
    sizes[0] = 0
    best_size = int(sizes.max())
    cands = np.flatnonzero(sizes == best_size)
    if len(cands) == 1:
        best = int(cands[0])
    else:  # the candidate owning the first candidate pixel in column-major order
        is_cand = np.zeros(n, bool)
        is_cand[cands] = True
        first = int(np.argmax(is_cand[labels].T.ravel()))
        best = int(labels.T.ravel()[first])
    sizes[best] = 0
    return _cmp(labels, best, cv2.CMP_EQ), best_size, int(sizes.max())


def _conn_levels(p, g, alive, k_levels, level_of, empty_level):
    """Lacc: the index j of each unknown pixel's l = t_j (j = K means l = 1).

    A pixel gets l = t_{k−1} at the first level k where it is not in Ω_k, the largest
    component of (p ≥ t_k) & (g ≥ t_k) = (min(p, g) ≥ t_k). Only unknown pixels are followed
    ("alive"); once every one has its l the remaining levels cannot change the result.

    Components at level k lie inside components at level k−1. When the largest component
    inside Ω_{k−1} is larger than every component outside it (bounded by the sizes seen at
    earlier levels), it is Ω_k and only Ω_{k−1}'s box needs labelling; otherwise the level is
    labelled over the whole image.
    """
    h, w = p.shape
    q = cv2.LUT(cv2.min(p, g), level_of)  # number of thresholds min(p, g) passes
    lacc = np.zeros((h, w), np.uint8)
    region = (slice(0, h), slice(0, w))
    inside = None  # Ω_{k−1} within region (None: the whole image is searched)
    bound = 0  # upper bound of the size of any component outside `inside`
    alive_r = alive  # alive pixels (255) within region; all alive pixels lie in region
    for k in range(1, k_levels + 1):
        if not cv2.countNonZero(alive_r):
            break
        level = _cmp(q[region], k, cv2.CMP_GE)
        if inside is not None:
            level = cv2.bitwise_and(level, inside)
        omega, best_size, other = _largest(level)
        full = inside is None
        if inside is not None and best_size <= bound:
            # Something outside Ω_{k−1} might be as large: label the whole level.
            level = _cmp(q, k, cv2.CMP_GE)
            omega, best_size, other = _largest(level)
            full = True
            alive_full = np.zeros((h, w), np.uint8)
            alive_full[region] = alive_r
            region, alive_r = (slice(0, h), slice(0, w)), alive_full
        if omega is None:  # no component at this level
            # (always a whole-image labelling here: an empty box has best_size 0 <= bound)
            if empty_level == "indexnet":
                # IndexNet's copy skips the level; every later level is empty too: l = 1.
                lacc[region] += (alive_r >> 7) * np.uint8(k_levels - k + 1)
            break  # GCA's copy: Ω is empty, every alive pixel gets t_{k−1}
        x, y, bw, bh = cv2.boundingRect(omega)
        alive_r = cv2.bitwise_and(alive_r, omega)
        sub = (slice(y, y + bh), slice(x, x + bw))
        ys, xs = region
        new_region = (slice(ys.start + y, ys.start + y + bh), slice(xs.start + x, xs.start + x + bw))
        alive_r = alive_r[sub]
        inside = omega[sub]
        region = new_region
        lacc[region] += alive_r >> 7  # survivors of level k: j grows by one
        bound = other if full else max(bound, other)
    return lacc


def _conn(pp: _Prepared, step: float = 0.1, empty_level: str = "gca") -> float:
    if empty_level not in ("gca", "indexnet"):
        raise ValueError(f"empty_level: expected 'gca' or 'indexnet', got {empty_level!r}")
    tables = _CONN_TABLES.get(step)
    if tables is None:
        tables = _CONN_TABLES[step] = _conn_tables(step)
    k_levels, level_of, l_values = tables
    if pp.n_unknown == 0:
        return 0.0
    lacc = _conn_levels(pp.p, pp.g, pp.unk.copy(), k_levels, level_of, empty_level)
    l_table = np.pad(l_values, (0, 256 - len(l_values)))  # single(l) by index
    # φ = 1 − d·[d ≥ 0.15], d = single(x) − single(l). d ≥ 0.15 (double) holds for a single d
    # exactly when d > the float just below single(0.15): THRESH_TOZERO keeps d or gives 0.
    th = float(np.nextafter(np.float32(0.15), np.float32(0)))
    terms = np.zeros(pp.unk[pp.box].shape, np.float32)
    y0, x0 = pp.box[0].start, pp.box[1].start
    for tile in pp.tiles():
        unk = pp.unk[tile]
        lv = cv2.LUT(lacc[tile], l_table)
        phis = []
        for img in (pp.p, pp.g):
            x = cv2.LUT(cv2.bitwise_and(img[tile], unk), _SAD_LUT)  # single(x)/255; 0 off the region
            _, z = cv2.threshold(x - lv, th, 0, cv2.THRESH_TOZERO)
            phis.append(np.float32(1) - z)
        # off the unknown region x = 0 <= l for both, so φ_p = φ_g = 1 and the term is 0
        terms[tile[0].start - y0: tile[0].stop - y0, tile[1].start - x0: tile[1].stop - x0] = \
            np.abs(phis[0] - phis[1])
    return float(_sum_single(terms) / _F1000)


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

def _region_sads(pp: _Prepared) -> dict:
    diff = cv2.absdiff(pp.p, pp.g)

    def sad_of(mask):  # integer sum of |p - g| (exact in double), then /255/1000
        d = diff if mask is None else cv2.bitwise_and(diff, mask)
        return float(cv2.sumElems(d)[0]) / 255.0 / 1000.0

    return {
        "unknown": sad_of(pp.unk),
        "fg": sad_of(_cmp(pp.t, 255, cv2.CMP_EQ)),
        "bg": sad_of(_cmp(pp.t, 0, cv2.CMP_EQ)),
        "image": sad_of(None),
    }


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
