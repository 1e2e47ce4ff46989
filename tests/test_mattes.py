"""The one rule for reading a matte file (matbench.mattes): what is read, what is refused.

Expected values come from the rule itself (the MATLAB driver reads channel 1, and a palette
image's indices) applied by hand to arrays the tests construct, never from matbench's output.
"""
import numpy as np
import pytest
from PIL import Image

from matbench.errors import MatbenchError
from matbench.mattes import Notes, probe, raise_problems, read_matte, trimap_odd_count

RNG = np.random.default_rng(3)
MATTE = RNG.integers(0, 256, (12, 17), dtype=np.uint8)
PHOTO = RNG.integers(0, 256, (12, 17, 3), dtype=np.uint8)


def save(tmp_path, name, array, mode=None, **kw):
    path = tmp_path / name
    Image.fromarray(array, mode).save(path, **kw) if mode else Image.fromarray(array).save(path, **kw)
    return path


def test_gray_and_equal_channel_files_read_as_their_values(tmp_path):
    assert (read_matte(save(tmp_path, "l.png", MATTE)) == MATTE).all()
    rgb = np.dstack([MATTE] * 3)
    assert (read_matte(save(tmp_path, "rgb.png", rgb)) == MATTE).all()
    opaque = np.dstack([MATTE] * 3 + [np.full_like(MATTE, 255)])
    assert (read_matte(save(tmp_path, "rgba.png", opaque)) == MATTE).all()
    la = np.dstack([MATTE, np.full_like(MATTE, 255)])
    assert (read_matte(save(tmp_path, "la.png", la, "LA")) == MATTE).all()


def test_cutout_is_refused_and_read_on_request(tmp_path):
    cutout = save(tmp_path, "cut.png", np.dstack([PHOTO, MATTE]))
    with pytest.raises(MatbenchError, match=r"cut\.png: RGBA .*ambiguous.*--matte-channel"):
        read_matte(cutout)
    assert (read_matte(cutout, "alpha") == MATTE).all()
    assert (read_matte(cutout, "red") == PHOTO[..., 0]).all()   # channel 1, what MATLAB reads


def test_colour_rgb_is_refused(tmp_path):
    path = save(tmp_path, "c.png", PHOTO)
    with pytest.raises(MatbenchError, match=r"c\.png: RGB image whose colour channels differ in \d+ pixels"):
        read_matte(path)
    assert (read_matte(path, "red") == PHOTO[..., 0]).all()
    with pytest.raises(MatbenchError, match="no alpha channel"):
        read_matte(path, "alpha")


def test_gray_rgba_with_transparency_is_refused(tmp_path):
    a = np.dstack([MATTE] * 3 + [MATTE])
    with pytest.raises(MatbenchError, match=r"alpha channel is not 255 in \d+ pixels"):
        read_matte(save(tmp_path, "t.png", a))


def test_palette_gray_identity_reads_indices_other_palettes_refused(tmp_path):
    trimap = np.where(MATTE < 85, 0, np.where(MATTE < 170, 128, 255)).astype(np.uint8)
    im = Image.fromarray(trimap, "P")
    im.putpalette([v for i in range(256) for v in (i, i, i)])
    im.save(tmp_path / "gray.png")
    assert (read_matte(tmp_path / "gray.png") == trimap).all()
    # indices 0/1/2 coloured black/gray/white: a viewer shows a trimap, MATLAB reads 0/1/2
    idx = (trimap // 127).astype(np.uint8)
    im = Image.fromarray(idx, "P")
    im.putpalette([0, 0, 0, 128, 128, 128, 255, 255, 255])
    im.save(tmp_path / "coloured.png")
    with pytest.raises(MatbenchError, match=r"coloured\.png: palette image whose palette maps index 1 to colour "
                                            r"\(128, 128, 128\)"):
        read_matte(tmp_path / "coloured.png")


@pytest.mark.parametrize("kind", ["gray16", "rgb16", "bilevel"])
def test_not_8_bit_refused(tmp_path, kind):
    import cv2

    path = tmp_path / f"{kind}.png"
    if kind == "gray16":
        cv2.imwrite(str(path), MATTE.astype(np.uint16) * 257)
    elif kind == "rgb16":  # Pillow opens this as 8-bit RGB without a word
        cv2.imwrite(str(path), np.dstack([MATTE] * 3).astype(np.uint16) * 257)
    else:
        Image.fromarray(MATTE > 127).save(path)
    assert probe(path).bits == {"gray16": 16, "rgb16": 16, "bilevel": 1}[kind]
    with pytest.raises(MatbenchError, match=rf"{kind}\.png: PNG .*(16-bit samples|1-bit image)"):
        read_matte(path)


def test_jpeg_is_flagged_lossy(tmp_path):
    jpg = save(tmp_path, "a.jpg", MATTE, quality=90)
    png = save(tmp_path, "a.png", MATTE)
    assert probe(jpg).lossy and not probe(png).lossy
    notes = Notes()
    notes.file(probe(jpg), "ground-truth alpha")
    notes.trimap("t.png", trimap_odd_count(np.array([[0, 128, 255, 127, 1]], np.uint8)))
    msgs = notes.messages()
    assert any("2 pixels that are not 0/128/255" in m and "t.png" in m for m in msgs)
    assert any("1 ground-truth alpha file(s) are lossy" in m and "a.jpg" in m for m in msgs)


def test_all_problems_in_one_message():
    with pytest.raises(MatbenchError) as e:
        raise_problems([f"f{i}.png: bad" for i in range(14)])
    text = str(e.value)
    assert text.startswith("14 input problems") and "f9.png" in text and "f10.png" not in text
    assert "4 more" in text


def _png_with_chunks(png: bytes, chunks) -> bytes:
    """PNG bytes with extra chunks inserted after IHDR (CRCs computed)."""
    import struct
    import zlib

    extra = b"".join(struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d)) for t, d in chunks)
    return png[:33] + extra + png[33:]


