"""``trimap-mid``: the floor every matting method must beat.

alpha = 0 where the trimap is 0, 255 where it is 255, and 128 everywhere else (the unknown
region, whatever its grey level), i.e. the trimap itself with every unknown value set to the
middle grey.
"""
from __future__ import annotations

import numpy as np


def trimap_mid(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """uint8 H×W alpha: 0/255 in the trimap's known regions, 128 in the unknown region."""
    alpha = np.full(trimap.shape, 128, dtype=np.uint8)
    alpha[trimap == 0] = 0
    alpha[trimap == 255] = 255
    return alpha
