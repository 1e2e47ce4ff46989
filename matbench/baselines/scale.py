"""``--max-side``: predict a large image on a downscaled copy and upscale the alpha back.

Shared by DIM and the classical methods. An approximation (the method sees fewer pixels; fine
structure such as hair is lost), for images too large for the memory or the time at hand; the
runner records ``max_side`` in ``run.json``.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


def predict_downscaled(predict: Callable, image: np.ndarray, trimap: np.ndarray, max_side: int | None) -> np.ndarray:
    """``predict(image, trimap)`` (a float H×W alpha) on a copy whose longer side is ``max_side``,
    the alpha upscaled back to H×W bilinearly; ``predict`` on the image itself when ``max_side``
    is None or not smaller than its longer side.

    ``image`` H×W×3 uint8 is downscaled by area averaging (``cv2.INTER_AREA``), ``trimap`` H×W
    uint8 by nearest neighbour (it keeps the values 0/128/255). Known-region forcing is left to
    the caller, on the full-size trimap.
    """
    h, w = trimap.shape
    if not max_side or max(h, w) <= max_side:
        return predict(image, trimap)
    import cv2

    s = max_side / max(h, w)
    sw, sh = max(1, round(w * s)), max(1, round(h * s))
    small_img = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
    small_tri = cv2.resize(trimap, (sw, sh), interpolation=cv2.INTER_NEAREST)
    alpha = np.asarray(predict(small_img, small_tri), dtype=np.float32)
    return cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)


def scaled_pixels(width: int, height: int, max_side: int | None) -> int:
    """Pixels a method sees for a ``width`` × ``height`` image under ``max_side``."""
    if not max_side or max(width, height) <= max_side:
        return width * height
    s = max_side / max(width, height)
    return max(1, round(width * s)) * max(1, round(height * s))
