"""The SIM test set: each composition step against first principles, the OpenCV behaviours the
authors' script relies on, the file list, bad input, the build (resume, jobs, verify) and the
whole path build-sim -> run -> score --by class -> report on the sample split.

Expected values come from the spec (docs/specs/sim.md), hand derivations, or independent
numpy code; the OpenCV facts are checked against OpenCV itself.
"""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from matbench import sim_compose as sc
from matbench.build import verify
from matbench.build_sim import build_sim
from matbench.datasets.sample_sim import SIM_BACKGROUNDS, SIM_FOREGROUNDS, SIM_LINES, make_sample_sim
from matbench.datasets.sim import SIM_CLASSES, load_sim, read_file_list
from matbench.errors import MatbenchError
from matbench.manifest import read_manifest


# ----------------------------------------------------------------------------- independent references

def bilinear_reference(img, w, h):
    """OpenCV's INTER_LINEAR for uint8, written from its definition: source coordinate
    (d + 0.5)·(S/D) − 0.5 in float32, edge replication (horizontal: clamped coordinate and weight
    0; vertical: clamped rows), weights quantised to 1/2048 (INTER_RESIZE_COEF_BITS = 11); the
    horizontal pass is exact, the vertical pass is OpenCV's fixed-point kernel
    ((S0 >> 4)·b0 >> 16) + ((S1 >> 4)·b1 >> 16), then (x + 2) >> 2."""
    def coeffs(src, dst, clamp):
        fx = ((np.arange(dst) + 0.5) * (1.0 / (dst / src)) - 0.5).astype(np.float32)
        sx = np.floor(fx).astype(np.int64)
        fx = (fx - sx.astype(np.float32)).astype(np.float32)
        if clamp:
            fx[sx < 0], sx[sx < 0] = 0, 0
            hi = sx >= src - 1
            fx[hi], sx[hi] = 0, src - 1
        c0 = np.rint((np.float32(1) - fx) * np.float32(2048)).astype(np.int64)
        c1 = np.rint(fx * np.float32(2048)).astype(np.int64)
        return np.clip(sx, 0, src - 1), np.clip(sx + 1, 0, src - 1), c0, c1

    a = img.astype(np.int64).reshape(img.shape[0], img.shape[1], -1)
    x0, x1, a0, a1 = coeffs(a.shape[1], w, True)
    y0, y1, b0, b1 = coeffs(a.shape[0], h, False)
    rows = a[:, x0] * a0[None, :, None] + a[:, x1] * a1[None, :, None]
    v = (((rows[y0] >> 4) * b0[:, None, None]) >> 16) + (((rows[y1] >> 4) * b1[:, None, None]) >> 16)
    out = np.clip((v + 2) >> 2, 0, 255).astype(np.uint8)
    return out[..., 0] if img.ndim == 2 else out


def exif_display(raw, orientation):
    """The upright image of stored pixels ``raw`` under EXIF orientation 1..8 (EXIF 2.3 §4.6.4:
    where the stored 0th row and column are seen)."""
    return {1: lambda a: a, 2: np.fliplr, 3: lambda a: np.rot90(a, 2), 4: np.flipud,
            5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.rot90(a, -1),
            7: lambda a: np.swapaxes(np.rot90(a, 2), 0, 1), 8: lambda a: np.rot90(a, 1)}[orientation](raw)


def save_with_orientation(path, array, orientation, **kw):
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(array).save(path, exif=exif.tobytes(), **kw)


def diamond_morphology(alpha, radius, op):
    """max (op = np.maximum) or min over the L1 ball of ``radius``, out-of-image pixels ignored."""
    ident = 0 if op is np.maximum else 255
    h, w = alpha.shape
    pad = np.full((h + 2 * radius, w + 2 * radius), ident, np.uint8)
    pad[radius:radius + h, radius:radius + w] = alpha
    out = alpha.copy()
    for dy in range(-radius, radius + 1):
        for dx in range(-radius + abs(dy), radius - abs(dy) + 1):
            out = op(out, pad[radius + dy:radius + dy + h, radius + dx:radius + dx + w])
    return out


