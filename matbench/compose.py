"""One composite of the Deep Image Matting recipe, pixel-identical to Adobe's script.

The recipe (``Composition_code.py`` from the Adobe release; spec in
``docs/specs/composition.md``), for a foreground F with alpha A and a background B:

1. F is opened with Pillow and converted to RGB unless it already is RGB or RGBA (of an
   RGBA foreground only the colour channels are used). A is opened as is; a = A / 255.
2. B is ``.convert('RGB')``-ed unless RGB (Pillow's own CMYK/gray/palette conversion;
   no EXIF orientation is applied).
3. (w, h) = fg size, (bw, bh) = bg size, ratio = max(w / bw, h / bh). When ratio > 1 the bg
   is resized with Pillow ``Image.BICUBIC`` to ``(math.ceil(bw * ratio), math.ceil(bh * ratio))``
   (Python floats, exactly as the script computes them); it is never shrunk. The top-left
   w × h is cropped.
4. Per pixel and channel: ``int(a * F + (1 - a) * B)`` in float64 (truncation), which equals
   F where a == 1 and B where a == 0, the script's two other branches.

Everything here is vectorised with numpy (see :func:`blend` for why the integer form is
bit-identical to the script's float64 arithmetic).

Alphas are read by the one matte rule of :mod:`matbench.mattes`, as every command reads a
matte (the release's alphas are all mode ``L``). Where the script's reading is unambiguous the
values are the script's, bit for bit: ``L`` as stored, ``P`` with a gray-identity palette as
its indices (the raw values the script reads), ``RGB``/``RGBA``/``LA`` whose colour channels
are equal (and alpha all 255) as channel 1. Anything else is refused unless ``matte_channel``
says which channel is the matte: a colour ``RGB`` alpha (the numpy form of the script would
blend each colour channel with its own alpha, the loop form would fail), a cut-out, a
non-gray palette (the script reads indices, a viewer shows colours), 1-bit and 16-bit files.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

from matbench.errors import MatbenchError
from matbench.io import open_image


def load_fg(path) -> np.ndarray:
    """Foreground as H×W×3 uint8, the way the script reads it (RGBA: colour channels)."""
    im = open_image(path)
    if im.mode == "RGBA":
        return np.ascontiguousarray(np.asarray(im)[..., :3])
    return np.asarray(_to_rgb(im, path))


def _to_rgb(im: Image.Image, path) -> Image.Image:
    """Pillow's ``convert('RGB')`` unless already RGB (as the script), errors in one line."""
    if im.mode == "RGB":
        return im
    try:
        return im.convert("RGB")
    except (ValueError, OSError) as e:
        raise MatbenchError(f"{path}: cannot convert {im.mode} image to RGB ({e})") from None


def load_alpha(path, matte_channel: str | None = None) -> np.ndarray:
    """Alpha as H×W uint8 with the values the script divides by 255 (see module doc; errors
    as :func:`matbench.mattes.read_matte`)."""
    from matbench.mattes import read_matte

    return read_matte(path, matte_channel)


def bg_resize_size(fg_size, bg_size):
    """``(ratio, new_size)`` of the recipe; ``new_size`` is None when the bg is kept as is.

    ``fg_size`` and ``bg_size`` are Pillow (width, height). ratio = max(w/bw, h/bh);
    new_size = (ceil(bw·ratio), ceil(bh·ratio)) with Python float arithmetic, as the script.
    """
    w, h = fg_size
    bw, bh = bg_size
    wratio = w / bw
    hratio = h / bh
    ratio = wratio if wratio > hratio else hratio
    if ratio > 1:
        return ratio, (math.ceil(bw * ratio), math.ceil(bh * ratio))
    return ratio, None


def prepare_bg(bg: Image.Image, fg_size, path=None):
    """Convert, resize (bicubic, upscale only) and crop a Pillow bg image to ``fg_size``.

    Returns ``(bg_array, ratio)``: H×W×3 uint8 top-left crop, and the recipe's ratio.
    """
    bg = _to_rgb(bg, path or getattr(bg, "filename", "") or "background")
    ratio, size = bg_resize_size(fg_size, bg.size)
    if size is not None:
        bg = bg.resize(size, Image.BICUBIC)
    w, h = fg_size
    if bg.size[0] < w or bg.size[1] < h:  # pragma: no cover - cannot happen with ratio >= needed
        raise MatbenchError(f"background {bg.size} smaller than foreground {fg_size} after resizing")
    if bg.size != (w, h):
        bg = bg.crop((0, 0, w, h))  # before the copy to numpy: a large bg is not copied whole
    return np.asarray(bg), ratio


