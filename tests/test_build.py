"""Dataset building: golden composites, layouts, safety checks, resume, verify, CLI."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from matbench.build import build_comp1k, build_train, verify
from matbench.compose import blend, load_alpha
from matbench.datasets.adobe import load_split, read_name_list
from matbench.errors import MatbenchError
from matbench.manifest import read_manifest


def decoded_sha(path):
    im = Image.open(path)
    assert im.mode == "RGB"
    return hashlib.sha256(np.asarray(im).tobytes()).hexdigest(), np.asarray(im).shape


def expected(golden, split):
    rows = {}
    for line in (golden / "composition" / f"expected_{split}" / "pixels.sha256").read_text().splitlines():
        sha, shape, name = line.split()
        h, w = map(int, shape.split("x"))
        rows[name] = (sha, (h, w, 3))
    return rows


def tree(folder):
    """{relative path: bytes} of every file under folder."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def listing(folder):
    return sorted((str(p), p.stat().st_mtime_ns) for p in Path(folder).rglob("*"))


@pytest.fixture(scope="module")
def gin(golden):
    return golden / "composition" / "input"


@pytest.fixture(scope="module")
def built_test(gin, tmp_path_factory):
    out = tmp_path_factory.mktemp("comp") / "test"
    build_comp1k(gin / "adobe", gin / "voc", out, bgs_per_fg=4, trimaps="generate", progress=False)
    return out


