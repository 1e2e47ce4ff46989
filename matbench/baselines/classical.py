"""Classical trimap-based matting through PyMatting (Germer et al., JOSS 2020).

=============== ============================ =================================================
name            PyMatting function           method
=============== ============================ =================================================
``closed-form`` ``estimate_alpha_cf``        Levin, Lischinski, Weiss, PAMI 2008
``knn``         ``estimate_alpha_knn``       Chen, Li, Tang, KNN matting, PAMI 2013
``lkm``         ``estimate_alpha_lkm``       He, Sun, Tang, large-kernel matting, CVPR 2010
``random-walk`` ``estimate_alpha_rw``        Grady et al., random walks matting, 2005
``shared``      ``estimate_alpha_sm``        Gastal, Oliveira, shared matting, 2010
=============== ============================ =================================================

Input: the image as float64 RGB in [0, 1], the trimap as float64 in [0, 1] (``/ 255``;
PyMatting treats 0 as background, 1 as foreground, anything else as unknown). Output:
clipped to [0, 1], forced to 0 where the trimap is 0 and 1 where it is 255, ×255, rounded
half to even, uint8 (as the DIM runner does). PyMatting is imported inside the functions:
its first import compiles with numba (about 40 s here, cached afterwards). ``lkm`` on an
image smaller than 41 px uses a smaller kernel radius (PyMatting's needs sides >= 4r + 1),
and closed-form below 5 px.
"""
from __future__ import annotations

import contextlib
import io
from functools import partial

import numpy as np

from matbench.errors import MatbenchError

METHODS = {
    "closed-form": "estimate_alpha_cf",
    "knn": "estimate_alpha_knn",
    "lkm": "estimate_alpha_lkm",
    "random-walk": "estimate_alpha_rw",
    "shared": "estimate_alpha_sm",
}

LKM_RADIUS = 10  # PyMatting's default

# Peak memory of one prediction above the process's own, in GiB per megapixel of image (all
# pixels; linear in them): the larger of 0.26 and 0.52 Mpx synthetic composites with 23 %
# unknown pixels, measured by benchmarks/memory.py (PyMatting 1.1.x, a fresh process each);
# knn raised to 3.5 for the 2.0 GiB peak seen on a real 0.46 Mpx image (issue 15). ``run``
# refuses a run whose largest image would not fit (runner._check_memory): an estimate, not a
# bound (a larger unknown region may need more).
PEAK_GIB_PER_MPX = {"closed-form": 0.72, "knn": 3.5, "lkm": 0.37, "random-walk": 0.49, "shared": 0.1}
BASE_GIB = 0.4  # a worker's own memory: Python, numpy, PyMatting and its compiled code


def force_known(alpha: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """Clip to [0, 1], set the trimap's known regions, ×255, round half to even, uint8."""
    alpha = np.clip(np.asarray(alpha, dtype=np.float64), 0.0, 1.0)
    alpha[trimap == 0] = 0.0
    alpha[trimap == 255] = 1.0
    return np.rint(alpha * 255.0).astype(np.uint8)


def estimate_alpha(method: str, image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """Float64 H×W alpha of PyMatting ``method`` for uint8 RGB ``image`` and uint8 ``trimap``."""
    import pymatting

    if method not in METHODS:
        raise ValueError(f"unknown classical method {method!r}; expected one of {', '.join(METHODS)}")
    img = image.astype(np.float64) / 255.0
    tri = trimap.astype(np.float64) / 255.0
    # PyMatting's solvers need an unknown region and both known ones; otherwise the
    # answer is fixed: the known values, or the only known value everywhere.
    if ((trimap == 0) | (trimap == 255)).all():
        return tri
    if not (trimap == 255).any():
        return np.zeros(trimap.shape)
    if not (trimap == 0).any():
        return np.ones(trimap.shape)
    try:
        # PyMatting prints a multi-line "PERFORMANCE WARNING" on stdout each time its
        # preconditioner retries with a larger shift; stdout belongs to our leaderboards.
        with contextlib.redirect_stdout(io.StringIO()):
            return _solve(pymatting, method, img, tri)
    except ValueError as e:
        if "converge" in str(e):  # PyMatting's conjugate gradient gave up
            raise MatbenchError(f"{method}: PyMatting's solver did not converge ({e})") from None
        raise


def _solve(pymatting, method, img, tri):
    if method == "lkm":
        # PyMatting's large-kernel Laplacian needs sides >= 4 * radius + 1 (radius 10 by
        # default): shrink the radius for small images.
        radius = min(LKM_RADIUS, (min(tri.shape) - 1) // 4)
        if radius < 1:
            return pymatting.estimate_alpha_cf(img, tri)
        return pymatting.estimate_alpha_lkm(img, tri, laplacian_kwargs={"radius": radius})
    return getattr(pymatting, METHODS[method])(img, tri)


def classical_predictor(method: str, max_side: int | None = None):
    """``predict(image, trimap) -> uint8 alpha`` for one of ``METHODS``. ``max_side``: predict
    larger images on a copy downscaled to that longer side and upscale the alpha back
    (:func:`matbench.baselines.scale.predict_downscaled`: approximate, far less memory)."""
    from matbench.baselines.scale import predict_downscaled

    if method not in METHODS:
        raise ValueError(f"unknown classical method {method!r}")

    def predict(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        alpha = predict_downscaled(partial(estimate_alpha, method), image, trimap, max_side)
        return force_known(alpha, trimap)

    return predict


def pymatting_version() -> str:
    from importlib.metadata import version

    return version("pymatting")