# ----------------------------------------------------------------------------- OpenCV facts

def test_resize_third_positional_argument_is_dst_so_interpolation_is_bilinear():
    img = np.random.default_rng(0).integers(0, 256, (23, 31, 3), np.uint8)
    as_written = cv2.resize(img, (57, 41), cv2.INTER_LANCZOS4)   # the script's call
    assert np.array_equal(as_written, cv2.resize(img, (57, 41), interpolation=cv2.INTER_LINEAR))
    assert not np.array_equal(as_written, cv2.resize(img, (57, 41), interpolation=cv2.INTER_LANCZOS4))
    assert np.array_equal(sc.resize(img, (57, 41)), as_written)


@pytest.mark.parametrize("shape,size", [((7, 9, 3), (13, 11)), ((9, 7), (40, 33)), ((40, 60, 3), (17, 9)),
                                        ((10, 12, 3), (24, 20)), ((20, 24), (12, 10)),  # exact 2x up / down
                                        ((161, 171, 3), (849, 799)), ((5, 38, 3), (36, 4)), ((1, 5), (3, 4))])
def test_resize_equals_the_bilinear_formula(shape, size):
    img = np.random.default_rng(sum(shape)).integers(0, 256, shape, np.uint8)
    assert np.array_equal(sc.resize(img, size), bilinear_reference(img, *size))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_to_colour_and_gray_jpeg_reads(tmp_path, orientation):
    up = np.random.default_rng(orientation).integers(0, 256, (24, 40, 3), np.uint8)
    path = tmp_path / "o.jpg"
    save_with_orientation(path, up, orientation, quality=95)
    raw = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    assert np.array_equal(sc.read_color(path), exif_display(raw, orientation))
    raw_gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION)
    assert np.array_equal(sc.read_alpha(path), exif_display(raw_gray, orientation))
    w, h = Image.open(path).size  # Pillow: stored size, no orientation
    assert sc.opencv_size(path) == ((h, w) if orientation >= 5 else (w, h))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP"])
def test_header_size_rule_matches_opencv(tmp_path, fmt):
    """opencv_size (header only) = the size cv2.imread returns, for a quarter-turn EXIF tag."""
    path = tmp_path / f"o.{fmt.lower()}"
    arr = np.zeros((12, 20, 3), np.uint8)
    kw = {"lossless": True} if fmt == "WEBP" else {}
    if fmt == "BMP":
        Image.fromarray(arr).save(path)
    else:
        save_with_orientation(path, arr, 6, format=fmt, **kw)
    h, w = cv2.imread(str(path)).shape[:2]
    assert sc.opencv_size(path) == (w, h)


def test_reading_colour_alphas(tmp_path):
    """Equal channels (3-channel PNG, RGBA, palette with gray colours): OpenCV's gray read is the
    value, and the reading rule accepts them. Unequal channels: OpenCV applies libpng's
    (9797 R + 19234 G + 3737 B) >> 15 (coefficients floor(0.299·32768), floor(0.587·32768));
    matbench refuses unless matte_channel="luma"."""
    v = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(np.dstack([v, v, v])).save(tmp_path / "rgb.png")
    Image.fromarray(np.dstack([v, v, v, np.full_like(v, 255)])).save(tmp_path / "rgba.png")
    pal = Image.fromarray(255 - v).convert("P")  # palette of 256 grays, indices != values
    pal.save(tmp_path / "pal.png")
    for name in ("rgb.png", "rgba.png"):
        assert np.array_equal(sc.read_alpha(tmp_path / name), v)
        assert sc.alpha_problem(tmp_path / name) is None
    assert np.array_equal(sc.read_alpha(tmp_path / "pal.png"), np.asarray(pal.convert("L")))

    rgb = np.random.default_rng(3).integers(0, 256, (30, 40, 3), np.uint8)
    Image.fromarray(rgb).save(tmp_path / "colour.png")
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    rc, gc = 29900 * 32768 // 100000, 58700 * 32768 // 100000
    assert np.array_equal(sc.read_alpha(tmp_path / "colour.png"), (rc * r + gc * g + (32768 - rc - gc) * b) >> 15)
    problem = sc.alpha_problem(tmp_path / "colour.png")
    assert "colour channels differ" in problem and "--matte-channel luma" in problem
    assert sc.alpha_problem(tmp_path / "colour.png", "luma") is None
    Image.fromarray(v.astype(np.uint16) * 257).save(tmp_path / "a16.png")
    assert "16-bit" in sc.alpha_problem(tmp_path / "a16.png", "luma")


