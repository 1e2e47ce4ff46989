"""The built-in sample release: a small matting benchmark generated on the spot, laid out
exactly like the Adobe Deep Image Matting release, so that the same build code runs on it.

``make_sample_release(root)`` writes a whole release (no download, no licence)::

    root/adobe/Combined_Dataset/Test_set/
        Adobe-licensed images/fg/NAME.png      10 foregrounds (one RGBA, like some Adobe fgs)
        Adobe-licensed images/alpha/NAME.png   their exact alpha mattes (8-bit gray)
        Adobe-licensed images/trimaps/STEM_K.png  official trimaps, one per composite
        test_fg_names.txt                      10 names (LF, no newline after the last)
        test_bg_names.txt                      10 × N VOC-style names; fg i gets bgs i·N … i·N+N−1
        classes.csv                            columns fg,class (SIM's class names)
    root/adobe/Combined_Dataset/Training_set/
        Adobe-licensed images/{fg,alpha}/NAME.jpg   2 of the 4 training foregrounds (JPEG, as
        Other/{fg,alpha}/NAME.jpg                   the real ones), 2 in each folder
        training_fg_names.txt                  4 names sorted case-insensitively across both folders
        training_bg_names.txt                  4 × M COCO train2014 names
        classes.csv                            columns fg,class
    root/voc/JPEGImages/2007_000001.jpg ...    backgrounds cut from the photographs that
                                               scikit-image ships in its wheel
    root/coco/train2014/COCO_train2014_000000000009.jpg ...  training backgrounds, the same way
    root/sample.json                           the generator's parameters

So the release's own lists imply N = ``bgs_per_fg`` (default 5) for the test set and M =
``train_bgs_per_fg`` (default 4) for the training set, as the real lists imply 20 and 100.

Trimaps: like the real release, the test set ships official trimaps ``trimaps/STEM_K.png``:
the erode/dilate trimap of the alpha (``matbench.trimap.erode_dilate``, kernel 25), the same
for every k, as the official Composition-1K ones are per foreground. ``official_trimaps=False``
leaves them out (a release without official trimaps; build with ``trimaps="generate"``).

Training set: four more objects drawn by the same makers with other seeds and sizes (so no
training foreground is a test foreground), saved as JPEG (quality 95, 4:2:0) with JPEG alphas
like the release's training set; the composites use the decoded JPEG alpha, as they do on the
real release, so the training alphas are exact only up to JPEG's error.

Every alpha is exact by construction: it *is* the coverage of a procedural object, computed
by supersampling (``SUPERSAMPLE``² samples per pixel) and rounded to 8 bits, and the
foreground colour F is defined wherever α > 0, so a composite αF + (1 − α)B is what a camera
would see of that object in front of B (up to the 8-bit quantisation of α, F and B).
Blurred objects are integrated the same way: motion blur is the coverage of a moving disc
averaged over the exposure (a box filter along the motion), defocus is the coverage averaged
over the lens aperture (a disc filter); their colour is the coverage-weighted mean colour, so
α·F equals the blurred premultiplied colour exactly.

=================== ============== =========================================================
file                class (SIM)    how the alpha is made
=================== ============== =========================================================
hair-strands.png    hair_hard      opaque head; ~200 curved strands 0.4–1.2 px wide
fur-ball.png        fur            opaque disc; ~900 short radial hairs around its rim
glass-bottle.png    glass_ice      bottle, α 0.15 inside rising to 0.8 at the rims; opaque
                                   cork and label; saved as RGBA (colour + α channel)
plastic-bag.png     plastic_bag    bag with handles, α 0.2–0.7 from wrinkles; opaque print
smoke-plume.png     smoke_cloud    opaque chimney; plume = fractal noise × widening envelope
racket-net.png      net            opaque oval frame and handle; 1 px string grid inside
motion-ball.png     motion         opaque textured ball, exposure-integrated over 56 px
defocus-flower.png  defocus        seven-petal flower averaged over a 9 px-radius aperture
sharp-gear.png      sharp          gear with a hole, edges only (64 samples per pixel)
spider-web.png      spider_web     opaque twig; radial threads and a spiral 0.5–0.9 px wide
=================== ============== =========================================================

Backgrounds: each is a crop of one of the photographs in ``PHOTOS`` (astronaut, coffee,
chelsea, rocket, camera, immunohistochemistry, hubble_deep_field, coins, gravel), flipped or not, resized with Pillow (LANCZOS) to between 0.55× and 1.6×
the foreground size and saved as baseline JPEG (quality 90) like VOC's; the grayscale
photographs stay grayscale JPEGs. About a third are smaller than their foreground, so the
recipe's bicubic upscale is exercised, as are grayscale backgrounds.

Deterministic: fixed seeds, no clock, no randomness from the environment; two runs give
byte-identical files with the same library versions.
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SUPERSAMPLE = 4
SEED = 20170721  # CVPR 2017, Deep Image Matting
DEFAULT_SIZE = 320
DEFAULT_BGS_PER_FG = 5
DEFAULT_TRAIN_BGS_PER_FG = 4
FG_DIR = "Adobe-licensed images"
OTHER_DIR = "Other"
JPEG_QUALITY_TRAIN = 95
COCO2014_NAME = "COCO_train2014_{:012d}.jpg"
# Photographs shipped inside scikit-image's wheel (no pooch download). Grayscale ones too.
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "immunohistochemistry",
          "hubble_deep_field", "coins", "gravel")


@dataclass
class SampleRelease:
    """Paths of a generated sample release."""
    root: Path
    adobe_root: Path          # pass to build_comp1k(adobe_root=...)
    voc_root: Path            # pass to build_comp1k(voc_root=...)
    test_set: Path            # .../Combined_Dataset/Test_set
    bgs_per_fg: int
    foregrounds: list[dict] = field(default_factory=list)  # name, class, width, height, rgba, area
    coco_root: Path | None = None      # pass to build_train(coco_root=...)
    training_set: Path | None = None   # .../Combined_Dataset/Training_set
    train_bgs_per_fg: int = 0
    train_foregrounds: list[dict] = field(default_factory=list)  # name, folder, class, width, height


# ----------------------------------------------------------------------------- rendering helpers

def _grid(w: int, h: int, ss: int = SUPERSAMPLE):
    """Sample positions (x, y) in output-pixel units, ss × ss per pixel, at sub-pixel centres."""
    xs = (np.arange(w * ss) + 0.5) / ss
    ys = (np.arange(h * ss) + 0.5) / ss
    return np.meshgrid(xs, ys)


def _down(a: np.ndarray, ss: int = SUPERSAMPLE) -> np.ndarray:
    """Mean over ss × ss blocks (supersampled -> output pixels)."""
    h, w = a.shape[0] // ss, a.shape[1] // ss
    return a.reshape(h, ss, w, ss, *a.shape[2:]).mean(axis=(1, 3))


def _canvas(w: int, h: int, ss: int = SUPERSAMPLE) -> np.ndarray:
    return np.zeros((h * ss, w * ss), np.uint8)


def _polyline(canvas: np.ndarray, pts: np.ndarray, width_px: float, ss: int = SUPERSAMPLE) -> None:
    """Draw a polyline (output-pixel coordinates) of ``width_px`` on a supersampled canvas."""
    import cv2

    shift = 4
    p = np.round(pts * ss * (1 << shift)).astype(np.int32).reshape(-1, 1, 2)
    thickness = max(1, int(round(width_px * ss)))
    cv2.polylines(canvas, [p], False, 255, thickness=thickness, lineType=cv2.LINE_8, shift=shift)


def _noise(rng, w: int, h: int, octaves=(4, 8, 16, 32), falloff: float = 0.55) -> np.ndarray:
    """Smooth fractal noise in about [-1, 1]: bicubically upsampled random grids, summed."""
    import cv2

    out = np.zeros((h, w))
    amp, total = 1.0, 0.0
    for cells in octaves:
        g = rng.standard_normal((cells + 3, cells + 3))
        up = cv2.resize(g, (w + 2 * (w // cells), h + 2 * (h // cells)), interpolation=cv2.INTER_CUBIC)
        out += amp * up[h // cells: h // cells + h, w // cells: w // cells + w]
        total += amp
        amp *= falloff
    return out / total


def _colour_field(rng, w, h, base, spread=0.12, octaves=(3, 6, 12)) -> np.ndarray:
    """A smooth colour texture around ``base`` (RGB in [0, 1]) as float H×W×3."""
    base = np.asarray(base, float)
    chans = [np.clip(base[c] + spread * _noise(rng, w, h, octaves), 0, 1) for c in range(3)]
    return np.stack(chans, axis=-1)


def _blur_object(cov_ss: np.ndarray, colour: np.ndarray, kernel: np.ndarray):
    """Exposure/aperture integration: α = k * coverage, αF = k * (coverage · F)."""
    import cv2

    cov = _down(cov_ss.astype(np.float64))
    prem = colour * cov[..., None]
    a = cv2.filter2D(cov, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    p = cv2.filter2D(prem, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    a = np.clip(a, 0, 1)
    f = np.where(a[..., None] > 1e-6, p / np.maximum(a, 1e-6)[..., None], colour)
    return a, np.clip(f, 0, 1)


def _disc_kernel(radius: float, ss: int = 8) -> np.ndarray:
    n = int(math.ceil(radius))
    x, y = _grid(2 * n + 1, 2 * n + 1, ss)
    k = _down(((x - n - 0.5) ** 2 + (y - n - 0.5) ** 2 <= radius ** 2).astype(np.float64), ss)
    return k / k.sum()


def _polygon_area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


# ----------------------------------------------------------------------------- the foregrounds
# Each returns (alpha float H×W in [0, 1], colour float H×W×3 in [0, 1], info dict).

def _hair(rng, w, h):
    x, y = _grid(w, h)
    cx, cy, rx, ry = w * 0.5, h * 0.82, w * 0.24, h * 0.3
    head = (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0)
    canvas = _canvas(w, h)
    for _ in range(200):
        t0 = rng.uniform(-2.6, -0.5)  # start angle on the head's upper rim
        px, py = cx + 0.92 * rx * math.cos(t0), cy + 0.92 * ry * math.sin(t0)
        ang = t0 + rng.normal(0, 0.25)
        curl = rng.normal(0, 0.05)
        pts = [(px, py)]
        for _ in range(int(rng.uniform(25, 55))):
            ang += curl + rng.normal(0, 0.04)
            px, py = px + 3.0 * math.cos(ang), py + 3.0 * math.sin(ang)
            pts.append((px, py))
        _polyline(canvas, np.array(pts), rng.uniform(0.4, 1.2))
    cov = np.maximum(canvas > 0, head).astype(np.float64)
    alpha = _down(cov)
    colour = _colour_field(rng, w, h, (0.42, 0.27, 0.14), 0.05)
    return alpha, colour, {}


def _fur(rng, w, h):
    x, y = _grid(w, h)
    cx, cy, r = w * 0.5, h * 0.5, min(w, h) * 0.3
    body = (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    canvas = _canvas(w, h)
    for _ in range(900):
        t = rng.uniform(0, 2 * math.pi)
        ang = t + rng.normal(0, 0.35)
        r0 = r * rng.uniform(0.85, 0.98)
        length = rng.uniform(10, 28)
        s = np.linspace(0, 1, 8)[:, None]
        bend = rng.normal(0, 0.3)
        a = ang + bend * s[:, 0]
        steps = np.stack([np.cos(a), np.sin(a)], axis=1) * (length / 7)
        start = np.array([cx + r0 * math.cos(t), cy + r0 * math.sin(t)])
        pts = start + np.vstack([[0, 0], np.cumsum(steps[:-1], axis=0)])
        _polyline(canvas, pts, rng.uniform(0.5, 1.0))
    alpha = _down(np.maximum(canvas > 0, body).astype(np.float64))
    base = _colour_field(rng, w, h, (0.85, 0.55, 0.25), 0.07, (4, 8, 24))
    return alpha, base, {}


def _bottle_mask(x, y, w, h):
    """Bottle silhouette (body, rounded shoulders, neck) and the distance to its border."""
    cx = w * 0.5
    bw, nw = w * 0.2, w * 0.06
    top, shoulder, bottom = h * 0.12, h * 0.38, h * 0.92
    t = np.clip((y - (shoulder - h * 0.12)) / (h * 0.12), 0, 1)
    half = nw + (bw - nw) * (0.5 - 0.5 * np.cos(math.pi * t))
    inside = (np.abs(x - cx) <= half) & (y >= top) & (y <= bottom)
    dist = np.minimum(np.minimum(half - np.abs(x - cx), y - top), bottom - y)
    return inside, dist


def _glass(rng, w, h):
    x, y = _grid(w, h)
    inside, dist = _bottle_mask(x, y, w, h)
    glass = 0.15 + 0.65 * np.exp(-np.maximum(dist, 0) / 3.0)
    cx = w * 0.5
    cork = (np.abs(x - cx) <= w * 0.055) & (y >= h * 0.06) & (y <= h * 0.16)
    label = inside & (y >= h * 0.55) & (y <= h * 0.75)
    a_ss = np.where(inside, glass, 0.0)
    a_ss = np.where(cork | label, 1.0, a_ss)
    alpha = _down(a_ss)
    colour = np.empty((h, w, 3))
    colour[:] = (0.55, 0.8, 0.6)
    xx, yy = _down(x), _down(y)
    highlight = np.exp(-((xx - (w * 0.5 - w * 0.12)) / 4.0) ** 2) * (yy > h * 0.3)
    colour = colour + highlight[..., None] * 0.4
    cork_c = _down(cork.astype(np.float64)) > 0
    label_c = _down(label.astype(np.float64)) > 0
    colour[cork_c] = (0.6, 0.42, 0.25)
    colour[label_c] = (0.95, 0.9, 0.7)
    return alpha, np.clip(colour, 0, 1), {"rgba": True}


def _bag(rng, w, h):
    x, y = _grid(w, h)
    cx = w * 0.5
    top, bottom = h * 0.3, h * 0.95
    t = (y - top) / (bottom - top)
    half = w * (0.25 + 0.1 * t)
    body = (np.abs(x - cx) <= half) & (y >= top) & (y <= bottom)
    handles = np.zeros_like(body)
    for side in (-1, 1):
        hx, hy = cx + side * w * 0.14, h * 0.3
        d = np.hypot(x - hx, (y - hy) * 1.1)
        handles |= (np.abs(d - w * 0.09) <= w * 0.025) & (y <= hy)
    wr = np.zeros_like(x)
    for _ in range(6):
        th = rng.uniform(0, math.pi)
        f = rng.uniform(0.03, 0.09)
        wr += np.sin(f * (x * math.cos(th) + y * math.sin(th)) + rng.uniform(0, 6.3))
    a_ss = np.clip(0.45 + 0.06 * wr, 0.2, 0.7) * (body | handles)
    logo = (np.hypot(x - cx, y - h * 0.62) <= w * 0.1)
    a_ss = np.where(logo, 1.0, a_ss)
    alpha = _down(a_ss)
    colour = np.empty((h, w, 3))
    colour[:] = (0.93, 0.93, 0.96)
    logo_c = _down(logo.astype(np.float64)) > 0
    colour[logo_c] = (0.8, 0.1, 0.15)
    return alpha, colour, {}


def _smoke(rng, w, h):
    x, y = _grid(w, h)
    chimney = (np.abs(x - w * 0.5) <= w * 0.09) & (y >= h * 0.78)
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    height = np.clip((h * 0.8 - yy) / (h * 0.75), 0, 1)  # 0 at the chimney's top, 1 near the image top
    centre = w * 0.5 + w * 0.12 * np.sin(height * 3.0) * height
    spread = w * (0.07 + 0.3 * height)
    env = np.exp(-((xx - centre) / spread) ** 2) * (yy <= h * 0.8) * np.clip(1.2 - height, 0, 1)
    n = _noise(rng, w, h, (6, 12, 24, 48), 0.6)
    plume = np.clip(env * (0.55 + 0.9 * n), 0, 0.9)
    alpha = np.maximum(plume, _down(chimney.astype(np.float64)))
    colour = np.empty((h, w, 3))
    colour[:] = (0.82, 0.82, 0.85)
    colour += 0.08 * _noise(rng, w, h, (8, 16))[..., None]
    ch = _down(chimney.astype(np.float64)) > 0
    colour[ch] = (0.55, 0.25, 0.2)
    return alpha, np.clip(colour, 0, 1), {}


def _racket(rng, w, h):
    x, y = _grid(w, h)
    cx, cy, rx, ry = w * 0.5, h * 0.38, w * 0.3, h * 0.32
    rho = np.hypot((x - cx) / rx, (y - cy) / ry)
    frame = (rho <= 1.0) & (rho >= 0.86)
    inner = rho < 0.86
    handle = (np.abs(x - cx) <= w * 0.045) & (y >= cy + ry * 0.95) & (y <= h * 0.98)
    spacing = 11.0
    gx = np.abs(((x - cx) / spacing + 0.5) % 1.0 - 0.5) * spacing
    gy = np.abs(((y - cy) / spacing + 0.5) % 1.0 - 0.5) * spacing
    strings = inner & ((gx <= 0.5) | (gy <= 0.5))
    alpha = _down((frame | handle | strings).astype(np.float64))
    colour = np.empty((h, w, 3))
    colour[:] = (0.95, 0.95, 0.9)
    solid = _down((frame | handle).astype(np.float64)) > 0.5
    colour[solid] = (0.15, 0.2, 0.55)
    return alpha, colour, {}


def _motion(rng, w, h):
    x, y = _grid(w, h)
    cx, cy, r, length = w * 0.42, h * 0.5, min(w, h) * 0.24, 56
    disc = ((x - cx) ** 2 + (y - cy) ** 2 <= r * r)
    colour = _colour_field(rng, w, h, (0.85, 0.75, 0.2), 0.2, (8, 16))
    stripes = (np.sin(_down(x) * 0.25) > 0.4)
    colour[stripes] = (0.8, 0.2, 0.1)
    kernel = np.ones((1, length)) / length
    alpha, f = _blur_object(disc, colour, kernel)
    return alpha, f, {"area": math.pi * r * r}


def _flower(rng, w, h):
    x, y = _grid(w, h)
    cx, cy, R = w * 0.5, h * 0.5, min(w, h) * 0.36
    th = np.arctan2(y - cy, x - cx)
    rr = np.hypot(x - cx, y - cy)
    shape = rr <= R * (0.55 + 0.45 * np.abs(np.cos(3.5 * th)))
    colour = np.empty((h, w, 3))
    colour[:] = (0.9, 0.35, 0.6)
    centre = _down((rr <= R * 0.2).astype(np.float64)) > 0
    colour[centre] = (0.95, 0.8, 0.1)
    alpha, f = _blur_object(shape, colour, _disc_kernel(9.0))
    # area of r(θ) = R(0.55 + 0.45|cos 3.5θ|): ½∫r² dθ, with mean |cos| = 2/π, mean cos² = 1/2
    area = 0.5 * R * R * 2 * math.pi * (0.55 ** 2 + 2 * 0.55 * 0.45 * 2 / math.pi + 0.45 ** 2 / 2)
    return alpha, f, {"area": area}


def _sharp(rng, w, h):
    cx, cy = w * 0.5, h * 0.5
    teeth, r_out, r_in = 12, min(w, h) * 0.42, min(w, h) * 0.34
    pts = []
    for i in range(teeth):
        a0 = 2 * math.pi * i / teeth + 0.05
        for da, r in ((0.0, r_in), (0.12, r_out), (0.30, r_out), (0.42, r_in)):
            a = a0 + da * 2 * math.pi / teeth
            pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    pts = np.array(pts)
    hole_r = min(w, h) * 0.12
    ss = 8
    import cv2

    x, y = _grid(w, h, ss)
    canvas = _canvas(w, h, ss)
    shift = 4
    cv2.fillPoly(canvas, [np.round(pts * ss * (1 << shift)).astype(np.int32)], 255, cv2.LINE_8, shift)
    inside = (canvas > 0) & ((x - cx) ** 2 + (y - cy) ** 2 > hole_r ** 2)
    alpha = _down(inside.astype(np.float64), ss)
    xx, yy = np.mgrid[0:h, 0:w][::-1] + 0.5
    shade = 0.55 + 0.35 * (xx + yy) / (w + h)
    colour = np.stack([shade * 0.95, shade * 0.97, shade], axis=-1)
    area = _polygon_area(pts) - math.pi * hole_r ** 2
    return alpha, np.clip(colour, 0, 1), {"area": area}


def _web(rng, w, h):
    x, y = _grid(w, h)
    twig = np.abs(y - (h * 0.1 + 0.05 * (x - w * 0.5))) <= h * 0.055
    canvas = _canvas(w, h)
    cx, cy = w * 0.5, h * 0.55
    R = min(w, h) * 0.45
    spokes = 14
    for i in range(spokes):
        a = 2 * math.pi * i / spokes + rng.normal(0, 0.05)
        end = (cx + R * math.cos(a), cy + R * math.sin(a))
        _polyline(canvas, np.array([(cx, cy), end]), rng.uniform(0.6, 0.9))
    t = np.linspace(0, 2 * math.pi * 9, 1800)
    r = 8 + (R - 12) * t / t[-1]
    spiral = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)
    _polyline(canvas, spiral, 0.5)
    for sx in (w * 0.2, w * 0.5, w * 0.8):  # anchor threads up to the twig
        _polyline(canvas, np.array([(cx, cy), (sx, h * 0.1)]), 0.8)
    alpha = _down(np.maximum(canvas > 0, twig).astype(np.float64))
    colour = np.empty((h, w, 3))
    colour[:] = (0.92, 0.92, 0.95)
    tw = _down(twig.astype(np.float64)) > 0
    colour[tw] = (0.35, 0.23, 0.12)
    return alpha, colour, {}


# (name, SIM class, maker, width factor, height factor)
FOREGROUNDS = (
    ("hair-strands.png", "hair_hard", _hair, 1.0, 1.15),
    ("fur-ball.png", "fur", _fur, 1.0, 1.0),
    ("glass-bottle.png", "glass_ice", _glass, 0.9, 1.2),
    ("plastic-bag.png", "plastic_bag", _bag, 1.0, 1.0),
    ("smoke-plume.png", "smoke_cloud", _smoke, 1.0, 1.2),
    ("racket-net.png", "net", _racket, 0.9, 1.2),
    ("motion-ball.png", "motion", _motion, 1.25, 0.9),
    ("defocus-flower.png", "defocus", _flower, 1.0, 1.0),
    ("sharp-gear.png", "sharp", _sharp, 1.0, 1.0),
    ("spider-web.png", "spider_web", _web, 1.0, 1.0),
)
CLASSES = {name: klass for name, klass, *_ in FOREGROUNDS}

# The training set's foregrounds: (name, folder, SIM class, maker, width factor, height factor).
# Other seeds and sizes than the test objects; JPEG like the release's training set. The list
# file orders them case-insensitively across both folders, as the real training_fg_names.txt
# (which interleaves 'Adobe-licensed images' and 'Other'; a case-sensitive sort would not).
TRAIN_FOREGROUNDS = (
    ("Long-hair.jpg", FG_DIR, "hair_hard", _hair, 1.1, 1.25),
    ("bottle-green.jpg", FG_DIR, "glass_ice", _glass, 0.85, 1.3),
    ("fur-orange.jpg", OTHER_DIR, "fur", _fur, 1.1, 1.1),
    ("Smoke-chimney.jpg", OTHER_DIR, "smoke_cloud", _smoke, 1.1, 1.3),
)


def coco_name(j: int) -> str:
    """COCO train2014 name of the sample's training background ``j`` (ascending ids, as in
    the real training_bg_names.txt)."""
    return COCO2014_NAME.format(9 + 4253 * j)


# ----------------------------------------------------------------------------- writing

def _png_bytes(array: np.ndarray, mode: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def _jpeg_bytes(im, quality: int, exif: bytes | None = None) -> bytes:
    """Baseline JPEG bytes of a Pillow image (Pillow's default 4:2:0 subsampling for colour),
    with the EXIF block ``exif`` when given."""
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality, optimize=False, progressive=False, **({"exif": exif} if exif else {}))
    return buf.getvalue()


def _to_u8(a: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(a, 0, 1) * 255).astype(np.uint8)


def _photo(name: str) -> np.ndarray:
    import skimage.data

    img = getattr(skimage.data, name)()
    if img.dtype != np.uint8:
        img = (img * 255).astype(np.uint8) if img.dtype == bool else img.astype(np.uint8)
    return img


def _background(photo: np.ndarray, rng, fg_size) -> bytes:
    """A crop of ``photo`` resized to 0.55–1.6× the fg size, as baseline JPEG bytes."""
    from PIL import Image

    ph, pw = photo.shape[:2]
    frac = rng.uniform(0.55, 1.0)
    cw, ch = max(16, int(pw * frac)), max(16, int(ph * frac))
    x0 = int(rng.integers(0, pw - cw + 1))
    y0 = int(rng.integers(0, ph - ch + 1))
    crop = photo[y0:y0 + ch, x0:x0 + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    scale = rng.uniform(0.55, 1.6) * max(fg_size) / max(cw, ch)
    size = (max(16, int(round(cw * scale))), max(16, int(round(ch * scale))))
    im = Image.fromarray(np.ascontiguousarray(crop), "L" if crop.ndim == 2 else "RGB")
    im = im.resize(size, Image.LANCZOS)
    return _jpeg_bytes(im, 90)


def _write(path: Path, data: bytes) -> None:
    from matbench.io import write_bytes_atomic

    if path.is_file() and path.read_bytes() == data:
        return  # unchanged: keep its timestamp
    write_bytes_atomic(path, data)


def _write_backgrounds(folder: Path, names: list[str], fg_sizes, per_fg: int, seed: int, stream: int,
                       bar=None) -> None:
    """Background ``j`` (``names[j]``) for foreground ``j // per_fg``, from the rng ``[seed, stream + j]``."""
    photos: dict[str, np.ndarray] = {}
    for j, bg_name in enumerate(names):
        pname = PHOTOS[j % len(PHOTOS)]
        if pname not in photos:
            photos[pname] = _photo(pname)
        rng = np.random.default_rng([seed, stream + j])
        _write(folder / bg_name, _background(photos[pname], rng, fg_sizes[j // per_fg]))
        if bar is not None:
            bar.update(1)


def _write_lists(split_dir: Path, fg_list: str, bg_list: str, fg_names, bg_names, classes) -> None:
    """The split's name lists (LF, no newline after the last) and ``classes.csv``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["fg", "class"])
    for name in fg_names:
        writer.writerow([name, classes[name]])
    _write(split_dir / "classes.csv", buf.getvalue().encode())
    _write(split_dir / fg_list, "\n".join(fg_names).encode())
    _write(split_dir / bg_list, "\n".join(bg_names).encode())


def _write_training_set(root: Path, *, size: int, per_fg: int, seed: int, bar=None) -> list[dict]:
    """The sample's Training_set and COCO folder (see the module docstring); returns the
    foregrounds' infos in list order."""
    from PIL import Image

    train_set = root / "adobe" / "Combined_Dataset" / "Training_set"
    infos = {}
    for i, (name, folder, klass, maker, fw, fh) in enumerate(TRAIN_FOREGROUNDS):
        w, h = int(round(size * fw)), int(round(size * fh))
        alpha, colour, _ = maker(np.random.default_rng([seed, 2000 + i]), w, h)
        _write(train_set / folder / "fg" / name, _jpeg_bytes(Image.fromarray(_to_u8(colour), "RGB"),
                                                             JPEG_QUALITY_TRAIN))
        _write(train_set / folder / "alpha" / name, _jpeg_bytes(Image.fromarray(_to_u8(alpha), "L"),
                                                                JPEG_QUALITY_TRAIN))
        infos[name] = {"name": name, "folder": folder, "class": klass, "width": w, "height": h}
        if bar is not None:
            bar.update(1)
    fg_names = sorted(infos, key=str.lower)  # the release's order: case-insensitive, both folders
    bg_names = [coco_name(j) for j in range(len(fg_names) * per_fg)]
    sizes = [(infos[n]["width"], infos[n]["height"]) for n in fg_names]
    _write_backgrounds(root / "coco" / "train2014", bg_names, sizes, per_fg, seed, 3000, bar)
    _write_lists(train_set, "training_fg_names.txt", "training_bg_names.txt", fg_names, bg_names,
                 {n: infos[n]["class"] for n in fg_names})
    return [infos[n] for n in fg_names]


def make_sample_release(root, *, size: int = DEFAULT_SIZE, bgs_per_fg: int = DEFAULT_BGS_PER_FG,
                        seed: int = SEED, official_trimaps: bool = True, progress: bool = False,
                        train_bgs_per_fg: int = DEFAULT_TRAIN_BGS_PER_FG) -> SampleRelease:
    """Generate the sample release in ``root`` (see the module docstring) and return its paths.

    ``size``: foreground scale in pixels (about size × size per foreground). ``bgs_per_fg``:
    backgrounds per test foreground (the test bg list holds 10 × ``bgs_per_fg`` names);
    ``train_bgs_per_fg``: per training foreground (4 × ``train_bgs_per_fg`` COCO names).
    ``official_trimaps``: write ``trimaps/STEM_K.png`` like the real release (default); False
    leaves them out, and the test set must then be built with ``trimaps="generate"``.
    Deterministic: the same arguments write the same bytes. Safe to rerun (files are written
    atomically; the name lists and ``sample.json`` last). Raises MatbenchError for a size
    under 64 px or fewer than 1 background per foreground.
    """
    from matbench.errors import MatbenchError

    size, bgs_per_fg, train_bgs_per_fg = int(size), int(bgs_per_fg), int(train_bgs_per_fg)
    if size < 64:
        raise MatbenchError(f"sample size {size}: must be at least 64 px")
    if bgs_per_fg < 1 or train_bgs_per_fg < 1:
        raise MatbenchError(f"bgs per fg {min(bgs_per_fg, train_bgs_per_fg)}: must be at least 1")
    root = Path(root)
    test_set = root / "adobe" / "Combined_Dataset" / "Test_set"
    voc = root / "voc" / "JPEGImages"
    fg_dir, alpha_dir = test_set / FG_DIR / "fg", test_set / FG_DIR / "alpha"

    bar = None
    if progress:
        from tqdm import tqdm

        total = len(FOREGROUNDS) * (1 + bgs_per_fg) + len(TRAIN_FOREGROUNDS) * (1 + train_bgs_per_fg)
        bar = tqdm(total=total, unit="file", desc="sample release")
    infos, sizes = [], []
    try:
        for i, (name, klass, maker, fw, fh) in enumerate(FOREGROUNDS):
            w, h = int(round(size * fw)), int(round(size * fh))
            rng = np.random.default_rng([seed, i])
            alpha, colour, info = maker(rng, w, h)
            a8, f8 = _to_u8(alpha), _to_u8(colour)
            if info.get("rgba"):
                fg_bytes = _png_bytes(np.dstack([f8, a8]), "RGBA")
            else:
                fg_bytes = _png_bytes(f8, "RGB")
            _write(fg_dir / name, fg_bytes)
            _write(alpha_dir / name, _png_bytes(a8, "L"))
            if official_trimaps:
                from matbench.trimap import erode_dilate

                tri = _png_bytes(erode_dilate(a8), "L")
                for k in range(bgs_per_fg):
                    _write(test_set / FG_DIR / "trimaps" / f"{name[:-4]}_{k}.png", tri)
            infos.append({"name": name, "class": klass, "width": w, "height": h,
                          "rgba": bool(info.get("rgba")), "area": info.get("area")})
            sizes.append((w, h))
            if bar is not None:
                bar.update(1)
        bg_names = [f"2007_{j + 1:06d}.jpg" for j in range(len(FOREGROUNDS) * bgs_per_fg)]
        _write_backgrounds(voc, bg_names, sizes, bgs_per_fg, seed, 1000, bar)
        train_infos = _write_training_set(root, size=size, per_fg=train_bgs_per_fg, seed=seed, bar=bar)
    finally:
        if bar is not None:
            bar.close()

    _write_lists(test_set, "test_fg_names.txt", "test_bg_names.txt", [n for n, *_ in FOREGROUNDS], bg_names,
                 CLASSES)
    params = {"generator": "matbench.datasets.sample", "size": size, "bgs_per_fg": bgs_per_fg, "seed": seed,
              "official_trimaps": bool(official_trimaps), "foregrounds": infos,
              "train_bgs_per_fg": train_bgs_per_fg, "train_foregrounds": train_infos,
              "photos": list(PHOTOS)}
    _write(root / "sample.json", (json.dumps(params, indent=2) + "\n").encode())
    return read_sample_release(root)


def read_sample_release(root) -> SampleRelease:
    """The paths of the sample release generated in ``root`` (read from its ``sample.json``).

    Raises MatbenchError when ``root`` holds no complete sample release."""
    from matbench.errors import MatbenchError

    root = Path(root)
    try:
        params = json.loads((root / "sample.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise MatbenchError(f"{root}: no sample release here (sample.json missing or unreadable); "
                            "make one with matbench.datasets.sample.make_sample_release") from None
    combined = root / "adobe" / "Combined_Dataset"
    return SampleRelease(root=root, adobe_root=root / "adobe", voc_root=root / "voc",
                         test_set=combined / "Test_set", bgs_per_fg=params["bgs_per_fg"],
                         foregrounds=params["foregrounds"], coco_root=root / "coco" / "train2014",
                         training_set=combined / "Training_set",
                         train_bgs_per_fg=params.get("train_bgs_per_fg", 0),
                         train_foregrounds=params.get("train_foregrounds", []))


def sample_is_complete(root, *, size: int = DEFAULT_SIZE, bgs_per_fg: int = DEFAULT_BGS_PER_FG,
                       seed: int = SEED, official_trimaps: bool = True,
                       train_bgs_per_fg: int = DEFAULT_TRAIN_BGS_PER_FG) -> bool:
    """True when ``root`` holds a sample release made with these parameters (its
    ``sample.json``, written last, says so)."""
    p = Path(root) / "sample.json"
    try:
        params = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    have = (params.get("size"), params.get("bgs_per_fg"), params.get("seed"), params.get("official_trimaps"),
            params.get("train_bgs_per_fg"))
    return have == (int(size), int(bgs_per_fg), int(seed), bool(official_trimaps), int(train_bgs_per_fg))