@pytest.fixture(scope="module")
def built_train(gin, tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "train"
    build_train(gin / "adobe" / "Combined_Dataset", gin / "coco" / "train2014", out, bgs_per_fg=5,
                progress=False)
    return out


# ------------------------------------------------------------------ golden composites

@pytest.mark.parametrize("split", ["test", "train"])
def test_golden_pixels(split, golden, built_test, built_train):
    out = built_test if split == "test" else built_train
    exp = expected(golden, split)
    got = sorted(p.name for p in (out / "merged").iterdir())
    assert got == sorted(exp)
    for name, (sha, shape) in exp.items():
        assert decoded_sha(out / "merged" / name) == (sha, shape), name
    # The manifest records the same hashes.
    for row in read_manifest(out):
        assert row["sha256"] == exp[row["image"] + ".png"][0]


def test_reference_loop_blend():
    """blend() against a literal rendering of the script's per-pixel loop (Python floats)."""
    rng = np.random.default_rng(1)
    h, w = 24, 40
    fg = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    alpha = np.arange(h * w, dtype=np.int64).reshape(h, w).astype(np.uint8)  # every value 0..255
    ref = np.empty_like(bg)
    for y in range(h):
        for x in range(w):
            a = int(alpha[y, x]) / 255
            for c in range(3):
                if a >= 1:
                    ref[y, x, c] = int(fg[y, x, c])
                elif a > 0:
                    ref[y, x, c] = int(a * int(fg[y, x, c]) + (1 - a) * int(bg[y, x, c]))
                else:
                    ref[y, x, c] = int(bg[y, x, c])
    np.testing.assert_array_equal(blend(fg, bg, alpha), ref)


def test_blend_exhaustive():
    """Every (A, F, B) triple: blend() equals the script's float64 formula int(a·F + (1 − a)·B)."""
    combos = np.arange(65536 + 2)  # 65,536 (F, B) pairs, padded to a multiple of 3
    f = (combos // 256 % 256).astype(np.uint8).reshape(-1, 3)
    b = (combos % 256).astype(np.uint8).reshape(-1, 3)
    fg = np.broadcast_to(f, (256,) + f.shape)
    bg = np.broadcast_to(b, (256,) + b.shape)
    alpha = np.repeat(np.arange(256, dtype=np.uint8)[:, None], f.shape[0], axis=1)
    a = alpha[..., None].astype(np.float64) / 255
    ref = (a * fg.astype(np.float64) + (1 - a) * bg.astype(np.float64)).astype(np.uint8)
    np.testing.assert_array_equal(blend(np.ascontiguousarray(fg), np.ascontiguousarray(bg), alpha), ref)


def test_layout_and_lists(built_test, built_train):
    rows = read_manifest(built_test)
    assert len(rows) == 12
    r = rows[0]
    assert (r["split"], r["image"], r["fg"], r["fg_folder"], r["k"]) == (
        "test", "test_fg_00_797080_0", "test_fg_00_797080.png", "Adobe-licensed images", "0")
    assert r["bg"] == "2007_000000.jpg" and r["bg_width"] == "149" and r["bg_height"] == "287"
    assert (r["width"], r["height"]) == ("77", "73")
    assert float(r["ratio"]) == max(77 / 149, 73 / 287)
    for row in read_manifest(built_train):
        assert row["bg_path"] == f"bg/{row['image']}.png"
        assert row["trimap"] == ""
    other = [r for r in read_manifest(built_train) if r["fg"] == "00069513_train.jpg"]
    assert {r["fg_folder"] for r in other} == {"Other"}
    for out, name, keys in ((built_test, "test_list.json", {"alpha_path", "fg_path", "merged_path", "trimap_path"}),
                            (built_train, "training_list.json", {"alpha_path", "fg_path", "bg_path", "merged_path"})):
        items = json.loads((out / name).read_text())
        assert len(items) == len(read_manifest(out))
        for it in items:
            assert set(it) == keys
            for p in it.values():
                assert (out / p).is_file() and not Path(p).is_absolute()
    # alpha / fg / bg / trimap are 8-bit PNGs of the composite's size
    for row in read_manifest(built_train)[:5]:
        shape = (int(row["height"]), int(row["width"]))
        assert Image.open(built_train / row["alpha"]).mode == "L"
        assert Image.open(built_train / row["fg_path"]).mode == "RGB"
        assert np.asarray(Image.open(built_train / row["bg_path"])).shape == shape + (3,)
    t = np.asarray(Image.open(built_test / rows[0]["trimap"]))
    assert t.shape == (73, 77) and set(np.unique(t)) <= {0, 128, 255}
    ds = json.loads((built_test / "dataset.json").read_text())
    assert ds["bgs_per_fg"] == 4 and ds["composites"] == 12


def test_bg_order_follows_lists(gin, built_train):
    fgs = read_name_list(gin / "adobe/Combined_Dataset/Training_set/training_fg_names.txt")
    bgs = read_name_list(gin / "adobe/Combined_Dataset/Training_set/training_bg_names.txt")
    for row in read_manifest(built_train):
        assert row["bg"] == bgs[fgs.index(row["fg"]) * 5 + int(row["k"])]


def test_jobs_identical_and_resume(gin, built_train, tmp_path):
    out = tmp_path / "train"
    build_train(gin / "adobe", gin / "coco", out, bgs_per_fg=5, jobs=2, progress=False)
    assert tree(out) == tree(built_train)
    # Interrupted state: missing composites, a missing per-fg file, stray temp files, no manifest.
    (out / "merged" / "26503160_train_3.png").unlink()
    (out / "bg" / "00069513_train_1.png").unlink()
    (out / "alpha" / "68332821_train.png").unlink()
    (out / "manifest.csv").unlink()
    (out / "merged" / ".26503160_train_4.png.abc123.tmp").write_bytes(b"partial")
    build_train(gin / "adobe", gin / "coco", out, bgs_per_fg=5, jobs=1, progress=False)
    assert tree(out) == tree(built_train)
    r = verify(out)  # 15 composites, 15 backgrounds, 3 alphas, 3 foregrounds
    assert r["ok"] and r["files"] == 36


SCRIPT = """
import sys
from matbench.build import build_comp1k
build_comp1k(sys.argv[1], sys.argv[2], sys.argv[3], bgs_per_fg=8, trimaps="generate", progress=False)
"""


def test_kill_9_then_resume(tmp_path):
    """A real SIGKILL in the middle of a build, then a rerun, equals an uninterrupted build."""
    rel, voc = make_release(tmp_path / "src", n_fg=4, bgs_per_fg=8, size=(600, 400))
    ref = tmp_path / "ref"
    build_comp1k(rel, voc, ref, bgs_per_fg=8, trimaps="generate", progress=False)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(rel), str(voc), str(out)])
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if (out / "merged").is_dir() and len(os.listdir(out / "merged")) >= 4:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "build finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert 0 < len(os.listdir(out / "merged")) < 32
    build_comp1k(rel, voc, out, bgs_per_fg=8, trimaps="generate", progress=False)
    assert tree(out) == tree(ref)