# ----------------------------------------------------------------------------- the steps

@pytest.mark.parametrize("hw,expected", [
    ((1080, 1920), (1080, 1920)),   # r = 1, r2 < 1: unchanged
    ((800, 800), (800, 800)),       # r2 = 1: unchanged
    ((600, 900), (800, 1200)),      # small: upscaled to a short side of 800
    ((3000, 4000), (1440, 1920)),   # large: r = 0.48 -> 1440.0 x 1920.0, r2 < 1
    ((2160, 3840), (1080, 1920)),   # exact 2:1
    ((1000, 3000), (800, 2400)),    # r = 0.64 -> 640 x 1920, then r2 = 1.25: longer than 1920
    ((161, 171), (799, 849)),       # 161 * (800 / 161) = 799.999..., int() -> 799
])
def test_normalised_size_branches(hw, expected):
    assert sc.normalised_size(*hw) == expected


def test_normalised_size_float_truncation_is_real():
    assert 161 * (800 / 161) < 800 and int(171 * (800 / 161)) == 849


def test_normalise_resizes_fg_and_alpha_alike():
    rng = np.random.default_rng(5)
    fg, alpha = rng.integers(0, 256, (6, 9, 3), np.uint8), rng.integers(0, 256, (6, 9), np.uint8)
    nfg, nalpha = sc.normalise(fg, alpha, max_size=16, min_size=8)   # 6x9 -> 8x12
    assert nalpha.shape == (8, 12) and nfg.shape == (8, 12, 3)
    assert np.array_equal(nfg, bilinear_reference(fg, 12, 8))
    assert np.array_equal(nalpha, bilinear_reference(alpha, 12, 8))
    same = sc.normalise(fg, alpha, max_size=9, min_size=6)
    assert same[0] is fg and same[1] is alpha
    with pytest.raises(MatbenchError, match="foreground is 9x6 but its alpha is 8x6"):
        sc.normalise(fg, alpha[:, :8])


@pytest.mark.parametrize("fg_hw,bg_hw,resized", [
    ((10, 12), (15, 20), None),                  # bg larger: cropped only
    ((10, 12), (5, 4), (13, 16)),                # ratio = max(12/4, 10/5) = 3 -> (int(4*3 + 1), int(5*3 + 1))
    ((10, 8), (5, 4), (9, 11)),                  # ratio exactly 2 -> 2*4 + 1 = 9, not 8
    ((10, 12), (20, 6), (13, 41)),               # narrower only: ratio 2
])
def test_background_smaller_and_larger(fg_hw, bg_hw, resized):
    h, w = fg_hw
    bg = np.random.default_rng(7).integers(0, 256, (*bg_hw, 3), np.uint8)
    crop, ratio = sc.prepare_bg(bg, h, w)
    assert ratio == max(w / bg_hw[1], h / bg_hw[0])
    big = bg if resized is None else bilinear_reference(bg, *resized)
    assert np.array_equal(crop, big[:h, :w])