def test_png_fast_path_gives_pillows_values(tmp_path):
    """Plain 8-bit PNGs are decoded by OpenCV (io.png_pixels) with exactly Pillow's values, whatever
    gamma/colour chunks they carry; every other file (palette, tRNS, 16-bit, truncated, a bad CRC)
    is left to Pillow, so reading keeps its meaning and its one-line errors."""
    import io as _io
    import struct

    from PIL import Image

    from matbench.io import open_image, png_pixels

    rng = np.random.default_rng(0)
    cases = {}
    for mode, shape in (("L", (37, 53)), ("RGB", (37, 53, 3)), ("RGBA", (37, 53, 4))):
        buf = _io.BytesIO()
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(buf, "PNG")
        png = buf.getvalue()
        cases[f"{mode}"] = png
        cases[f"{mode}-gamma"] = _png_with_chunks(png, [(b"gAMA", struct.pack(">I", 20000)), (b"sRGB", b"\0"),
                                                        (b"sBIT", bytes([4] * len(mode)))])
    for name, data in cases.items():
        (tmp_path / f"{name}.png").write_bytes(data)
        with open_image(tmp_path / f"{name}.png", load=False) as im:
            fast = png_pixels(im, tmp_path / f"{name}.png")
        assert fast is not None, name
        np.testing.assert_array_equal(fast, np.asarray(Image.open(_io.BytesIO(data))), err_msg=name)
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8)
    Image.fromarray(gray).save(tmp_path / "trns.png", transparency=3)
    Image.fromarray(gray).convert("P").save(tmp_path / "palette.png")
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "16bit.png")
    (tmp_path / "cut.png").write_bytes(cases["L"][:-30])
    bad = bytearray(cases["L"])
    bad[60] ^= 0xFF  # inside the image data: its CRC no longer matches
    (tmp_path / "crc.png").write_bytes(bytes(bad))
    for name in ("trns", "palette", "16bit", "cut", "crc"):
        with open_image(tmp_path / f"{name}.png", load=False) as im:
            assert png_pixels(im, tmp_path / f"{name}.png") is None, name


def test_capped_list():
    """The one helper for capped name lists in one-line messages."""
    from matbench.errors import capped_list

    assert capped_list(["a", "b", "c"], 2) == "a, b, … (1 more)"
    assert capped_list(["a", "b"], 2) == "a, b" and capped_list([]) == ""
    assert capped_list([f"n{i}" for i in range(12)], 0).count(",") == 11  # 0: all of them
    assert capped_list([f"n{i}" for i in range(12)]).endswith("n9, … (2 more)")  # default: 10


def test_readers_close_their_files(tmp_path):
    """Every reader closes the file it opened, including when OpenCV decodes the pixels of a
    plain PNG (an open file left to the garbage collector is a ResourceWarning per image)."""
    import gc
    import warnings

    from matbench.io import read_rgb8
    photos = [save(tmp_path, "rgb.png", PHOTO), save(tmp_path, "rgb.jpg", PHOTO)]
    mattes = [save(tmp_path, "l.png", MATTE), save(tmp_path, "l.jpg", MATTE),
              save(tmp_path, "rgb_matte.png", np.dstack([MATTE] * 3))]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for path in photos + mattes:
            read_rgb8(path)
            probe(path)
        for path in mattes:
            read_matte(path)
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []
