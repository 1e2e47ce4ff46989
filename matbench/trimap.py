"""Trimaps from an alpha matte: 0 = background, 128 = unknown, 255 = foreground.

Three generators, all returning uint8 arrays with values exactly {0, 128, 255}:

``erode_dilate(alpha, kernel)``
    Morphology of the two masks, as in Deep Image Matting's test-trimap generation and
    mmagic's ``GenerateTrimap``: foreground = erode(A == 255), unknown = dilate(A > 0)
    minus that, background = the rest, with an elliptical structuring element of
    ``kernel`` × ``kernel`` pixels (``cv2.MORPH_ELLIPSE``). Used for Composition-1K-style
    test trimaps when the release's official ``trimaps/`` are absent; default kernel
    ``DEFAULT_TEST_KERNEL`` = 25, i.e. the unknown band reaches 12 px into the definite
    foreground and background on either side of the soft transition (the ``medium`` width).
``random_erode_dilate(alpha, name, seed)``
    Training augmentation as in mmagic's DIM config (``GenerateTrimap(kernel_size=(1, 30))``):
    independent erosion and dilation kernel sizes drawn uniformly from 1..29. The draw is a
    function of ``seed`` and the image ``name`` only (sha256-seeded), so it is reproducible
    across runs, processes and job counts.
``distance_band(alpha, width)``
    Euclidean distance-transform band: pixels within ``width`` px of a pixel that is not
    definite foreground (resp. background) are unknown (as mmagic's
    ``GenerateTrimapWithDistTransform``). Exact L2 distance (``cv2.DIST_MASK_PRECISE``).

Named widths (half-widths of the unknown band, in px), for small/large trimaps in the spirit
of alphamatting.com's Trimap1/Trimap2: ``small`` = 5, ``medium`` = 12, ``large`` = 20. For
``erode_dilate`` a width r means a (2r + 1)-pixel kernel.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from matbench.errors import MatbenchError

NAMED_WIDTHS = {"small": 5, "medium": 12, "large": 20}
DEFAULT_TEST_KERNEL = 25
RANDOM_KERNEL_RANGE = (1, 29)  # inclusive: mmagic's kernel_size=(1, 30) over range(1, 30)
METHODS = ("erode-dilate", "random", "distance")


def width_px(width) -> int:
    """Half-width in px of a named (``small``/``medium``/``large``) or numeric width."""
    if isinstance(width, str):
        if width in NAMED_WIDTHS:
            return NAMED_WIDTHS[width]
        try:
            width = int(width)
        except ValueError:
            raise MatbenchError(
                f"trimap width {width!r}: expected a number of pixels or one of {', '.join(NAMED_WIDTHS)}") from None
    width = int(width)
    if width < 0:
        raise MatbenchError(f"trimap width {width}: must be >= 0")
    return width


def _ellipse(size: int) -> np.ndarray:
    import cv2

    size = int(size)
    if size < 1:
        raise MatbenchError(f"trimap kernel {size}: must be >= 1")
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def _check_alpha(alpha) -> np.ndarray:
    alpha = np.asarray(alpha)
    if alpha.ndim != 2 or alpha.dtype != np.uint8:
        raise ValueError(f"trimap: expected a 2-D uint8 alpha, got {alpha.dtype} {alpha.shape}")
    return alpha


def _assemble(fg: np.ndarray, unknown_or_fg: np.ndarray) -> np.ndarray:
    trimap = np.zeros(fg.shape, np.uint8)
    trimap[unknown_or_fg] = 128
    trimap[fg] = 255
    return trimap


def erode_dilate(alpha, kernel: int = DEFAULT_TEST_KERNEL, *, dilate_kernel: int | None = None) -> np.ndarray:
    """Trimap from erode(A == 255) and dilate(A > 0) with elliptical kernels.

    ``kernel`` is the erosion kernel size in px (and the dilation size unless
    ``dilate_kernel`` is given). Kernel 1 leaves the masks as they are.
    """
    import cv2

    alpha = _check_alpha(alpha)
    fg = (alpha == 255).astype(np.uint8)
    anyfg = (alpha > 0).astype(np.uint8)
    fg = cv2.erode(fg, _ellipse(kernel)).astype(bool)
    anyfg = cv2.dilate(anyfg, _ellipse(kernel if dilate_kernel is None else dilate_kernel)).astype(bool)
    return _assemble(fg, anyfg)


def rng_for(seed: int, name: str) -> np.random.Generator:
    """A numpy Generator determined by ``seed`` and ``name`` only (not by process or order)."""
    digest = hashlib.sha256(f"{int(seed)}\0{name}".encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def random_kernels(seed: int, name: str, kernel_range=RANDOM_KERNEL_RANGE) -> tuple[int, int]:
    """(erode, dilate) kernel sizes drawn uniformly from ``kernel_range`` (inclusive)."""
    lo, hi = int(kernel_range[0]), int(kernel_range[1])
    if not 1 <= lo <= hi:
        raise MatbenchError(f"trimap kernel range {lo}-{hi}: expected 1 <= min <= max")
    rng = rng_for(seed, name)
    e, d = rng.integers(lo, hi + 1, size=2)
    return int(e), int(d)


def random_erode_dilate(alpha, name: str, seed: int = 0, kernel_range=RANDOM_KERNEL_RANGE) -> np.ndarray:
    """Erode/dilate trimap with per-image random kernel sizes (mmagic DIM range 1–29)."""
    e, d = random_kernels(seed, name, kernel_range)
    return erode_dilate(alpha, e, dilate_kernel=d)


def distance_band(alpha, width=NAMED_WIDTHS["medium"]) -> np.ndarray:
    """Trimap whose unknown band holds every pixel within ``width`` px (Euclidean) of a
    pixel that is not definite foreground and of one that is not definite background."""
    import cv2

    alpha = _check_alpha(alpha)
    r = width_px(width)
    fg = alpha == 255
    bg = alpha == 0
    # distanceTransform: distance of each non-zero pixel to the nearest zero pixel.
    if fg.all():
        fg_far = fg
    else:
        fg_far = cv2.distanceTransform(fg.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) > r
    if bg.all():
        bg_far = bg
    else:
        bg_far = cv2.distanceTransform(bg.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) > r
    return _assemble(fg_far, ~bg_far)


def generate(alpha, method: str = "erode-dilate", *, name: str = "", seed: int = 0,
             width=None, kernel: int | None = None) -> np.ndarray:
    """Trimap of ``alpha`` by ``method`` (``erode-dilate``, ``random`` or ``distance``).

    erode-dilate: ``kernel`` px, or 2·width + 1 when ``width`` is given, else
    ``DEFAULT_TEST_KERNEL``. random: per-image kernels from ``seed`` and ``name``.
    distance: ``width`` px (default ``medium``).
    """
    if method == "erode-dilate":
        if kernel is None:
            kernel = DEFAULT_TEST_KERNEL if width is None else 2 * width_px(width) + 1
        return erode_dilate(alpha, kernel)
    if method == "random":
        return random_erode_dilate(alpha, name, seed)
    if method == "distance":
        return distance_band(alpha, NAMED_WIDTHS["medium"] if width is None else width)
    raise MatbenchError(f"trimap method {method!r}: expected one of {', '.join(METHODS)}")


def make_trimaps(alpha_dir, out_dir, method: str = "erode-dilate", *, seed: int = 0, width=None,
                 kernel: int | None = None, matte_channel: str | None = None, progress: bool = False) -> int:
    """Write ``out_dir/<stem>.png`` for every image in ``alpha_dir``; returns the count.

    The random method is seeded by ``seed`` and the file stem. ``out_dir`` must differ
    from ``alpha_dir`` (sources are never written). Alphas are read by the one matte rule
    (:mod:`matbench.mattes`; ``matte_channel`` ``"red"``/``"alpha"`` picks the channel of a
    colour alpha, e.g. a cut-out whose matte is in the alpha channel). Every alpha's header is
    checked before anything is written, all problems in one MatbenchError; alphas that turn
    out unreadable while decoding are reported together at the end (the other trimaps are
    written). Lossy (JPEG) alphas are warned about.
    """
    from matbench.io import index_images, write_png_atomic
    from matbench.mattes import InputCheck, raise_problems, try_read_matte

    check = InputCheck(matte_channel)
    alpha_dir, out_dir = Path(alpha_dir), Path(out_dir)
    images = index_images(alpha_dir, "alpha")
    if out_dir.resolve() == alpha_dir.resolve():
        raise MatbenchError(f"{out_dir}: output folder is the alpha folder; choose another")
    if method not in METHODS:
        raise MatbenchError(f"trimap method {method!r}: expected one of {', '.join(METHODS)}")
    for path in images.values():
        check.matte(path, "alpha")
    check.raise_problems()
    check.notes.warn()
    items = list(images.items())
    if progress:
        from tqdm import tqdm

        items = tqdm(items, desc="trimaps", unit="img")
    problems = []
    for stem, path in items:
        alpha = try_read_matte(path, matte_channel, problems)
        if alpha is not None:
            write_png_atomic(out_dir / f"{stem}.png",
                             generate(alpha, method, name=stem, seed=seed, width=width, kernel=kernel))
    raise_problems(problems, "input", done="the trimaps of the other alphas were written")
    return len(images)