def test_composite_is_the_float64_truncating_blend():
    rng = np.random.default_rng(11)
    h, w = 40, 64
    fg = rng.integers(0, 256, (h, w, 3), np.uint8)
    alpha = rng.integers(0, 256, (h, w), np.uint8)
    alpha[:5], alpha[5:10] = 0, 255
    bg = rng.integers(0, 256, (20, 30, 3), np.uint8)
    merged, crop, _ = sc.composite(fg, alpha, bg)
    a = alpha[:, :, None] / 255.0
    assert np.array_equal(merged, (fg * a + crop * (1.0 - a)).astype(np.uint8))  # spec step 4, in numpy


def test_trimap_kernel_and_band():
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    assert kernel.tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]   # the 3x3 "ellipse" is a cross
    rng = np.random.default_rng(2)
    alpha = np.zeros((60, 70), np.uint8)
    alpha[15:45, 20:50] = 255
    alpha[10:20, 10:30] = rng.integers(0, 256, (10, 20), np.uint8)
    alpha[0, 69] = 3                                       # a soft pixel in the corner: border handling
    expected = np.full(alpha.shape, 128, np.uint8)
    expected[diamond_morphology(alpha, 5, np.minimum) == 255] = 255
    expected[diamond_morphology(alpha, 5, np.maximum) == 0] = 0
    assert np.array_equal(sc.trimap(alpha), expected)
    # the band: a single soft pixel gives an unknown L1 diamond of radius 5 (61 pixels)
    one = np.zeros((30, 30), np.uint8)
    one[15, 15] = 7
    assert np.count_nonzero(sc.trimap(one) == 128) == 61


# ----------------------------------------------------------------------------- the file list

def test_authors_file_list(sim_lists):
    comps, problems = read_file_list(sim_lists / "SIMD_composition_test_filelist.txt")
    assert problems == [] and len(comps) == 890
    assert list(dict.fromkeys(c.klass for c in comps)) == list(SIM_CLASSES)
    pairs = list(dict.fromkeys((c.klass, c.fg) for c in comps))
    assert len(pairs) == 89 and len({c.image for c in comps}) == 890
    sizes = {k: sum(c.klass == k for c in comps) for k in SIM_CLASSES}
    assert min(sizes.values()) == 20 and max(sizes.values()) == 140
    named = [c for c in comps if c.fg == "retriever-348572_1920 (1).jpg"]
    assert len(named) == 10 and named[0].image.startswith("retriever-348572_1920 (1)_")
    assert {c.klass for c in comps if c.fg == "sea-sunny-person-beach.jpg"} == {"defocus", "hair_easy"}


def test_authors_file_list_validates_against_a_simd_shaped_tree(sim_lists, tmp_path):
    """Every name of the authors' list (spaces, parentheses, a fg in two classes, shared bgs)
    resolves in a SIMD-shaped tree of tiny stand-in images."""
    fl = sim_lists / "SIMD_composition_test_filelist.txt"
    comps, _ = read_file_list(fl)
    buf = __import__("io").BytesIO()
    Image.fromarray(np.zeros((4, 6), np.uint8)).save(buf, "PNG")   # content decides the format
    paths = {p for c in comps for p in (tmp_path / "SIMD" / c.klass / "fg" / c.fg, tmp_path / "SIMD" / c.klass /
                                          "alpha" / c.fg, tmp_path / "VOCdevkit" / "VOC2012" / "JPEGImages" / c.bg)}
    for folder in {p.parent for p in paths}:
        folder.mkdir(parents=True)
    for path in paths:
        path.write_bytes(buf.getvalue())
    split = load_sim(tmp_path / "SIMD", tmp_path / "VOCdevkit", fl, jobs=1)
    assert split.n_composites == 890 and len(split.foregrounds) == 89 and split.classes == list(SIM_CLASSES)
    assert {len(f.composites) for f in split.foregrounds} == {10}