# ------------------------------------------------------------------ layouts

def _link_tree(src, dst, rename=None):
    for p in src.rglob("*"):
        if p.is_file():
            rel = p.relative_to(src)
            q = dst / rel.parent / (rename(p.name) if rename else p.name)
            q.parent.mkdir(parents=True, exist_ok=True)
            q.symlink_to(p)


@pytest.mark.parametrize("voc_sub", ["", "VOCdevkit", "VOCdevkit/VOC2012", "VOCdevkit/VOC2012/JPEGImages"])
def test_voc_roots(gin, voc_sub):
    split = load_split(gin / "adobe", "test", gin / "voc" / voc_sub, 4)
    assert split.bg_dir.name == "JPEGImages"
    assert all(p.is_file() for p in split.bg_paths)


def test_coco_2017_names(golden, gin, built_train, tmp_path):
    coco = tmp_path / "coco2017" / "train2017"
    _link_tree(gin / "coco" / "train2014", coco, rename=lambda n: n.replace("COCO_train2014_", ""))
    out = tmp_path / "out"
    build_train(gin / "adobe" / "Combined_Dataset", coco.parent, out, bgs_per_fg=5, write_bg=False, progress=False)
    exp = expected(golden, "train")
    for name, (sha, shape) in exp.items():
        assert decoded_sha(out / "merged" / name) == (sha, shape)
    rows = read_manifest(out)
    assert rows[0]["bg"].startswith("COCO_train2014_")  # the listed name
    assert all(r["bg_path"] == "" for r in rows) and not (out / "bg").exists()
    assert all("bg_path" not in it for it in json.loads((out / "training_list.json").read_text()))


def test_split_counts_with_real_lists(adobe_lists, tmp_path):
    """The real lists parse: 431 × 100 = 43,100 and 50 × 20 = 1,000; with no images present,
    the missing files are reported in one message (capped per folder, with the count), quickly."""
    for kind, split_dir, names, n, n_fg in (("train", "Training_set", "training", 100, 431),
                                            ("test", "Test_set", "test", 20, 50)):
        root = tmp_path / kind / "Combined_Dataset" / split_dir
        root.mkdir(parents=True)
        for which in ("fg", "bg"):
            (root / f"{names}_{which}_names.txt").symlink_to(adobe_lists / f"{names}_{which}_names.txt")
        bgs = tmp_path / f"{kind}_bgs"
        bgs.mkdir()
        t0 = time.perf_counter()
        with pytest.raises(MatbenchError) as e:
            load_split(tmp_path / kind, kind, bgs, n)
        assert time.perf_counter() - t0 < 10
        msg = str(e.value)
        assert "\n" not in msg
        fg_names = read_name_list(adobe_lists / f"{names}_fg_names.txt")
        bg_names = read_name_list(adobe_lists / f"{names}_bg_names.txt")
        assert len(fg_names) == n_fg and len(bg_names) == n_fg * n
        assert msg.startswith(f"{2 * n_fg + len(bg_names):d} listed files missing")
        # every folder's first ten names, then the count of the rest (not 43,100 names on one line)
        for name in fg_names[:10] + bg_names[:10]:
            assert name in msg
        assert bg_names[10] not in msg and f"… ({len(bg_names) - 10} more)" in msg
        # without --bgs-per-fg, N is the lists' ratio (20 and 100): only the files are missing
        with pytest.raises(MatbenchError, match=f"^{2 * n_fg + len(bg_names):d} listed files missing"):
            load_split(tmp_path / kind, kind, bgs)
        # wrong count is caught before the file checks
        with pytest.raises(MatbenchError, match=rf"expected {n_fg} foregrounds × {n + 1} per foreground"):
            load_split(tmp_path / kind, kind, bgs, n + 1)


