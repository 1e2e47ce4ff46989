"""The built-in sample release: Adobe layout (test and training sets), exact alphas, determinism.

The composites are checked against the compositing equation computed here, independently of
matbench, from the release's own fg/alpha/bg files and the recipe of
``docs/specs/composition.md`` (Pillow bicubic upscale by ceil(size·ratio), top-left crop,
float64 a·F + (1 − a)·B truncated). The alphas are checked against analytic areas of the
shapes they cover (mass is conserved by exposure and aperture integration).
"""
import csv
import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from matbench.datasets import sample

N = 3  # backgrounds per foreground in these tests (the demo uses 5)


@pytest.fixture(scope="session")
def release(tmp_path_factory):
    return sample.make_sample_release(tmp_path_factory.mktemp("sample") / "release", bgs_per_fg=N, train_bgs_per_fg=2)


@pytest.fixture(scope="session")
def built(release, tmp_path_factory):
    from matbench.build import build_comp1k

    out = tmp_path_factory.mktemp("built") / "comp"
    build_comp1k(release.adobe_root, release.voc_root, out, bgs_per_fg=N, trimaps="generate", progress=False)
    return out


def _test_set(release) -> Path:
    return release.root / "adobe" / "Combined_Dataset" / "Test_set"


def test_layout_is_the_adobe_test_release(release):
    ts = _test_set(release)
    assert ts == release.test_set
    fg_text = (ts / "test_fg_names.txt").read_bytes()
    bg_text = (ts / "test_bg_names.txt").read_bytes()
    for text in (fg_text, bg_text):
        assert b"\r" not in text and not text.endswith(b"\n") and b"\n\n" not in text
    fgs = fg_text.decode().split("\n")
    bgs = bg_text.decode().split("\n")
    assert len(fgs) == 10 and len(set(fgs)) == 10
    assert len(bgs) == len(fgs) * N and len(set(bgs)) == len(bgs)
    for name in fgs:
        assert name.endswith(".png")
        assert (ts / "Adobe-licensed images" / "fg" / name).is_file()
        alpha = Image.open(ts / "Adobe-licensed images" / "alpha" / name)
        assert alpha.mode == "L"
        fg = Image.open(ts / "Adobe-licensed images" / "fg" / name)
        assert fg.mode in ("RGB", "RGBA") and fg.size == alpha.size
    for name in bgs:
        assert len(name) == len("2007_000027.jpg") and name.endswith(".jpg")
        with Image.open(release.voc_root / "JPEGImages" / name) as im:
            assert im.format == "JPEG"
    # official trimaps, one per composite, like the real release's
    trimaps = sorted(p.name for p in (ts / "Adobe-licensed images" / "trimaps").iterdir())
    assert trimaps == sorted(f"{n[:-4]}_{k}.png" for n in fgs for k in range(N))
    with open(ts / "classes.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["fg"] for r in rows] == fgs
    classes = {r["class"] for r in rows}
    # distinct matting classes, named as in SIM's taxonomy
    assert {"hair_hard", "fur", "glass_ice", "plastic_bag", "smoke_cloud", "net", "motion", "defocus",
            "sharp", "spider_web"} == classes
    # backgrounds include grayscale JPEGs and ones smaller than their fg (upscale path)
    modes, upscaled = set(), 0
    for i, fg_name in enumerate(fgs):
        fw, fh = Image.open(ts / "Adobe-licensed images" / "fg" / fg_name).size
        for k in range(N):
            with Image.open(release.voc_root / "JPEGImages" / bgs[i * N + k]) as im:
                modes.add(im.mode)
                upscaled += max(fw / im.size[0], fh / im.size[1]) > 1
    assert modes == {"RGB", "L"} and 0 < upscaled < len(bgs)


def _reference_composite(fg_path, alpha_path, bg_path):
    """docs/specs/composition.md, written out independently."""
    fg = Image.open(fg_path)
    if fg.mode not in ("RGB", "RGBA"):
        fg = fg.convert("RGB")
    F = np.asarray(fg)[..., :3].astype(np.float64)
    a = np.asarray(Image.open(alpha_path)).astype(np.float64) / 255.0
    bg = Image.open(bg_path)
    if bg.mode != "RGB":
        bg = bg.convert("RGB")
    h, w = a.shape
    bw, bh = bg.size
    ratio = max(w / bw, h / bh)
    if ratio > 1:
        bg = bg.resize((math.ceil(bw * ratio), math.ceil(bh * ratio)), Image.BICUBIC)
    B = np.asarray(bg)[:h, :w].astype(np.float64)
    a3 = a[..., None]
    blend = np.floor(a3 * F + (1 - a3) * B)
    return np.where(a3 >= 1, F, np.where(a3 > 0, blend, B)).astype(np.uint8), F, a, B


def test_composites_satisfy_the_compositing_equation(release, built):
    ts = _test_set(release)
    fgs = (ts / "test_fg_names.txt").read_text().split("\n")
    bgs = (ts / "test_bg_names.txt").read_text().split("\n")
    partial_checked = 0
    for i, name in enumerate(fgs):
        for k in range(N):
            ref, F, a, B = _reference_composite(ts / "Adobe-licensed images" / "fg" / name,
                                                ts / "Adobe-licensed images" / "alpha" / name,
                                                release.voc_root / "JPEGImages" / bgs[i * N + k])
            merged = np.asarray(Image.open(built / "merged" / f"{name[:-4]}_{k}.png").convert("RGB"))
            assert merged.shape == ref.shape
            np.testing.assert_array_equal(merged, ref, err_msg=f"{name} k={k}")
            # I = αF + (1 − α)B within truncation (0 ≤ exact − I < 1) everywhere
            exact = a[..., None] * F + (1 - a[..., None]) * B
            diff = exact - merged
            assert diff.min() > -1e-9 and diff.max() < 1
            partial_checked += int(((a > 0) & (a < 1)).sum())
    assert partial_checked > 10000


def test_manifest_classes_and_background_order(release, built):
    from matbench.manifest import read_manifest

    ts = _test_set(release)
    fgs = (ts / "test_fg_names.txt").read_text().split("\n")
    bgs = (ts / "test_bg_names.txt").read_text().split("\n")
    rows = read_manifest(built)
    assert len(rows) == len(fgs) * N
    for row in rows:
        i = fgs.index(row["fg"])
        assert row["bg"] == bgs[i * N + int(row["k"])]
        assert row["class"] == sample.CLASSES[row["fg"]]
        tri = np.asarray(Image.open(built / row["trimap"]))
        assert set(np.unique(tri)) <= {0, 128, 255}


@pytest.mark.parametrize("name", ["motion-ball.png", "defocus-flower.png", "sharp-gear.png"])
def test_alpha_mass_equals_the_analytic_area(release, name):
    """Σα = area of the shape: exact for the sharp gear (polygon minus disc, shoelace formula),
    and conserved by the motion (box) and defocus (disc) integration of the ball and flower."""
    info = next(f for f in release.foregrounds if f["name"] == name)
    a = np.asarray(Image.open(_test_set(release) / "Adobe-licensed images" / "alpha" / name)).astype(np.float64)
    assert a.sum() / 255 == pytest.approx(info["area"], rel=0.003)


def _alpha(release, name):
    return np.asarray(Image.open(_test_set(release) / "Adobe-licensed images" / "alpha" / name)).astype(np.float64) / 255


def test_class_signatures(release):
    partial = {}
    for f in release.foregrounds:
        a = _alpha(release, f["name"])
        partial[f["name"]] = ((a > 0) & (a < 1)).sum() / (a > 0).sum()
    # a sharp object is opaque except for a one-pixel antialiased rim
    assert partial["sharp-gear.png"] < 0.06
    # smoke, plastic and glass are mostly semi-transparent; hair, net and web mostly thin strands
    for name in ("smoke-plume.png", "plastic-bag.png", "glass-bottle.png"):
        assert partial[name] > 0.5, name
    for name in ("hair-strands.png", "racket-net.png", "spider-web.png"):
        assert partial[name] > 0.3, name
    # the RGBA foreground carries its matte in the alpha channel, like the Adobe RGBA fgs
    rgba = np.asarray(Image.open(_test_set(release) / "Adobe-licensed images" / "fg" / "glass-bottle.png"))
    assert rgba.shape[2] == 4
    np.testing.assert_array_equal(rgba[..., 3], np.rint(_alpha(release, "glass-bottle.png") * 255))


def _tree_digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_deterministic(tmp_path):
    a = sample.make_sample_release(tmp_path / "a", size=96, bgs_per_fg=2, train_bgs_per_fg=3)
    b = sample.make_sample_release(tmp_path / "b", size=96, bgs_per_fg=2, train_bgs_per_fg=3)
    da, db = _tree_digest(a.root), _tree_digest(b.root)
    # test: fgs, alphas, trimaps, bgs, three lists/tables; training: fgs, alphas, bgs, three
    # lists/tables; sample.json
    assert len(da) == (10 * 2 + 20 + 20 + 3) + (4 * 2 + 12 + 3) + 1
    assert da == db
    # rerunning into the same folder rewrites nothing and changes nothing
    again = sample.make_sample_release(tmp_path / "a", size=96, bgs_per_fg=2, train_bgs_per_fg=3)
    assert _tree_digest(again.root) == da
    assert sample.read_sample_release(tmp_path / "a") == again
    assert sample.sample_is_complete(tmp_path / "a", size=96, bgs_per_fg=2, train_bgs_per_fg=3)
    assert not sample.sample_is_complete(tmp_path / "a", size=96, bgs_per_fg=3, train_bgs_per_fg=3)
    assert not sample.sample_is_complete(tmp_path / "a", size=96, bgs_per_fg=2, train_bgs_per_fg=2)


def test_official_trimaps(release, tmp_path):
    from matbench.build import build_comp1k
    from matbench.trimap import erode_dilate

    tdir = release.test_set / "Adobe-licensed images" / "trimaps"
    out = build_comp1k(release.adobe_root, release.voc_root, tmp_path / "out", trimaps="official", progress=False)
    assert out["trimaps"] == "official" and out["bgs_per_fg"] == N  # from the lists
    for f in release.foregrounds:
        alpha = np.asarray(Image.open(_test_set(release) / "Adobe-licensed images" / "alpha" / f["name"]))
        for k in range(N):
            name = f"{f['name'][:-4]}_{k}.png"
            assert (tmp_path / "out" / "trimaps" / name).read_bytes() == (tdir / name).read_bytes()  # copied
            tri = np.asarray(Image.open(tdir / name))
            np.testing.assert_array_equal(tri, erode_dilate(alpha))
            # 0 where α == 0 and 255 where α == 255, away from the band: a trimap of this alpha
            assert set(np.unique(tri)) <= {0, 128, 255}
            assert (alpha[tri == 0] == 0).all() and (alpha[tri == 255] == 255).all()


def test_without_official_trimaps(tmp_path):
    rel = sample.make_sample_release(tmp_path / "r", size=96, bgs_per_fg=1, train_bgs_per_fg=1,
                                     official_trimaps=False)
    assert not (rel.test_set / "Adobe-licensed images" / "trimaps").exists()
    assert not sample.sample_is_complete(tmp_path / "r", size=96, bgs_per_fg=1, train_bgs_per_fg=1)
    assert sample.sample_is_complete(tmp_path / "r", size=96, bgs_per_fg=1, train_bgs_per_fg=1,
                                     official_trimaps=False)


# ------------------------------------------------------------------ the training set

def test_training_set_is_laid_out_like_the_release(release):
    tr = release.training_set
    assert tr == release.adobe_root / "Combined_Dataset" / "Training_set"
    fg_text = (tr / "training_fg_names.txt").read_bytes()
    bg_text = (tr / "training_bg_names.txt").read_bytes()
    for text in (fg_text, bg_text):
        assert b"\r" not in text and not text.endswith(b"\n") and b"\n\n" not in text
    fgs, bgs = fg_text.decode().split("\n"), bg_text.decode().split("\n")
    # sorted case-insensitively across both folders, as the real list (not a plain sort)
    assert fgs == sorted(fgs, key=str.lower) != sorted(fgs)
    folders = {}
    for name in fgs:
        (folder,) = [f for f in ("Adobe-licensed images", "Other") if (tr / f / "fg" / name).is_file()]
        folders[name] = folder
        with Image.open(tr / folder / "fg" / name) as fg, Image.open(tr / folder / "alpha" / name) as alpha:
            assert fg.format == alpha.format == "JPEG" and name.endswith(".jpg")
            assert fg.mode == "RGB" and alpha.mode == "L" and fg.size == alpha.size
    assert set(folders.values()) == {"Adobe-licensed images", "Other"}
    assert [folders[n] for n in fgs] != sorted(folders[n] for n in fgs)  # the folders interleave
    assert len(bgs) == len(fgs) * release.train_bgs_per_fg and len(set(bgs)) == len(bgs)
    ids = []
    for name in bgs:  # COCO 2014 names: COCO_train2014_ + 12-digit id
        assert name.startswith("COCO_train2014_") and name.endswith(".jpg") and len(name) == 31
        ids.append(int(name[15:27]))
        with Image.open(release.coco_root / name) as im:
            assert im.format == "JPEG"
    assert ids == sorted(ids)
    with open(tr / "classes.csv", newline="") as f:
        assert [r["fg"] for r in csv.DictReader(f)] == fgs
    test_fgs = (_test_set(release) / "test_fg_names.txt").read_text().split("\n")
    assert not {n[:-4] for n in fgs} & {n[:-4] for n in test_fgs}  # disjoint splits


def test_build_train_satisfies_the_compositing_equation(release, tmp_path):
    """build-train on the sample with the lists' own N; each composite equals the recipe
    computed independently from the release's files (the decoded JPEG alpha)."""
    from matbench.build import build_train
    from matbench.manifest import read_manifest

    r = build_train(release.adobe_root, release.coco_root, tmp_path / "train", jobs=2, progress=False)
    tr = release.training_set
    fgs = (tr / "training_fg_names.txt").read_text().split("\n")
    bgs = (tr / "training_bg_names.txt").read_text().split("\n")
    n = release.train_bgs_per_fg
    assert r["bgs_per_fg"] == n and r["composites"] == len(fgs) * n
    rows = read_manifest(tmp_path / "train")
    assert [(row["fg"], int(row["k"]), row["bg"]) for row in rows] == [
        (name, k, bgs[i * n + k]) for i, name in enumerate(fgs) for k in range(n)]
    for row in rows[::3]:
        folder = row["fg_folder"]
        ref, *_ = _reference_composite(tr / folder / "fg" / row["fg"], tr / folder / "alpha" / row["fg"],
                                       release.coco_root / row["bg"])
        merged = np.asarray(Image.open(tmp_path / "train" / row["merged"]).convert("RGB"))
        np.testing.assert_array_equal(merged, ref, err_msg=row["image"])


def test_bad_arguments(tmp_path):
    from matbench.errors import MatbenchError

    with pytest.raises(MatbenchError, match="size"):
        sample.make_sample_release(tmp_path / "x", size=10)
    with pytest.raises(MatbenchError, match="bgs per fg"):
        sample.make_sample_release(tmp_path / "x", bgs_per_fg=0)
    with pytest.raises(MatbenchError, match="bgs per fg"):
        sample.make_sample_release(tmp_path / "x", train_bgs_per_fg=0)
    with pytest.raises(MatbenchError, match="no sample release here"):
        sample.read_sample_release(tmp_path / "x")