def test_file_list_forms_and_problems(tmp_path):
    lf, crlf = tmp_path / "lf.txt", tmp_path / "crlf.txt"
    lf.write_bytes(b"fur:a (1).jpg:2008_000001.jpg\nnet:b.png:2008_000002.jpg\n\n")
    crlf.write_bytes(b"fur:a (1).jpg:2008_000001.jpg\r\nnet:b.png:2008_000002.jpg")
    assert read_file_list(lf) == read_file_list(crlf)
    assert read_file_list(lf)[0][0].image == "a (1)_2008_000001"
    bad = tmp_path / "bad.txt"
    bad.write_text("fur:a.jpg\n\nfur:a.jpg:b.jpg:c\n../x:a.jpg:2008_1.jpg\nfur:../a.jpg:2008_000001.jpg\n"
                   "fur:a.jpg:2008_000001.jpg\nnet:a.png:2008_000001.jpg\n")
    comps, problems = read_file_list(bad)
    assert len(comps) == 2 and len(problems) == 6
    assert "line 1: expected class:fg:bg" in problems[0] and "line 2:" in problems[1] and "line 3:" in problems[2]
    assert "not a plain folder name" in problems[3] and "climbs out" in problems[4]
    assert "line 7: composite 'a_2008_000001' repeats line 6" in problems[5]


# ----------------------------------------------------------------------------- bad input

def _mini_simd(root):
    """A 2-class SIMD tree and VOC folder; returns (simd, voc)."""
    simd, voc = root / "SIMD", root / "voc"
    for klass, name, size in (("fur", "a (1).jpg", (40, 30)), ("net", "b.png", (30, 20))):
        for sub in ("fg", "alpha"):
            (simd / klass / sub).mkdir(parents=True)
        Image.fromarray(np.full((size[1], size[0], 3), 90, np.uint8)).save(simd / klass / "fg" / name, "JPEG"
                                                                         if name.endswith("jpg") else "PNG")
        Image.fromarray(np.full((size[1], size[0]), 200, np.uint8)).save(simd / klass / "alpha" / name, "JPEG"
                                                                        if name.endswith("jpg") else "PNG")
    voc.mkdir()
    for n in ("2008_000001.jpg", "2008_000002.jpg"):
        Image.fromarray(np.full((20, 20, 3), 30, np.uint8)).save(voc / n)
    return simd, voc


def test_bad_input_all_problems_in_one_message_nothing_written(tmp_path):
    simd, voc = _mini_simd(tmp_path)
    Image.fromarray(np.zeros((21, 30), np.uint8)).save(simd / "net" / "alpha" / "b.png")   # 30x21 vs fg 30x20
    fl = tmp_path / "list.txt"
    fl.write_text("fur:a (1).jpg:2008_000001.jpg\nfur:a (1).jpg\nglass:c.jpg:2008_000001.jpg\n"
                  "net:b.png:2008_009999.jpg\n")
    out = tmp_path / "out"
    with pytest.raises(MatbenchError) as e:
        build_sim(simd, voc, fl, out, progress=False)
    msg = str(e.value)
    assert msg.startswith("4 SIM input problems (nothing was computed or written)")
    assert "line 2: expected class:fg:bg" in msg
    assert "1 class folder of the file list not found: glass" in msg
    assert f"{voc}: 1 listed file missing: 2008_009999.jpg" in msg
    assert "b.png: alpha is 30x21 but its foreground b.png is 30x20" in msg
    assert not out.exists()
    p = run_cli("build-sim", "--simd-root", simd, "--voc-root", voc, "--file-list", fl, "--out", out, "-q")
    assert p.returncode == 2 and p.stderr.startswith("matbench: error: 4 SIM input problems")
    assert "Traceback" not in p.stderr and not out.exists()


