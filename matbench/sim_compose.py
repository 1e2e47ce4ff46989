"""One composite of the SIM test set (SIMD), pixel-identical to the authors' generation script.

The SIM authors (Sun, Tang, Tai, "Semantic Image Matting", CVPR 2021; github.com/nowsyn/SIM,
``dataset/generate_testset.py``) build their test set with OpenCV throughout; the spec is
``docs/specs/sim.md`` ("Composition, exactly as the script does it"). Each step below is one
small function that calls the OpenCV function the script calls, with the arguments that
actually take effect:

1. :func:`read_color` (fg, bg) = ``cv2.imread(path)``: BGR, 3 channels (an alpha channel is
   dropped, gray is expanded, 16-bit is reduced to 8), EXIF orientation applied.
   :func:`read_alpha` = ``cv2.imread(path, 0)``: gray, EXIF orientation applied.
2. :func:`normalised_size` + :func:`resize`: the size rule of the script, computed with the
   same Python float arithmetic; fg and alpha are resized together.
3. :func:`prepare_bg`: bg upscaled when smaller than the fg, then its top-left h × w.
4. :func:`blend` (``matbench.compose.blend``): ``fg·a + bg·(1 − a)`` in float64, a = alpha/255,
   truncated to uint8; per channel, so BGR order does not matter. :func:`composite` = 3 + 4.
5. :func:`trimap`: 3×3 elliptical kernel, 5 iterations of dilation and erosion.

Where the script does not do what its code appears to say, and how matbench reproduces it:

- ``cv2.resize(img, (tw, th), cv2.INTER_LANCZOS4)``: the third positional parameter of
  ``cv2.resize`` is ``dst``, not ``interpolation``, so every resize (fg, alpha and bg) is
  OpenCV's default **bilinear** (``INTER_LINEAR``: half-pixel centres, edge replication,
  coefficients in 1/2048 fixed point), never Lanczos. matbench calls ``INTER_LINEAR``
  explicitly; the tests check that the positional form gives the same pixels and that the
  pixels equal an independent numpy implementation of OpenCV's fixed-point bilinear formula.
  (OpenCV computes an exact 2:1 downscale with ``INTER_AREA``; the values are the same.)
- ``cv2.imread`` applies the EXIF orientation of JPEGs (and, in the OpenCV matbench installs,
  of PNG ``eXIf`` chunks and WebP; the authors' files are all JPEG), for colour and gray reads
  alike: a portrait photo whose pixels are stored sideways is composited upright. Pillow,
  which Adobe's script uses, does not. matbench reads with the same calls; header-only size
  checks apply the same rule (:func:`opencv_size`).
- ``cv2.imread(alpha, 0)`` converts a colour file to gray: for PNG with libpng's fixed-point
  weights, (9797·R + 19234·G + 3737·B) >> 15 (0.299 and 0.587 in 1/32768, truncated; it
  differs from ``cv2.cvtColor`` by 1 in about half the pixels), for JPEG it decodes the luma;
  a palette PNG gives its colours' gray (not its indices); an RGBA file's alpha channel is
  ignored. Where every channel holds the same value (the usual gray matte saved as colour)
  this is that value and matbench agrees. An alpha whose channels differ is ambiguous
  (:mod:`matbench.mattes`), so matbench refuses it unless ``matte_channel="luma"``
  (``--matte-channel luma``) asks for the script's conversion.
- The script does not record its OpenCV version, and OpenCV's ``INTER_LINEAR`` is not
  promised bit-exact across versions and CPUs (``INTER_LINEAR_EXACT`` exists for that).
  matbench uses the installed OpenCV (>= 4.8) and the tests pin the formulas above, so a
  change of OpenCV that would change the pixels makes them fail.
- Size normalisation is not "max side ≤ 1920, min side ≥ 800": (h, w) is the *alpha's*
  size; r = 1920/max(h, w) shrinks only (r < 1), then r2 = 800/min(th, tw) enlarges every
  image whose (shrunk) short side is under 800, so small images are **upscaled**, thin
  panoramas end up longer than 1920 (h × w = 1000 × 3000 → 800 × 2400) and ``int()``
  truncation of a float product can give 799 (161 × 171 → 799 × 849, because
  161 · (800/161) = 799.999…).
- The size is the alpha's; the script resizes the fg to it without checking. A fg whose size
  differs from its alpha's is silently stretched when the size rule resizes and crashes the
  script when it does not. matbench refuses such pairs (``matbench.datasets.sim``).
- The bg is upscaled to ``(int(bw·ratio + 1.0), int(bh·ratio + 1.0))``: always at least one
  pixel more than needed (an exact ratio of 2 gives 2·bw + 1, so the scale is not exactly 2),
  bilinear as above, not Lanczos (Adobe's script uses ``ceil`` and Pillow's bicubic).
- The blend truncates (``astype(np.uint8)``), it does not round; BGR arrays written with
  ``cv2.imwrite`` are RGB on disk.
- The 3×3 "ellipse" is a plus-shaped cross, and five iterations of it reach every pixel within
  city-block (L1) distance 5: the unknown band extends at most 5 px (L1) beyond the pixels
  with 0 < α < 255, on the normalised (resized) alpha. The script builds the trimap as
  float64 and ``cv2.imwrite`` stores it as 8-bit 0/128/255.

The rest of the list (file names ``name[:-4]``, one alpha and trimap file per composite, the
file-list parsing) is in :mod:`matbench.datasets.sim` and :mod:`matbench.build_sim`.
"""
from __future__ import annotations