# ------------------------------------------------------------------ safety

def make_release(root, *, n_fg=2, bgs_per_fg=2, size=(60, 40), classes=None, trimaps=False, alpha_size=None):
    """A small synthetic Test_set release + VOC folder; returns (adobe_root, voc_root)."""
    rng = np.random.default_rng(0)
    split = root / "adobe" / "Combined_Dataset" / "Test_set"
    fgd, ad = split / "Adobe-licensed images" / "fg", split / "Adobe-licensed images" / "alpha"
    voc = root / "voc" / "JPEGImages"
    for d in (fgd, ad, voc):
        d.mkdir(parents=True)
    w, h = size
    fgs, bgs = [], []
    for i in range(n_fg):
        name = f"fg{i}.png"
        fgs.append(name)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(fgd / name)
        yy, xx = np.mgrid[:h, :w]
        a = np.clip((xx - w / 3) * 255 / (w / 3), 0, 255).astype(np.uint8)
        if alpha_size:
            a = np.zeros(alpha_size[::-1], np.uint8)
        Image.fromarray(a).save(ad / name)
        for k in range(bgs_per_fg):
            bname = f"2008_{i:03d}{k:03d}.jpg"
            bgs.append(bname)
            bw, bh = (w // 2 + 7 * k, h // 2 + 3) if k % 2 else (w + 50, h + 20)
            Image.fromarray(rng.integers(0, 256, (bh, bw, 3), dtype=np.uint8)).save(voc / bname, quality=90)
            if trimaps:
                t = split / "Adobe-licensed images" / "trimaps"
                t.mkdir(exist_ok=True)
                Image.fromarray(np.full((h, w), 128, np.uint8)).save(t / f"fg{i}_{k}.png")
    (split / "test_fg_names.txt").write_text("\n".join(fgs))
    (split / "test_bg_names.txt").write_text("\n".join(bgs))
    if classes:
        (split / "classes.csv").write_text("fg,class\n" + "".join(f"{f},{c}\n" for f, c in zip(fgs, classes)))
    return root / "adobe", root / "voc"


def test_classes_official_trimaps_and_sources_untouched(tmp_path):
    adobe, voc = make_release(tmp_path / "src", classes=["hair", "solid"], trimaps=True)
    before = listing(tmp_path / "src")
    out = tmp_path / "out"
    r = build_comp1k(adobe, voc, out, bgs_per_fg=2, progress=False)
    assert r["trimaps"] == "official"
    rows = read_manifest(out)
    assert [row["class"] for row in rows] == ["hair", "hair", "solid", "solid"]
    off = adobe / "Combined_Dataset/Test_set/Adobe-licensed images/trimaps/fg1_1.png"
    # the official trimap's values, as an 8-bit gray PNG (decoded pixels are what count)
    assert Image.open(out / "trimaps" / "fg1_1.png").mode == "L"
    np.testing.assert_array_equal(np.asarray(Image.open(out / "trimaps" / "fg1_1.png")), np.asarray(Image.open(off)))
    assert listing(tmp_path / "src") == before
    # generated on request
    out2 = tmp_path / "out2"
    assert build_comp1k(adobe, voc, out2, bgs_per_fg=2, trimaps="generate", progress=False)["trimaps"].startswith(
        "generated")
    t = np.asarray(Image.open(out2 / "trimaps" / "fg0_0.png"))
    assert set(np.unique(t)) == {0, 128, 255}
    # a different build into the same folder is refused
    with pytest.raises(MatbenchError, match="different build"):
        build_comp1k(adobe, voc, out2, bgs_per_fg=2, trimaps="official", progress=False)


def test_bgs_per_fg_comes_from_the_lists_or_must_agree_with_them(tmp_path):
    """N defaults to len(bg list) / len(fg list); a count that does not work out, or an
    explicit N the lists contradict, is one line that names --bgs-per-fg."""
    adobe, voc = make_release(tmp_path / "src", n_fg=2, bgs_per_fg=3)
    r = build_comp1k(adobe, voc, tmp_path / "o", trimaps="generate", progress=False)
    assert (r["composites"], r["foregrounds"], r["bgs_per_fg"]) == (6, 2, 3)
    assert json.loads((tmp_path / "o" / "dataset.json").read_text())["bgs_per_fg"] == 3
    bg_list = adobe / "Combined_Dataset/Test_set/test_bg_names.txt"
    with pytest.raises(MatbenchError, match=r"--bgs-per-fg 2; omit --bgs-per-fg to use the lists' 3 per foreground"):
        build_comp1k(adobe, voc, tmp_path / "o2", bgs_per_fg=2, trimaps="generate", progress=False)
    bg_list.write_text(bg_list.read_text() + "\n2008_000000.jpg")  # 7 backgrounds for 2 foregrounds
    p = run_cli("build-comp1k", "--adobe-root", adobe, "--voc-root", voc, "--out", tmp_path / "o2",
                "--trimaps", "generate", "-q")
    assert p.returncode == 2 and p.stderr.count("\n") == 1
    assert f"{bg_list}: 7 backgrounds" in p.stderr and "not a whole number" in p.stderr
    assert "--bgs-per-fg" in p.stderr
    p = run_cli("build-comp1k", "--adobe-root", adobe, "--voc-root", voc, "--out", tmp_path / "o2",
                "--trimaps", "generate", "--bgs-per-fg", "3", "-q")
    assert p.returncode == 2 and "--bgs-per-fg 3" in p.stderr and "no whole number" in p.stderr
    assert not (tmp_path / "o2").exists()


def test_bad_names_rejected(tmp_path):
    for bad, pattern in (("/etc/passwd", "absolute"), ("../escape.png", "climbs out"), ("a/../../b.png", "climbs out"),
                         ("C:\\x\\y.png", "absolute")):
        adobe, voc = make_release(tmp_path / bad.replace("/", "_").replace("\\", "_").replace(":", ""))
        lst = adobe / "Combined_Dataset/Test_set/test_fg_names.txt"
        lst.write_text(bad + "\nfg1.png")
        with pytest.raises(MatbenchError, match=pattern) as e:
            build_comp1k(adobe, voc, tmp_path / "o", bgs_per_fg=2, progress=False)
        assert "line 1" in str(e.value) and str(lst) in str(e.value)
    assert not (tmp_path / "o").exists()


def test_list_line_endings_and_duplicates(tmp_path):
    adobe, voc = make_release(tmp_path / "src")
    split = adobe / "Combined_Dataset/Test_set"
    lst = split / "test_bg_names.txt"
    lst.write_bytes(lst.read_bytes().replace(b"\n", b"\r\n") + b"\r\n")  # CRLF and a final newline
    assert load_split(adobe, "test", voc, 2).bg_names == read_name_list(lst) == [
        "2008_000000.jpg", "2008_000001.jpg", "2008_001000.jpg", "2008_001001.jpg"]
    (split / "test_fg_names.txt").write_text("fg0.png\nfg0.png")
    with pytest.raises(MatbenchError, match="line 2: 'fg0.png' repeats line 1"):
        load_split(adobe, "test", voc, 2)


def test_missing_files_all_reported(tmp_path):
    adobe, voc = make_release(tmp_path / "src", n_fg=3)
    (adobe / "Combined_Dataset/Test_set/Adobe-licensed images/alpha/fg0.png").unlink()
    (adobe / "Combined_Dataset/Test_set/Adobe-licensed images/fg/fg2.png").unlink()
    (voc / "JPEGImages/2008_001000.jpg").unlink()
    (voc / "JPEGImages/2008_002001.jpg").unlink()
    with pytest.raises(MatbenchError) as e:
        build_comp1k(adobe, voc, tmp_path / "o", bgs_per_fg=2, progress=False)
    msg = str(e.value)
    assert msg.startswith("4 listed files missing")
    for name in ("alpha: fg0.png", "fg: fg2.png", "2008_001000.jpg", "2008_002001.jpg"):
        assert name in msg
    assert not (tmp_path / "o").exists()


def test_out_inside_sources_refused(tmp_path):
    adobe, voc = make_release(tmp_path / "src")
    before = listing(tmp_path / "src")
    for out in (adobe / "built", adobe / "Combined_Dataset" / "Test_set" / "x", voc / "out", voc / "JPEGImages"):
        with pytest.raises(MatbenchError, match="inside the source folder"):
            build_comp1k(adobe, voc, out, bgs_per_fg=2, trimaps="generate", progress=False)
    assert listing(tmp_path / "src") == before


def test_alpha_size_mismatch(tmp_path):
    adobe, voc = make_release(tmp_path / "src", alpha_size=(61, 40))
    with pytest.raises(MatbenchError, match=r"alpha.fg0\.png: test alpha is 61×40 but foreground fg0\.png is 60×40"):
        build_comp1k(adobe, voc, tmp_path / "o", bgs_per_fg=2, trimaps="generate", progress=False)


def test_unreadable_background_parallel(tmp_path):
    adobe, voc = make_release(tmp_path / "src", n_fg=3)
    bad = voc / "JPEGImages" / "2008_001001.jpg"
    bad.write_bytes(bad.read_bytes()[:300])
    p = run_cli("build-comp1k", "--adobe-root", adobe, "--voc-root", voc, "--out", tmp_path / "o",
                "--bgs-per-fg", "2", "--jobs", "2", "--trimaps", "generate", "-q")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.startswith(f"matbench: error: {bad}: ") and p.stderr.count("\n") == 1
    assert "rerun the same command to resume" in p.stderr
    assert not (tmp_path / "o" / "manifest.csv").exists()  # an incomplete build has no manifest


def test_alpha_modes(tmp_path):
    """Alphas are read by the one matte rule: what the script reads where that is unambiguous."""
    a = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(np.dstack([a, a, a])).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(load_alpha(tmp_path / "rgb.png"), a)
    pal = Image.fromarray(a, "P")
    pal.putpalette([v for i in range(256) for v in (i, i, i)])
    pal.save(tmp_path / "p.png")
    np.testing.assert_array_equal(load_alpha(tmp_path / "p.png"), a)  # the indices, as the script reads them
    # unequal channels: the numpy form of the script would blend each channel with its own
    # alpha, the loop form fails; refused unless a channel is chosen
    rgb = np.dstack([a, a, a[::-1]])
    Image.fromarray(rgb).save(tmp_path / "rgb3.png")
    with pytest.raises(MatbenchError, match=r"rgb3\.png: RGB image whose colour channels differ.*--matte-channel"):
        load_alpha(tmp_path / "rgb3.png")
    np.testing.assert_array_equal(load_alpha(tmp_path / "rgb3.png", "red"), a)
    # blend() still takes one alpha per channel: the numpy form of the script
    rng = np.random.default_rng(2)
    fg = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    al = rgb / 255
    ref = (al * fg + (1 - al) * bg).astype(np.uint8)
    np.testing.assert_array_equal(blend(fg, bg, rgb), ref)
    Image.fromarray(a.astype(np.uint16) * 257).save(tmp_path / "a16.png")
    with pytest.raises(MatbenchError, match=r"a16\.png: PNG I;16 has 16-bit samples"):
        load_alpha(tmp_path / "a16.png")


def test_verify_reports(built_test, tmp_path):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(built_test, out)
    assert verify(out)["ok"]
    changed = out / "merged" / "test_fg_01_235456_2.png"
    px = np.asarray(Image.open(changed)).copy()
    px[0, 0, 0] ^= 1
    Image.fromarray(px).save(changed)
    (out / "merged" / "test_fg_02_192827_0.png").unlink()
    (out / "trimaps" / "test_fg_00_797080_3.png").unlink()
    # every other file the manifest lists is checked by its pixels too: one flipped value each
    for rel in ("alpha/test_fg_00_797080.png", "fg/test_fg_02_192827.png", "trimaps/test_fg_01_235456_1.png"):
        px = np.asarray(Image.open(out / rel)).copy()
        px.flat[5] ^= 1
        Image.fromarray(px).save(out / rel)
    # re-saved with other bytes but the same pixels (RGB with equal channels for a matte): unchanged
    px = np.asarray(Image.open(out / "alpha/test_fg_01_235456.png"))
    Image.fromarray(np.dstack([px] * 3)).save(out / "alpha/test_fg_01_235456.png", compress_level=9)
    r = verify(out, jobs=1)
    assert not r["ok"] and r["checked"] == 12 and r["files"] == 30
    assert sorted(r["changed"]) == ["alpha/test_fg_00_797080.png", "fg/test_fg_02_192827.png",
                                    "merged/test_fg_01_235456_2.png", "trimaps/test_fg_01_235456_1.png"]
    assert sorted(r["missing"]) == ["merged/test_fg_02_192827_0.png", "trimaps/test_fg_00_797080_3.png"]


# ------------------------------------------------------------------ CLI

def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "matbench.cli", *map(str, args)], capture_output=True, text=True)