def test_exif_rotated_fg_matches_its_upright_alpha(tmp_path):
    """A portrait fg stored sideways with EXIF orientation 6 is the size of its upright alpha for
    OpenCV (and the checks); a fg whose EXIF turn makes it differ is refused."""
    simd, voc = _mini_simd(tmp_path)
    fg = np.zeros((30, 40, 3), np.uint8)             # upright 40x30 as in the alpha, stored 30x40
    save_with_orientation(simd / "fur" / "fg" / "a (1).jpg", np.rot90(fg, 1).copy(), 6, format="JPEG")
    fl = tmp_path / "list.txt"
    fl.write_text("fur:a (1).jpg:2008_000001.jpg\n")
    assert load_sim(simd, voc, fl).n_composites == 1
    save_with_orientation(simd / "fur" / "fg" / "a (1).jpg", fg, 6, format="JPEG")
    with pytest.raises(MatbenchError, match=r"alpha is 40x30 but its foreground a \(1\).jpg is 30x40"):
        load_sim(simd, voc, fl)


def test_ambiguous_alpha_refused_unless_luma(tmp_path):
    simd, voc = _mini_simd(tmp_path)
    colour = np.dstack([np.full((20, 30), v, np.uint8) for v in (10, 200, 90)])
    Image.fromarray(colour).save(simd / "net" / "alpha" / "b.png")
    fl = tmp_path / "list.txt"
    fl.write_text("net:b.png:2008_000001.jpg\n")
    with pytest.raises(MatbenchError, match="colour channels differ in 600 pixels.*--matte-channel luma"):
        build_sim(simd, voc, fl, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
    build_sim(simd, voc, fl, tmp_path / "out", progress=False, matte_channel="luma")
    alpha = np.asarray(Image.open(tmp_path / "out" / "net" / "alpha" / "b_2008_000001.png"))
    assert alpha.shape == (800, 1200) and (alpha == cv2.imread(str(simd / "net" / "alpha" / "b.png"), 0)[0, 0]).all()


# ----------------------------------------------------------------------------- the build

def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "matbench.cli", *map(str, args)], capture_output=True, text=True)


def tree(folder):
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return make_sample_sim(tmp_path_factory.mktemp("simsample"))