import numpy as np

from matbench.compose import blend, bg_resize_size
from matbench.errors import MatbenchError

__all__ = ["MAX_SIZE", "MIN_SIZE", "TRIMAP_KSIZE", "TRIMAP_ITERATIONS", "read_color", "read_alpha",
           "check_matte_channel", "alpha_problem", "opencv_size", "normalised_size", "resize", "normalise", "bg_size",
           "prepare_bg", "blend", "composite", "trimap"]

MAX_SIZE = 1920       # the script's max_size
MIN_SIZE = 800        # the script's min_size
TRIMAP_KSIZE = 3      # gen_trimap(ksize=3, ...)
TRIMAP_ITERATIONS = 5
# Formats whose EXIF orientation cv2.imread applies (checked by the tests against OpenCV itself).
EXIF_FORMATS = ("JPEG", "MPO", "PNG", "WEBP")
MATTE_CHANNELS = (None, "luma")
LUMA_HOW = ("pass --matte-channel luma (matte_channel='luma') to read it as the SIM authors' script does: "
            "OpenCV's gray conversion, cv2.imread(path, 0)")


# ----------------------------------------------------------------------------- reading

def _imread(path, flags: int) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), flags)
    if img is None:
        from pathlib import Path

        what = "file not found" if not Path(path).is_file() else "OpenCV cannot decode this image"
        raise MatbenchError(f"{path}: {what} (the SIM script reads it with cv2.imread)")
    return img


def read_color(path) -> np.ndarray:
    """``cv2.imread(path)``: H×W×3 uint8 in **BGR** order, EXIF orientation applied (fg, bg).

    Raises MatbenchError (one line) when the file is missing or OpenCV cannot decode it.
    """
    import cv2

    return _imread(path, cv2.IMREAD_COLOR)


def read_alpha(path) -> np.ndarray:
    """``cv2.imread(path, 0)``: H×W uint8, EXIF orientation applied (see the module doc for what
    it does to colour files; :func:`alpha_problem` decides whether such a file is accepted)."""
    import cv2

    return _imread(path, cv2.IMREAD_GRAYSCALE)


def check_matte_channel(matte_channel) -> None:
    """Refuse (one-line MatbenchError) a ``matte_channel`` other than None and ``"luma"``."""
    if matte_channel not in MATTE_CHANNELS:
        raise MatbenchError(f"--matte-channel {matte_channel}: build-sim accepts only luma")


def alpha_problem(path, matte_channel: str | None = None) -> str | None:
    """Why ``path`` cannot be used as a SIM alpha (one line), or None.

    The rule of :mod:`matbench.mattes`: 1-bit, 16-bit and float files are refused; a gray file
    is accepted; a colour, palette or transparent file is accepted only when it is unambiguous
    (every channel equal, alpha 255, gray-identity palette), since then OpenCV's gray conversion
    returns exactly that value. ``matte_channel="luma"`` accepts the ambiguous ones with the
    script's conversion. Decodes the file only when it is not gray.
    """
    from matbench.mattes import header_problem, probe, read_matte

    check_matte_channel(matte_channel)
    try:
        info = probe(path)
        problem = header_problem(info)
        if problem or info.mode == "L" or matte_channel == "luma":
            return problem
        read_matte(path, how=LUMA_HOW)  # refuses what is ambiguous, with the advice for build-sim
    except MatbenchError as e:
        return str(e)
    return None


def opencv_size(path) -> tuple[int, int]:
    """``(width, height)`` of the image ``cv2.imread`` returns, from the header only: Pillow's
    size, swapped when the EXIF orientation (JPEG, PNG, WebP) is a quarter turn (5–8)."""
    from PIL import Image

    from matbench.io import open_image

    with open_image(path, load=False) as im:
        w, h = im.size
        raw = im.info.get("exif") if im.format in EXIF_FORMATS else None
    if raw:
        exif = Image.Exif()
        try:
            exif.load(raw)
        except (ValueError, OSError, SyntaxError):  # unreadable EXIF: OpenCV ignores it too
            return w, h
        if exif.get(0x0112) in (5, 6, 7, 8):
            return h, w
    return w, h