def blend(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite ``int(a·F + (1 − a)·B)``, a = A/255, float64, truncated; uint8 H×W×3.

    ``fg`` and ``bg`` are H×W×3 uint8, ``alpha`` H×W (or H×W×3: one alpha per channel)
    uint8. Equal to Adobe's per-pixel loop
    bit for bit, computed mostly in integers: with n = A·F + (255 − A)·B (exact, < 2¹⁶) the
    exact value is n / 255, so when 255 ∤ n it lies at least 1/255 from an integer, far more
    than the float64 rounding error (< 1e-12), and ``int()`` gives ⌊n / 255⌋. Only where
    255 | n (about 1 in 255 partial pixels) can the script's float64 result fall just below
    the integer; those few values are recomputed with the script's exact float operations.
    """
    if fg.shape != bg.shape or fg.ndim != 3 or alpha.shape not in (fg.shape[:2], fg.shape):
        raise ValueError(f"blend: shapes differ (fg {fg.shape}, bg {bg.shape}, alpha {alpha.shape})")
    h, w = alpha.shape[:2]
    out = np.empty(fg.shape, np.uint8)
    step = max(1, (1 << 15) // max(1, w))  # row chunks of ~100k values stay in cache
    for y0 in range(0, h, step):
        y1 = min(h, y0 + step)
        if alpha.ndim == 3:
            A = alpha[y0:y1].astype(np.uint16)
        else:
            A = np.repeat(alpha[y0:y1], 3, axis=1).reshape(y1 - y0, w, 3).astype(np.uint16)
        F = fg[y0:y1]
        B = bg[y0:y1]
        n = np.multiply(F, A, dtype=np.uint16)  # A·F + (255 − A)·B <= 255·255 fits uint16
        rest = 255 - A
        rest *= B
        n += rest
        q = n >> 8                     # ⌊n / 255⌋ = (n + 1 + (n >> 8)) >> 8 for 0 <= n <= 65025
        q += n
        q += 1
        q >>= 8
        out[y0:y1] = q
        q *= 255
        exact = q == n
        exact &= (A != 0) & (A != 255)
        idx = np.flatnonzero(exact)  # flat indices: cheaper than a 3-D nonzero
        if idx.size:
            a = A.reshape(-1)[idx].astype(np.float64) / 255
            f = F.reshape(-1)[idx].astype(np.float64)
            b = B.reshape(-1)[idx].astype(np.float64)
            # int() truncates toward zero; all values are >= 0, so the cast is the same.
            out[y0:y1].reshape(-1)[idx] = (a * f + (1 - a) * b).astype(np.uint8)
    return out


def composite(fg: np.ndarray, alpha: np.ndarray, bg: Image.Image):
    """The whole recipe for one composite: ``(merged, bg_crop, ratio)``.

    ``fg`` (H×W×3 uint8) and ``alpha`` (H×W uint8) as returned by :func:`load_fg` and
    :func:`load_alpha`; ``bg`` an opened Pillow image.
    """
    h, w = alpha.shape[:2]
    bg_arr, ratio = prepare_bg(bg, (w, h))
    return blend(fg, bg_arr, alpha), bg_arr, ratio


def check_sizes(fg: np.ndarray, alpha: np.ndarray, alpha_path) -> None:
    if fg.shape[:2] != alpha.shape[:2]:
        raise MatbenchError(
            f"{alpha_path}: alpha is {alpha.shape[1]}x{alpha.shape[0]} but its foreground is "
            f"{fg.shape[1]}x{fg.shape[0]}")


def pixels_sha256(array: np.ndarray) -> str:
    """sha256 of decoded pixels (H×W×C uint8, row-major), as in ``pixels.sha256`` files."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.uint8).tobytes()).hexdigest()
