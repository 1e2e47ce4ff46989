"""A small SIMD-like test split, generated on the spot, laid out like the authors' SIMD release
so that ``build-sim`` runs on it as on the real one (no download, no licence).

``make_sample_sim(root)`` writes::

    root/SIMD/<class>/fg/NAME, root/SIMD/<class>/alpha/NAME      5 (class, fg) pairs, 4 foregrounds
    root/VOCdevkit/VOC2012/JPEGImages/2008_00NNNN.jpg            9 VOC-style backgrounds
    root/SIMD_composition_test_filelist.txt                     11 lines class:fg:bg (LF, final newline)

The foregrounds are the procedural objects of :mod:`matbench.datasets.sample` (exact alpha
by construction), small, so the script's size rule **upscales** every one of them to a short
side of 800 px (bilinear), and the split stays at 11 composites of about 0.75 Mpx. They cover
what the authors' data and script meet:

====================== ============= =========================================================
file                   class         what it exercises
====================== ============= =========================================================
fur ball (1).jpg       fur           a name with a space and parentheses (like the authors'
                                     ``retriever-348572_1920 (1).jpg``); JPEG stored sideways
                                     with EXIF orientation 6; gray JPEG alpha, upright; 3 bgs
hair-strands.jpg       hair_hard     JPEG with EXIF orientation 8, and its JPEG alpha too
glass-bottle.png       glass_ice     RGBA PNG fg (OpenCV drops the alpha channel); its alpha a
                                     3-channel RGB PNG with equal channels
defocus-flower.jpg     defocus,      one fg name in two classes (the authors' list has
                       plant_flower  ``sea-sunny-person-beach.jpg`` in defocus and hair_easy)
====================== ============= =========================================================

Backgrounds: crops of scikit-image's photographs saved as baseline JPEG (quality 90), some
smaller than the normalised fgs (upscaled by the recipe), some larger (cropped only), one
grayscale, one stored sideways with EXIF orientation 6, one used by two foregrounds (as 12 of
the authors' backgrounds are). Class sizes differ (fur has 3 composites, the others 2), so a
per-class mean differs from the mean over images. Deterministic: fixed seeds, no clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matbench.datasets.sample import FOREGROUNDS, _jpeg_bytes, _photo, _png_bytes, _to_u8, _write
from matbench.datasets.sim import FILE_LIST_NAME, SIM_CLASSES

SEED = 20210619  # CVPR 2021
# (class, file name, maker of matbench.datasets.sample, upright (h, w), fg EXIF orientation,
#  alpha EXIF orientation); a .png name gets an RGBA PNG fg and a 3-channel RGB PNG alpha.
SIM_FOREGROUNDS = (
    ("defocus", "defocus-flower.jpg", "defocus-flower.png", (176, 184), 1, 1),
    ("fur", "fur ball (1).jpg", "fur-ball.png", (190, 170), 6, 1),
    ("glass_ice", "glass-bottle.png", "glass-bottle.png", (216, 180), 1, 1),
    ("hair_hard", "hair-strands.jpg", "hair-strands.png", (210, 182), 8, 8),
    ("plant_flower", "defocus-flower.jpg", "defocus-flower.png", (176, 184), 1, 1),
)
# (VOC name, photograph, (width, height) as displayed, EXIF orientation)
SIM_BACKGROUNDS = (
    ("2008_000011.jpg", "astronaut", (500, 375), 1),
    ("2008_000023.jpg", "coffee", (1100, 1000), 1),
    ("2008_000047.jpg", "camera", (420, 500), 1),
    ("2008_000062.jpg", "chelsea", (1000, 1200), 6),
    ("2008_000089.jpg", "rocket", (375, 500), 1),
    ("2008_000105.jpg", "immunohistochemistry", (1200, 1050), 1),
    ("2008_000131.jpg", "coins", (500, 333), 1),
    ("2008_000146.jpg", "gravel", (1024, 1024), 1),
    ("2008_000173.jpg", "hubble_deep_field", (480, 360), 1),
)
# The file list: (index in SIM_FOREGROUNDS, indices in SIM_BACKGROUNDS); 2008_000023 is used twice.
SIM_LINES = ((0, (0, 1)), (1, (2, 3, 4)), (2, (5, 1)), (3, (6, 7)), (4, (8, 3)))
# What EXIF orientation o does to the stored pixels (ImageOps.exif_transpose); the generator stores
# the upright image transformed by the inverse, so a reader that applies the tag sees it upright.
_INVERSE = {1: None, 3: "ROTATE_180", 6: "ROTATE_90", 8: "ROTATE_270"}


@dataclass
class SampleSim:
    """Paths of a generated SIMD-like split."""
    root: Path
    simd_root: Path     # pass to build_sim(simd_root=...)
    voc_root: Path      # pass to build_sim(voc_root=...)
    file_list: Path     # pass to build_sim(file_list=...)


def _stored(image, orientation: int):
    from PIL import Image

    op = _INVERSE[orientation]
    return image if op is None else image.transpose(getattr(Image.Transpose, op))


def _jpeg(image, orientation: int, quality: int) -> bytes:
    """JPEG bytes of a Pillow image stored for ``orientation`` (EXIF tag written unless 1)."""
    from PIL import Image

    exif = None
    if orientation != 1:
        tags = Image.Exif()
        tags[0x0112] = orientation
        exif = tags.tobytes()
    return _jpeg_bytes(_stored(image, orientation), quality, exif)


def _foreground(i: int, maker_name: str, hw) -> tuple[np.ndarray, np.ndarray]:
    makers = {name: maker for name, _, maker, *_ in FOREGROUNDS}
    h, w = hw
    alpha, colour, _ = makers[maker_name](np.random.default_rng([SEED, i]), w, h)
    return _to_u8(alpha), _to_u8(colour)


def _background(j: int, photo: str, size, orientation: int) -> bytes:
    from PIL import Image

    img = _photo(photo)
    rng = np.random.default_rng([SEED, 1000 + j])
    ph, pw = img.shape[:2]
    ch, cw = int(ph * rng.uniform(0.6, 0.9)), int(pw * rng.uniform(0.6, 0.9))
    y0, x0 = int(rng.integers(0, ph - ch + 1)), int(rng.integers(0, pw - cw + 1))
    crop = Image.fromarray(np.ascontiguousarray(img[y0:y0 + ch, x0:x0 + cw]))
    return _jpeg(crop.resize(size, Image.LANCZOS), orientation, 90)


def make_sample_sim(root) -> SampleSim:
    """Generate the SIMD-like split in ``root`` (see the module docstring); returns its paths.

    Deterministic (the same bytes on every run with the same library versions); safe to rerun
    (atomic writes, unchanged files are not rewritten; the file list is written last).
    """
    from PIL import Image

    root = Path(root)
    simd, voc = root / "SIMD", root / "VOCdevkit" / "VOC2012" / "JPEGImages"
    rendered: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for i, (klass, name, maker, hw, fg_orient, alpha_orient) in enumerate(SIM_FOREGROUNDS):
        if name not in rendered:
            rendered[name] = _foreground(i, maker, hw)
        a8, f8 = rendered[name]
        if name.endswith(".png"):
            fg_bytes = _png_bytes(np.dstack([f8, a8]), "RGBA")
            alpha_bytes = _png_bytes(np.dstack([a8, a8, a8]), "RGB")
        else:
            fg_bytes = _jpeg(Image.fromarray(f8), fg_orient, 95)
            alpha_bytes = _jpeg(Image.fromarray(a8), alpha_orient, 95)
        _write(simd / klass / "fg" / name, fg_bytes)
        _write(simd / klass / "alpha" / name, alpha_bytes)
    for j, (name, photo, size, orientation) in enumerate(SIM_BACKGROUNDS):
        _write(voc / name, _background(j, photo, size, orientation))
    lines = [f"{SIM_FOREGROUNDS[i][0]}:{SIM_FOREGROUNDS[i][1]}:{SIM_BACKGROUNDS[j][0]}"
             for i, bgs in sorted(SIM_LINES, key=lambda t: SIM_CLASSES.index(SIM_FOREGROUNDS[t[0]][0]))
             for j in bgs]
    file_list = root / FILE_LIST_NAME
    _write(file_list, ("\n".join(lines) + "\n").encode("utf-8"))
    return SampleSim(root, simd, root / "VOCdevkit", file_list)