# ----------------------------------------------------------------------------- size normalisation

def normalised_size(h: int, w: int, max_size: int = MAX_SIZE, min_size: int = MIN_SIZE) -> tuple[int, int]:
    """``(th, tw)`` of the script's size rule for an alpha of h × w (spec step 2).

    r = max_size / max(h, w); (th, tw) = (h·r, w·r) as floats when r < 1, else (h, w). Then
    r2 = min_size / min(th, tw); (th, tw) = (int(th·r2), int(tw·r2)) when r2 > 1, else
    (int(th), int(tw)). Python float arithmetic, as the script (so 161 × 171 gives 799 × 849).
    """
    r = max_size / max(h, w)
    if r < 1:
        th, tw = h * r, w * r
    else:
        th, tw = h, w
    r = min_size / min(th, tw)
    if r > 1:
        return int(th * r), int(tw * r)
    return int(th), int(tw)


def resize(img: np.ndarray, size) -> np.ndarray:
    """``cv2.resize(img, size)`` with OpenCV's default bilinear interpolation, which is what the
    script's ``cv2.resize(img, size, cv2.INTER_LANCZOS4)`` runs (``size`` = (width, height))."""
    import cv2

    return cv2.resize(img, (int(size[0]), int(size[1])), interpolation=cv2.INTER_LINEAR)


def normalise(fg: np.ndarray, alpha: np.ndarray, max_size: int = MAX_SIZE, min_size: int = MIN_SIZE):
    """``(fg, alpha)`` resized together to :func:`normalised_size` of the alpha (unchanged when
    that is their size). ``fg`` H×W×3 and ``alpha`` H×W uint8 of the same size, else MatbenchError."""
    h, w = alpha.shape[:2]
    if fg.shape[:2] != (h, w):
        raise MatbenchError(f"foreground is {fg.shape[1]}x{fg.shape[0]} but its alpha is {w}x{h}")
    th, tw = normalised_size(h, w, max_size, min_size)
    if (th, tw) != (h, w):
        return resize(fg, (tw, th)), resize(alpha, (tw, th))
    return fg, alpha


# ----------------------------------------------------------------------------- background, blend, trimap

def bg_size(fg_hw, bg_hw):
    """``(ratio, (new_bw, new_bh) or None)``: ratio = max(w/bw, h/bh); when ratio > 1 the bg is
    resized to (int(bw·ratio + 1.0), int(bh·ratio + 1.0)) (spec step 3). Shapes are (h, w)."""
    (h, w), (bh, bw) = fg_hw, bg_hw
    ratio, _ = bg_resize_size((w, h), (bw, bh))  # the same ratio as Adobe's recipe
    if ratio > 1:
        return ratio, (int(bw * ratio + 1.0), int(bh * ratio + 1.0))
    return ratio, None


def prepare_bg(bg: np.ndarray, h: int, w: int):
    """``(crop, ratio)``: ``bg`` (H×W×3 uint8) upscaled by :func:`bg_size` when needed, then its
    top-left ``h`` × ``w``."""
    ratio, size = bg_size((h, w), bg.shape[:2])
    if size is not None:
        bg = resize(bg, size)
    return np.ascontiguousarray(bg[:h, :w]), ratio


def composite(fg: np.ndarray, alpha: np.ndarray, bg: np.ndarray):
    """``(merged, bg_crop, ratio)`` for a normalised ``fg`` (H×W×3) and ``alpha`` (H×W) and a
    bg as read by :func:`read_color`; ``merged`` is H×W×3 uint8 in the channel order of the
    inputs (BGR as read), ``int(fg·a + bg·(1 − a))`` with a = alpha/255 in float64."""
    h, w = alpha.shape
    crop, ratio = prepare_bg(bg, h, w)
    return blend(fg, crop, alpha), crop, ratio


def trimap(alpha: np.ndarray, ksize: int = TRIMAP_KSIZE, iterations: int = TRIMAP_ITERATIONS) -> np.ndarray:
    """The script's trimap of ``alpha`` (H×W uint8): 255 where ``erode(alpha)`` is 255, 0 where
    ``dilate(alpha)`` is 0, 128 elsewhere; ``cv2.MORPH_ELLIPSE`` ksize × ksize, ``iterations``
    times (spec step 5). Returns H×W uint8 with values 0, 128, 255; computed by
    :func:`matbench.trimap.erode_dilate`."""
    from matbench.trimap import erode_dilate

    return erode_dilate(alpha, ksize, iterations=iterations)