@pytest.fixture(scope="module")
def built(sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("simbuild") / "SIMD-test"
    build_sim(sample.simd_root, sample.voc_root, sample.file_list, out, progress=False)
    return out


def script_composite(simd, voc, klass, fg_name, bg_name):
    """The spec's steps with the script's own OpenCV calls (cv2.imread, the positional
    INTER_LANCZOS4), the size rule and the blend written out in numpy."""
    fg = cv2.imread(str(simd / klass / "fg" / fg_name))
    alpha = cv2.imread(str(simd / klass / "alpha" / fg_name), 0)
    h, w = alpha.shape
    r = 1920 / max(h, w)
    th, tw = (h * r, w * r) if r < 1 else (h, w)
    r = 800 / min(th, tw)
    th, tw = (int(th * r), int(tw * r)) if r > 1 else (int(th), int(tw))
    if (th, tw) != (h, w):
        alpha = cv2.resize(alpha, (tw, th), cv2.INTER_LANCZOS4)
        fg = cv2.resize(fg, (tw, th), cv2.INTER_LANCZOS4)
    bg = cv2.imread(str(voc / bg_name))
    bh, bw = bg.shape[:2]
    ratio = max(tw / bw, th / bh)
    if ratio > 1:
        bg = cv2.resize(bg, (int(bw * ratio + 1.0), int(bh * ratio + 1.0)), cv2.INTER_LANCZOS4)
    a = alpha[:, :, None] / 255.0
    comp = (fg * a + bg[:th, :tw] * (1.0 - a)).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    trimap = np.full(alpha.shape, 128, np.uint8)
    trimap[cv2.erode(alpha, k, iterations=5) >= 255] = 255
    trimap[cv2.dilate(alpha, k, iterations=5) <= 0] = 0
    return comp, alpha, trimap


def test_sample_split_covers_the_cases(sample):
    text = sample.file_list.read_text()
    assert text.endswith("\n") and "\r" not in text and len(text.splitlines()) == sum(len(b) for _, b in SIM_LINES)
    assert any(" (" in name for _, name, *_ in SIM_FOREGROUNDS)
    assert Image.open(sample.simd_root / "fur" / "fg" / "fur ball (1).jpg").getexif().get(0x0112) == 6
    assert Image.open(sample.simd_root / "glass_ice" / "alpha" / "glass-bottle.png").mode == "RGB"
    sizes = [sc.normalised_size(*upright_hw) for _, _, _, upright_hw, _, _ in SIM_FOREGROUNDS]
    assert all(min(s) in (799, 800) for s in sizes)   # every fg is upscaled by the size rule
    bg_sizes = [s for _, _, s, _ in SIM_BACKGROUNDS]
    assert min(min(s) for s in bg_sizes) < 800 < max(min(s) for s in bg_sizes)


def test_build_is_the_script_pixel_for_pixel(sample, built):
    rows = read_manifest(built)
    assert len(rows) == 11 and [r["class"] for r in rows] == sorted((r["class"] for r in rows), key=SIM_CLASSES.index)
    for r in rows:
        comp, alpha, trimap = script_composite(sample.simd_root, sample.voc_root / "VOC2012" / "JPEGImages",
                                               r["class"], r["fg"], r["bg"])
        merged = np.asarray(Image.open(built / r["merged"]))
        assert np.array_equal(merged, comp[..., ::-1]), r["image"]      # BGR in memory, RGB on disk
        assert np.array_equal(np.asarray(Image.open(built / r["alpha"])), alpha)
        assert np.array_equal(np.asarray(Image.open(built / r["trimap"])), trimap)
        assert (int(r["width"]), int(r["height"])) == (alpha.shape[1], alpha.shape[0])
        assert r["image"] == f"{r['fg'][:-4]}_{r['bg'][:-4]}" and r["merged"] == f"{r['class']}/merged/{r['image']}.png"
        import hashlib
        assert r["sha256"] == hashlib.sha256(merged.tobytes()).hexdigest()
        assert r["alpha_sha256"] == hashlib.sha256(alpha.tobytes()).hexdigest()
        assert r["trimap_sha256"] == hashlib.sha256(trimap.tobytes()).hexdigest()
    info = json.loads((built / "dataset.json").read_text())
    assert info["kind"] == "sim-test" and info["composites"] == 11
    assert json.loads((built / "test_list.json").read_text())[0].keys() == {"alpha_path", "merged_path", "trimap_path"}
    assert verify(built)["ok"]


def test_jobs_resume_and_verify(sample, built, tmp_path):
    out = tmp_path / "b"
    build_sim(sample.simd_root, sample.voc_root, sample.file_list, out, jobs=2, progress=False)
    assert tree(out) == tree(built)
    # an interrupted run: composites and the manifest gone, a stray temporary file left
    for p in list((out / "fur" / "merged").iterdir())[:2]:
        p.unlink()
    (out / "manifest.csv").unlink()
    (out / "net").mkdir()
    (out / "fur" / "merged" / ".x.png.abc.tmp").write_bytes(b"partial")
    build_sim(sample.simd_root, sample.voc_root, sample.file_list, out, progress=False)
    (out / "net").rmdir()
    assert tree(out) == tree(built)
    with pytest.raises(MatbenchError, match="holds a different build"):
        build_sim(sample.simd_root, sample.voc_root, sample.file_list, out, progress=False, matte_channel="luma")
    with pytest.raises(MatbenchError, match="inside the source folder"):
        build_sim(sample.simd_root, sample.voc_root, sample.file_list, sample.simd_root / "out", progress=False)
    (out / "fur" / "trimap" / "fur ball (1)_2008_000047.png").unlink()
    tampered = out / "defocus" / "merged" / "defocus-flower_2008_000011.png"
    Image.fromarray(np.zeros((800, 836, 3), np.uint8)).save(tampered)
    r = verify(out)
    assert r["missing"] == ["fur/trimap/fur ball (1)_2008_000047.png"]
    assert r["changed"] == ["defocus/merged/defocus-flower_2008_000011.png"]


def test_end_to_end_cli(sample, tmp_path):
    """build-sim -> run trimap-mid -> score --by class (with the published SIM tables) -> report."""
    data, preds, scores = tmp_path / "SIMD-test", tmp_path / "pred", tmp_path / "scores"
    p = run_cli("build-sim", "--simd-root", sample.simd_root, "--voc-root", sample.voc_root, "--file-list",
                sample.file_list, "--out", data, "-q")
    assert p.returncode == 0, p.stderr
    assert "11 composites of 5 classes" in p.stdout
    p = run_cli("run", "trimap-mid", "--dataset", data, "--out", preds, "-q")
    assert p.returncode == 0, p.stderr
    assert (preds / "fur ball (1)_2008_000047.png").is_file()
    exact = tmp_path / "exact"  # a second model: the ground truth itself
    exact.mkdir()
    for r in read_manifest(data):
        (exact / f"{r['image']}.png").write_bytes((data / r["alpha"]).read_bytes())
    p = run_cli("score", preds, exact, "--dataset", data, "--by", "class", "--with-published", "sim", "--out", scores,
                "--format", "md,latex", "-q")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "Published SIM test set (SIMD) results" in out and "### SAD/1e3 per class" in out
    order = [out.index(f"| {c}") for c in ("defocus |", "fur |", "glass_ice |", "hair_hard |", "flower (plant_flower)")]
    assert order == sorted(order)
    assert "lace† (texture_holed)" in out and "assumed to be texture_holed" in out
    tex = (scores / "classwise.tex").read_text()
    assert r"exact & \textbf{0.00} & -- & \textbf{0.00}" in tex and r"\emph{Published (SIM paper)}" in tex
    assert "lace$^\\dagger$" in tex
    from matbench.scorefiles import read_per_image

    per_image = read_per_image(scores)
    assert set(per_image["class"]) == {"defocus", "fur", "glass_ice", "hair_hard", "plant_flower"}
    p = run_cli("report", scores, "--out", tmp_path / "report.html")  # the gallery from the recorded folders
    assert p.returncode == 0, p.stderr
    assert "fur ball (1)_2008_" in (tmp_path / "report.html").read_text()


def test_trimap_never_writes_into_a_sim_dataset(built, tmp_path):
    """A SIM dataset keeps its trimaps per class (<class>/trimap): `matbench trimap --dataset`
    refuses every folder inside the dataset, not only the first row's trimap folder (the trimaps
    of the other classes used to be overwritten)."""
    from matbench.trimap import write_trimaps

    rows = read_manifest(built)
    last = built / Path(rows[-1]["trimap"]).parent  # another class than the first row's
    assert last != built / Path(rows[0]["trimap"]).parent
    before = {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}
    for out in (last, built / "new-trimaps", built):
        with pytest.raises(MatbenchError, match="a folder of the dataset") as e:
            write_trimaps(out, dataset=built, width="3")
        assert "\n" not in str(e.value) and str(out) in str(e.value)
    p = run_cli("trimap", "--dataset", built, "--out", last, "--width", "3", "-q")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "a folder of the dataset" in p.stderr
    assert {p: p.read_bytes() for p in built.rglob("*") if p.is_file()} == before  # nothing written
    assert write_trimaps(tmp_path / "T", dataset=built, width="3") == {tmp_path / "T": len(rows)}  # outside: fine


def test_build_sim_refuses_another_matte_channel_first(sample, tmp_path):
    """A --matte-channel other than luma is refused in one line before anything is read or
    written (one check, at the start of load_sim)."""
    for channel in ("red", "alpha"):
        with pytest.raises(MatbenchError, match=rf"^--matte-channel {channel}: build-sim accepts only luma$"):
            build_sim(sample.simd_root, sample.voc_root, tmp_path / "no-list.txt", tmp_path / "out", progress=False,
                      matte_channel=channel)  # refused before the (missing) file list is even read
    assert not (tmp_path / "out").exists()