def test_cli_build_and_errors(gin, golden, tmp_path):
    out = tmp_path / "c"
    p = run_cli("build-comp1k", "--adobe-root", gin / "adobe", "--voc-root", gin / "voc", "--out", out,
                "--bgs-per-fg", "4", "--jobs", "2", "--trimaps", "generate", "-q")
    assert p.returncode == 0, p.stderr
    exp = expected(golden, "test")
    assert all(decoded_sha(out / "merged" / n) == v for n, v in exp.items())
    p = run_cli("verify", out, "-q")
    # 12 composites + 12 trimaps + 3 alphas + 3 foregrounds
    assert p.returncode == 0 and "30 files of 12 composites checked: 0 missing, 0 changed" in p.stdout
    (out / "merged" / "test_fg_00_797080_0.png").unlink()
    p = run_cli("verify", out, "-q")
    assert p.returncode == 1 and "missing: merged/test_fg_00_797080_0.png" in p.stdout
    p = run_cli("build-comp1k", "--adobe-root", gin / "adobe", "--voc-root", gin / "voc", "--out", tmp_path / "d",
                "--trimaps", "generate", "-q")
    assert p.returncode == 0 and p.stdout.startswith("12 composites (3 foregrounds × 4 backgrounds)")  # N from the lists
    for args in (("build-comp1k", "--adobe-root", gin / "adobe", "--voc-root", gin / "voc", "--out", tmp_path / "x",
                  "--bgs-per-fg", "20"),
                 ("build-comp1k", "--adobe-root", gin / "adobe", "--voc-root", gin / "voc", "--out", tmp_path / "x"),
                 # ^ no official trimaps in this release: names --trimaps generate
                 ("build-train", "--adobe-root", gin / "adobe", "--coco-root", gin / "coco", "--out",
                  tmp_path / "y", "--bgs-per-fg", "4"),
                 ("build-train", "--adobe-root", tmp_path / "nope", "--coco-root", gin / "coco", "--out", tmp_path / "y"),
                 ("verify", tmp_path / "empty_dataset")):
        p = run_cli(*args)
        assert p.returncode == 2, (args, p.stderr)
        assert p.stderr.startswith("matbench: error: ") and p.stderr.count("\n") == 1
        assert "Traceback" not in p.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_missing_backgrounds_message_is_capped(gin, tmp_path):
    """A wrong --voc-root misses every background: the one-line error names the first ten and
    counts the rest instead of listing all of them (43,100 names for the real training list)."""
    empty = tmp_path / "voc"
    empty.mkdir()
    with pytest.raises(MatbenchError) as e:
        build_comp1k(gin / "adobe", empty, tmp_path / "out", trimaps="generate", progress=False)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("12 listed files missing: ")
    assert msg.count(".jpg") == 10 and "… (2 more)" in msg and not (tmp_path / "out").exists()
