"""DIM's training sample recipe, step by step, on numpy arrays (no torch).

The recipe is the one that produced the published DIM checkpoints (``docs/specs/training.md``,
"The sample, step by step"; mmagic's ``CropAroundUnknown``, ``Flip``, ``Resize`` and
``GenerateTrimap`` in ``configs/dim/dim_stage*``). All images of a composite (``merged``,
``alpha``, ``fg``, ``bg``) get the same geometric operation:

1. crop size s drawn uniformly from ``crop_sizes`` (default {320, 480, 640});
2. rescue resize (bilinear) when the image is smaller than s×s: :func:`rescue_size`;
3. crop centre drawn from the unknown pixels away from the border: :func:`crop_candidates`,
   :func:`crop_origin`;
4. horizontal flip with probability 1/2: :func:`flip`;
5. resize to ``out_size``×``out_size`` (default 320), bilinear, aspect not kept: :func:`resize`;
6. trimap from the resized alpha with random elliptical erosion/dilation kernels:
   :func:`random_trimap`, kernels from :func:`draw_trimap_morphology`.

:func:`draw_params` makes every random draw of one sample (it needs only the alpha) and
:func:`apply_params` applies them to the images, so a sample's parameters can be recomputed
from its alpha alone. :func:`make_sample` does both. Randomness comes only from the numpy
Generator passed in; :func:`sample_rng` makes the one of sample (seed, epoch, composite) and
:func:`epoch_order` the order of an epoch, so a sample never depends on the process, the
number of DataLoader workers or what was drawn before it.

Images are 8-bit throughout (``uint8`` in, ``uint8`` out), as the reference reads and resizes
them (OpenCV's fixed-point bilinear resize on ``uint8``); only the online-merge composite
(:func:`online_merge`) is float32.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from matbench.errors import MatbenchError
from matbench.trimap import erode_dilate, rng_for

CROP_SIZES = (320, 480, 640)
OUT_SIZE = 320
TRIMAP_KERNELS = (1, 29)      # inclusive; mmagic GenerateTrimap(kernel_size=(1, 30))
TRIMAP_ITERATIONS = (1, 1)    # inclusive; one iteration each (SIM: kernels (2, 9), iterations (5, 15))
IMAGE_KEYS = ("merged", "alpha", "fg", "bg")


@dataclass(frozen=True)
class Recipe:
    """The options of the sample recipe (defaults: the published DIM recipe).

    ``crop_sizes``: side lengths s in px drawn uniformly. ``out_size``: side of the sample in
    px (a multiple of 32 for DIM's five poolings). ``trimap_kernels`` / ``trimap_iterations``:
    inclusive ranges of the elliptical kernel size (px) and of the iteration count, drawn
    independently for the erosion and the dilation. ``online_merge``: compose the image from
    fg, bg and alpha in float32 instead of reading the stored composite.
    """
    crop_sizes: tuple = CROP_SIZES
    out_size: int = OUT_SIZE
    trimap_kernels: tuple = TRIMAP_KERNELS
    trimap_iterations: tuple = TRIMAP_ITERATIONS
    online_merge: bool = False

    def __post_init__(self):
        sizes = tuple(int(s) for s in self.crop_sizes)
        if not sizes or min(sizes) < 1:
            raise MatbenchError(f"crop sizes {self.crop_sizes}: expected one or more sizes >= 1 px")
        if int(self.out_size) < 32 or int(self.out_size) % 32:
            raise MatbenchError(f"sample size {self.out_size}: must be a multiple of 32 (DIM pools five times)")
        for what, (lo, hi) in (("trimap kernel", self.trimap_kernels), ("trimap iteration", self.trimap_iterations)):
            if not 1 <= int(lo) <= int(hi):
                raise MatbenchError(f"{what} range {lo}-{hi}: expected 1 <= min <= max")
        object.__setattr__(self, "crop_sizes", sizes)
        object.__setattr__(self, "out_size", int(self.out_size))
        object.__setattr__(self, "trimap_kernels", (int(self.trimap_kernels[0]), int(self.trimap_kernels[1])))
        object.__setattr__(self, "trimap_iterations",
                           (int(self.trimap_iterations[0]), int(self.trimap_iterations[1])))

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class SampleParams:
    """Every random choice of one sample (all sizes and offsets in px).

    ``rescue``: (H, W) after the rescue resize, None when the image was large enough.
    ``top``, ``left``: origin of the s×s crop in the (rescued) image.
    """
    crop_size: int
    rescue: tuple | None
    top: int
    left: int
    flip: bool
    erode_kernel: int
    dilate_kernel: int
    erode_iterations: int
    dilate_iterations: int


# ----------------------------------------------------------------------------- randomness

def sample_rng(seed: int, epoch: int, name: str) -> np.random.Generator:
    """The Generator of sample (``seed``, ``epoch``, composite ``name``): sha256-seeded
    (``matbench.trimap.rng_for``), so the sample is a pure function of the three."""
    return rng_for(seed, f"dim-sample\0{int(epoch)}\0{name}")


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order (a permutation of ``range(n)``, int64) in which epoch ``epoch`` visits the
    ``n`` composites: a pure function of (``seed``, ``epoch``, ``n``)."""
    return rng_for(seed, f"dim-order\0{int(epoch)}").permutation(int(n))


# ----------------------------------------------------------------------------- the steps

def rescue_size(h: int, w: int, s: int) -> tuple[int, int] | None:
    """Step 2: the size (H, W) an h×w image is resized to before an s×s crop, or None.

    r = max(s/h, s/w); if r > 1, (H, W) = (max(int(h·r), s), max(int(w·r), s)), else None
    (the image is left as it is). ``docs/specs/training.md`` step 2; mmagic ``CropAroundUnknown``.
    """
    r = max(s / h, s / w)
    if r <= 1:
        return None
    return max(int(h * r), s), max(int(w * r), s)


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` (H×W or H×W×C uint8) resized to ``height``×``width`` with OpenCV's bilinear
    interpolation (``INTER_LINEAR``, what ``mmcv.imresize`` uses); same dtype and channels.
    Steps 2 and 5."""
    if image.shape[:2] == (height, width):
        return image
    return cv2.resize(image, (int(width), int(height)), interpolation=cv2.INTER_LINEAR)


def unknown_region(alpha: np.ndarray) -> np.ndarray:
    """Bool H×W: 0 < alpha < 255 (uint8 alpha): the pixels a crop is centred on (step 3)."""
    return (alpha > 0) & (alpha < 255)


def crop_candidates(alpha: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Step 3: the candidate crop centres (ys, xs) for an s×s crop of an H×W ``alpha``.

    The unknown pixels with s//2 ≤ y < H − s//2 and s//2 ≤ x < W − s//2; if there are none,
    all unknown pixels; if there is no unknown pixel, the single point (s//2, s//2) (the crop
    is then the top-left s×s, not the centre). Row-major order (y, then x), int64 arrays.
    """
    unknown = unknown_region(alpha)
    h, w = unknown.shape
    half = s // 2
    ys, xs = np.nonzero(unknown[half:max(half, h - half), half:max(half, w - half)])
    if ys.size:
        return ys + half, xs + half
    ys, xs = np.nonzero(unknown)
    if ys.size:
        return ys, xs
    return np.array([half], np.int64), np.array([half], np.int64)


def crop_origin(cy: int, cx: int, s: int, height: int, width: int) -> tuple[int, int]:
    """Step 3: (top, left) of the s×s crop centred at (cy, cx), clipped into the image:
    top = clip(cy − s//2, 0, H − s), left = clip(cx − s//2, 0, W − s)."""
    top = min(max(cy - s // 2, 0), height - s)
    left = min(max(cx - s // 2, 0), width - s)
    return int(top), int(left)


def crop(image: np.ndarray, top: int, left: int, s: int) -> np.ndarray:
    """The s×s window [top, top+s) × [left, left+s) of ``image`` (a view)."""
    return image[top:top + s, left:left + s]


def flip(image: np.ndarray) -> np.ndarray:
    """Step 4: ``image`` mirrored left-right (a contiguous copy)."""
    return np.ascontiguousarray(image[:, ::-1])


def random_trimap(alpha: np.ndarray, erode_kernel: int, dilate_kernel: int, erode_iterations: int = 1,
                  dilate_iterations: int = 1) -> np.ndarray:
    """Step 6: trimap (uint8 H×W, values 0/128/255) of a uint8 ``alpha``.

    128 everywhere; 255 where ``erode(alpha)`` ≥ 255; 0 where ``dilate(alpha)`` ≤ 0, with
    elliptical (``cv2.MORPH_ELLIPSE``) k×k structuring elements and the given iteration
    counts (gray-level morphology, as mmagic's ``GenerateTrimap``). So 255 only where
    alpha = 255 and 0 only where alpha = 0. ``docs/specs/training.md`` step 6; computed by
    :func:`matbench.trimap.erode_dilate`.
    """
    return erode_dilate(alpha, erode_kernel, dilate_kernel=dilate_kernel, iterations=erode_iterations,
                        dilate_iterations=dilate_iterations)


def draw_trimap_morphology(rng: np.random.Generator, kernels=TRIMAP_KERNELS,
                           iterations=TRIMAP_ITERATIONS) -> tuple[int, int, int, int]:
    """(erode kernel, dilate kernel, erode iterations, dilate iterations), each drawn
    independently and uniformly from its inclusive range (default kernels 1..29, one
    iteration: ``docs/specs/training.md`` step 6)."""
    ek, dk = rng.integers(kernels[0], kernels[1] + 1, size=2)
    ei, di = rng.integers(iterations[0], iterations[1] + 1, size=2)
    return int(ek), int(dk), int(ei), int(di)


def online_merge(alpha: np.ndarray, fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """The composite alpha·fg + (1 − alpha)·bg in float32 (H×W×3, 0..255 scale), from uint8
    arrays, not rounded (mmagic's ``MergeFgAndBg``; ``docs/specs/training.md``, online merge)."""
    a = alpha[..., None].astype(np.float32) / np.float32(255.0)
    return fg * a + (np.float32(1.0) - a) * bg


# ----------------------------------------------------------------------------- one sample

def draw_params(alpha: np.ndarray, rng: np.random.Generator, recipe: Recipe = Recipe()) -> SampleParams:
    """Every random choice of one sample, in the recipe's order (crop size, centre, flip,
    trimap kernels), from the composite's uint8 H×W ``alpha`` and ``rng``."""
    s = recipe.crop_sizes[int(rng.integers(len(recipe.crop_sizes)))]
    h, w = alpha.shape
    rescue = rescue_size(h, w, s)
    if rescue is not None:
        alpha = resize(alpha, *rescue)
        h, w = rescue
    ys, xs = crop_candidates(alpha, s)
    j = int(rng.integers(ys.size))
    top, left = crop_origin(int(ys[j]), int(xs[j]), s, h, w)
    do_flip = bool(rng.random() < 0.5)
    ek, dk, ei, di = draw_trimap_morphology(rng, recipe.trimap_kernels, recipe.trimap_iterations)
    return SampleParams(s, rescue, top, left, do_flip, ek, dk, ei, di)


def apply_params(images: dict, params: SampleParams, out_size: int = OUT_SIZE) -> dict:
    """Steps 2–6 with fixed ``params`` on ``images`` (dict of uint8 arrays of one size, with
    ``alpha``); returns the ``out_size``×``out_size`` arrays and ``trimap``."""
    s = params.crop_size
    out = {}
    for key, image in images.items():
        if params.rescue is not None:
            image = resize(image, *params.rescue)
        image = crop(image, params.top, params.left, s)
        if params.flip:
            image = flip(image)
        out[key] = np.ascontiguousarray(resize(image, out_size, out_size))
    out["trimap"] = random_trimap(out["alpha"], params.erode_kernel, params.dilate_kernel,
                                  params.erode_iterations, params.dilate_iterations)
    return out


def make_sample(images: dict, rng: np.random.Generator, recipe: Recipe = Recipe()) -> tuple[dict, SampleParams]:
    """One training sample: ``images`` (``alpha`` H×W uint8 and any of ``merged``/``fg``/``bg``
    H×W×3 uint8, one size) → (dict of ``out_size``² uint8 arrays plus ``trimap``, params).

    With ``recipe.online_merge``, ``merged`` is recomputed from the processed fg, bg and alpha
    in float32 (:func:`online_merge`) and need not be given.
    """
    alpha = images["alpha"]
    for key, image in images.items():
        if image.shape[:2] != alpha.shape:
            raise MatbenchError(f"{key} is {image.shape[1]}×{image.shape[0]} but alpha is "
                                f"{alpha.shape[1]}×{alpha.shape[0]}")
    params = draw_params(alpha, rng, recipe)
    if recipe.online_merge:
        images = {k: v for k, v in images.items() if k != "merged"}
    out = apply_params(images, params, recipe.out_size)
    if recipe.online_merge:
        out["merged"] = online_merge(out["alpha"], out["fg"], out["bg"])
    return out, params


# ----------------------------------------------------------------------------- files

def read_composite(root, row: dict, keys=IMAGE_KEYS, cache: dict | None = None) -> dict:
    """The arrays of one composite of a built training set (a manifest ``row``): ``merged``,
    ``fg``, ``bg`` as H×W×3 uint8 RGB, ``alpha`` as H×W uint8 (``matbench.mattes`` rule).
    ``cache``: a dict (path -> array) that keeps the alpha and fg files, which the composites of
    a foreground share, decoded once (give one dict per foreground)."""
    from matbench.io import read_rgb8
    from matbench.mattes import read_matte

    root = Path(root)
    columns = {"merged": "merged", "alpha": "alpha", "fg": "fg_path", "bg": "bg_path"}
    paths = {key: root / row[columns[key]] for key in keys}
    out = {}
    for key, path in paths.items():
        if cache is not None and path in cache:
            out[key] = cache[path]
            continue
        out[key] = read_matte(path) if key == "alpha" else read_rgb8(path)
        if cache is not None and key in ("alpha", "fg"):
            cache[path] = out[key]
    h, w = out["alpha"].shape
    for key, image in out.items():
        if image.shape[:2] != (h, w):
            raise MatbenchError(f"{paths[key]}: {key} is {image.shape[1]}×{image.shape[0]} but its alpha "
                                f"{paths['alpha'].name} is {w}×{h}")
    return out


def composite_rows(root) -> list[dict]:
    """The manifest rows of a built training set, checked: split ``train`` and a background
    file for every composite (the compositional loss needs it: ``build-train --write-bg``)."""
    from matbench.manifest import MANIFEST_NAME, read_manifest

    root = Path(root)
    rows = read_manifest(root)
    if not rows:
        raise MatbenchError(f"{root / MANIFEST_NAME}: no composites")
    for row in rows:
        if row.get("split") != "train":
            raise MatbenchError(f"{root / MANIFEST_NAME}: {row.get('image')} is split {row.get('split')!r}, "
                                f"not a training composite; build the training set with matbench build-train")
        if not row.get("bg_path") or not row.get("fg_path"):
            raise MatbenchError(f"{root / MANIFEST_NAME}: {row['image']} has no background file; rebuild with "
                                f"matbench build-train --write-bg (the compositional loss needs fg and bg)")
    return rows


def sample_from_composite(root, row: dict, seed: int, epoch: int, recipe: Recipe = Recipe()):
    """Sample (``seed``, ``epoch``) of the composite ``row`` of the training set at ``root``:
    (dict of arrays, :class:`SampleParams`)."""
    keys = ("alpha", "fg", "bg") if recipe.online_merge else IMAGE_KEYS
    return make_sample(read_composite(root, row, keys), sample_rng(seed, epoch, row["image"]), recipe)
