"""DIM baseline against the reference implementation's own predictions (golden/dim).

Weights: the golden generator (make_weights.py, seed 5) writes checkpoints in the published
layout into a temporary folder; expected PNGs/NPYs are mmagic's outputs for those weights.
"""
import importlib.util
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from matbench.baselines import dim  # noqa: E402
from matbench.cli import main  # noqa: E402
from matbench.errors import MatbenchError  # noqa: E402
from matbench.io import read_rgb8  # noqa: E402
from matbench.mattes import read_matte

CASES = ["h100w75", "h33w130", "h61w93", "h64w64"]


@pytest.fixture(scope="module")
def weights(golden, tmp_path_factory):
    """``{1: path, 3: path}`` of the seed-5 synthetic checkpoints, made by the golden generator."""
    spec = importlib.util.spec_from_file_location("make_weights", golden / "dim" / "make_weights.py")
    mw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mw)
    folder = tmp_path_factory.mktemp("dim_weights")
    paths = {}
    for stage in (1, 3):
        sd = mw.make_state_dict(str(golden / "dim" / f"keys_stage{stage}.tsv"), 5)
        paths[stage] = folder / f"stage{stage}_5.pth"
        torch.save({"state_dict": sd, "meta": {}}, paths[stage])
    return paths


@pytest.fixture(scope="module")
def models(weights):
    return {stage: dim.load_dim(path, stage) for stage, path in weights.items()}


def read_keys(path):
    rows = [line.rstrip("\n").split("\t") for line in open(path) if line.strip()][1:]
    return {k: tuple(json.loads(shape)) for k, shape, _ in rows}


@pytest.mark.parametrize("stage,params", [(1, 26_200_001), (3, 26_276_802)])
def test_layout_matches_published_checkpoint(golden, stage, params):
    model = dim.DIM(stage)
    assert dim.count_parameters(model) == params
    want = read_keys(golden / "dim" / f"keys_stage{stage}.tsv")
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert got == want


# The guarantee (README, "Running baselines"): the reference's values up to float noise. Float
# convolutions sum in an order that depends on the CPU (AVX2/AVX-512), the library and the thread
# count, so the network's alpha may differ from the reference's by float noise: measured up to
# 3e-4 levels (of 1/255) here, 7e-5 on an AVX-512 CPU. NOISE is ~30x that. After ×255 and
# rounding, a value may then move by one level, and only where the reference sits within NOISE of
# a rounding boundary (k + 0.5): 67.49999 vs 67.50006 gave 67 instead of 68 on that CPU.
NOISE = 0.01  # levels of 1/255


def guarantee_violations(alpha: np.ndarray, expected: np.ndarray, png: np.ndarray) -> int:
    """Pixels where a prediction breaks the guarantee: its float alpha (when ``alpha`` is float)
    more than NOISE levels from the reference's float (``expected``, before ×255), or its uint8
    value different from the reference's uint8 ``png`` other than by ±1 where the reference is
    within NOISE of a tie."""
    ref = expected.astype(np.float64) * 255
    if alpha.dtype == np.uint8:
        far = np.zeros(alpha.shape, bool)
    else:
        far = np.abs(alpha.astype(np.float64) * 255 - ref) > NOISE
        alpha = dim.alpha_to_uint8(alpha)
    diff = np.abs(alpha.astype(np.int16) - png.astype(np.int16))
    near_tie = np.abs(ref - np.floor(ref) - 0.5) <= NOISE
    return int(np.count_nonzero(far | (diff > 1) | ((diff == 1) & ~near_tie)))


def _golden_case(golden, stage, case):
    image = read_rgb8(golden / "dim" / "cases" / case / "merged.png")
    trimap = read_matte(golden / "dim" / "cases" / case / "trimap.png")
    expected = np.load(golden / "dim" / "expected" / f"stage{stage}_5" / f"{case}.npy")
    png = read_matte(golden / "dim" / "expected" / f"stage{stage}_5" / f"{case}.png")
    return image, trimap, expected, png


@pytest.mark.parametrize("fast", [True, False], ids=["onednn-default", "native"])
@pytest.mark.parametrize("stage", [1, 3])
@pytest.mark.parametrize("case", CASES)
def test_matches_reference_predictions(golden, models, stage, case, fast):
    """Both CPU paths keep the guarantee: the default (oneDNN, --fast) and --no-fast."""
    image, trimap, expected, png = _golden_case(golden, stage, case)
    alpha = dim.predict_alpha(models[stage], image, trimap, fast=fast)
    assert alpha.dtype == np.float32 and alpha.shape == expected.shape
    assert guarantee_violations(alpha, expected, png) == 0


def test_guarantee_check_allows_only_ties():
    """The check itself, on hand-made values: a one-level flip is allowed at a tie only."""
    expected = np.array([[67.50006, 67.50006, 30.2, 30.2, 100.0]], np.float64) / 255
    png = np.array([[68, 68, 30, 30, 100]], np.uint8)
    ok = np.array([[67.50006, 67.49999, 30.2, 30.2, 100.0]]) / 255    # flip at the tie: allowed
    assert guarantee_violations(ok.astype(np.float32), expected, png) == 0
    off = np.array([[67.50006, 67.49999, 30.6, 29.4, 100.02]]) / 255   # 30.6 -> 31, 29.4 -> 29, 0.02 > NOISE
    assert guarantee_violations(off.astype(np.float32), expected, png) == 3


def _bgr(image, trimap, _ni=dim.network_input):
    return _ni(image[..., ::-1], trimap)


def _unnormalised(image, trimap, _ni=dim.network_input):
    x = _ni(image, trimap)
    x[..., :3] = image / np.float32(255)  # scaled to [0, 1] but without ImageNet mean/std
    return x


def _pad(mode):
    def pad(a, multiple=32):
        h, w = a.shape[:2]
        return np.pad(a, ((0, -h % multiple), (0, -w % multiple), (0, 0)), mode=mode)
    return pad


@pytest.mark.parametrize("mistake", ["bgr", "no-normalisation", "edge-padding", "zero-padding", "no-forcing"])
def test_pipeline_mistakes_fail_the_guarantee(golden, models, monkeypatch, mistake):
    """The mistakes that matter move alphas by far more than float noise: the check catches each."""
    case = "h100w75"  # padded in both dimensions, known and unknown regions
    image, trimap, expected, png = _golden_case(golden, 1, case)
    if mistake == "bgr":
        monkeypatch.setattr(dim, "network_input", _bgr)
    elif mistake == "no-normalisation":
        monkeypatch.setattr(dim, "network_input", _unnormalised)
    elif mistake.endswith("padding"):
        monkeypatch.setattr(dim, "pad_to_multiple", _pad("edge" if mistake == "edge-padding" else "constant"))
    if mistake == "no-forcing":
        raw = dim._predict_raw(models[1], dim.network_input(image, trimap), "cpu", None, False)
        alpha = np.clip(raw, 0, 1).astype(np.float32)
    else:
        alpha = dim.predict_alpha(models[1], image, trimap)
    bad = guarantee_violations(alpha, expected, png)
    assert bad > 0.1 * trimap.size, (mistake, bad)  # measured: 30-70% of the pixels, by 100+ levels
    assert np.abs(alpha.astype(np.float64) - expected).max() * 255 > 50


def test_cli_writes_reference_pngs_and_resumes(golden, weights, tmp_path, capsys):
    images, trimaps, out = tmp_path / "img", tmp_path / "tri", tmp_path / "pred"
    images.mkdir()
    trimaps.mkdir()
    for case in CASES[:2]:
        (images / f"{case}.png").symlink_to(golden / "dim" / "cases" / case / "merged.png")
        (trimaps / f"{case}.png").symlink_to(golden / "dim" / "cases" / case / "trimap.png")
    args = ["run", "dim", "--images", str(images), "--trimaps", str(trimaps), "--out", str(out),
            "--checkpoint", str(weights[3]), "--stage", "3", "--quiet"]
    main(args)
    for case in CASES[:2]:
        _, _, expected, png = _golden_case(golden, 3, case)
        assert guarantee_violations(read_matte(out / f"{case}.png"), expected, png) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["method"] == "dim" and record["complete"] is True
    assert record["options"]["stage"] == 3
    assert record["options"]["threads"] == torch.get_num_threads()  # the effective count
    assert record["options"]["fast"] is True and record["options"]["conv_path"] == "onednn"  # the default path
    assert record["options"]["matte_channel"] is None
    assert record["checkpoint_sha256"] == dim_sha256(weights[3])
    assert record["versions"]["torch"] == torch.__version__
    assert record["jobs"] == 1 and record["one_off_seconds"] >= 0 and record["images_per_second"] > 0
    first = (out / f"{CASES[0]}.png").read_bytes()
    (out / f"{CASES[1]}.png").unlink()
    threads = torch.get_num_threads()
    try:  # another thread count is another run: refused, saying how to resume
        with pytest.raises(SystemExit) as e:
            main(args + ["--threads", str(threads + 1)])
        assert e.value.code == 2
    finally:
        torch.set_num_threads(threads)
    assert f"threads: {threads} then, {threads + 1} now" in capsys.readouterr().err
    main(args)  # resume: only the missing prediction is made
    assert json.loads((out / "run.json").read_text())["predicted_this_run"] == 1
    assert (out / f"{CASES[0]}.png").read_bytes() == first
    _, _, expected, png = _golden_case(golden, 3, CASES[1])
    assert guarantee_violations(read_matte(out / f"{CASES[1]}.png"), expected, png) == 0


def dim_sha256(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bare_state_dict_and_stage_from_checkpoint(golden, weights, tmp_path):
    sd = torch.load(weights[3], map_location="cpu", weights_only=True)["state_dict"]
    bare = tmp_path / "bare.pth"
    torch.save(sd, bare)
    model = dim.load_dim(bare)  # stage inferred: refiner keys present
    assert model.stage == 3
    image, trimap, expected, png = _golden_case(golden, 3, "h61w93")
    assert guarantee_violations(dim.predict_alpha(model, image, trimap), expected, png) == 0


def test_broken_checkpoint_lists_every_problem(weights, tmp_path):
    sd = dict(torch.load(weights[1], map_location="cpu", weights_only=True)["state_dict"])
    del sd["backbone.decoder.deconv3_1.bias"]
    sd["backbone.encoder.layer6.0.weight"] = torch.zeros(3)
    sd["backbone.encoder.layer1.0.weight"] = torch.zeros(64, 3, 3, 3)  # an RGB-only VGG
    bad = tmp_path / "bad.pth"
    torch.save({"state_dict": sd, "meta": {}}, bad)
    with pytest.raises(MatbenchError) as e:
        dim.load_dim(bad, 1)
    msg = str(e.value)
    assert "\n" not in msg and str(bad) in msg
    assert "missing keys: backbone.decoder.deconv3_1.bias" in msg
    assert "unexpected keys: backbone.encoder.layer6.0.weight" in msg
    assert "backbone.encoder.layer1.0.weight (64, 3, 3, 3) (expected (64, 4, 3, 3))" in msg


def test_stage3_from_stage1_checkpoint_names_missing_refiner(weights):
    with pytest.raises(MatbenchError, match=r"missing keys: refiner\.refine_conv1\.weight"):
        dim.load_dim(weights[1], 3)


def test_truncated_checkpoint_is_one_line(weights, tmp_path):
    cut = tmp_path / "cut.pth"
    cut.write_bytes(weights[1].read_bytes()[:100_000])
    with pytest.raises(MatbenchError) as e:
        dim.load_dim(cut)
    assert "\n" not in str(e.value) and str(cut) in str(e.value)
    with pytest.raises(MatbenchError, match="not found"):
        dim.load_dim(tmp_path / "nope.pth")


def test_cli_broken_checkpoint_exits_2(weights, tmp_path, capsys):
    cut = tmp_path / "cut.pth"
    cut.write_bytes(b"not a checkpoint")
    (tmp_path / "i").mkdir()
    (tmp_path / "t").mkdir()
    with pytest.raises(SystemExit) as e:
        main(["run", "dim", "--images", str(tmp_path / "i"), "--trimaps", str(tmp_path / "t"),
              "--out", str(tmp_path / "o"), "--checkpoint", str(cut)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("matbench: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_deterministic(models):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    trimap = np.full((40, 50), 128, np.uint8)
    trimap[:8], trimap[-8:] = 0, 255
    runs = [dim.predict_alpha(models[3], image, trimap) for _ in range(2)]
    np.testing.assert_array_equal(runs[0], runs[1])


def test_padding_reflects_like_torch_and_skips_multiples():
    import torch.nn.functional as F

    rng = np.random.default_rng(2)
    for h, w in [(33, 130), (100, 75), (61, 93), (40, 17)]:
        a = rng.standard_normal((h, w, 4)).astype(np.float32)
        ref = F.pad(torch.from_numpy(a).permute(2, 0, 1)[None], (0, -w % 32, 0, -h % 32), mode="reflect")
        np.testing.assert_array_equal(dim.pad_to_multiple(a), ref[0].permute(1, 2, 0).numpy())
    a = rng.standard_normal((64, 96, 4)).astype(np.float32)
    assert dim.pad_to_multiple(a) is a  # already a multiple of 32: untouched


def test_small_image_fallback_is_periodic_reflection():
    # 5 rows padded to 32: torch's reflect refuses pads >= the side; the fallback keeps
    # reflecting (rows 0 1 2 3 4 3 2 1 0 1 2 ...), a 1-pixel side is replicated.
    a = np.arange(5, dtype=np.float32).reshape(5, 1, 1) * np.ones((1, 1, 4), np.float32)
    a = np.concatenate([a] * 32, axis=1)
    rows = dim.pad_to_multiple(a)[:, 0, 0]
    period = [0, 1, 2, 3, 4, 3, 2, 1]
    assert rows.tolist() == [period[i % 8] for i in range(32)]
    one = np.ones((1, 1, 4), np.float32)
    assert dim.pad_to_multiple(one).shape == (32, 32, 4)


@pytest.mark.parametrize("shape", [(1, 40), (7, 9), (31, 32)])
def test_small_images_predict_with_known_regions(models, shape):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, shape + (3,), dtype=np.uint8)
    trimap = rng.choice(np.array([0, 128, 255], np.uint8), shape)
    alpha = dim.alpha_to_uint8(dim.predict_alpha(models[1], image, trimap))
    assert alpha.shape == shape
    assert (alpha[trimap == 0] == 0).all() and (alpha[trimap == 255] == 255).all()


def test_max_side_and_tile(golden, models):
    case = "h100w75"
    image = read_rgb8(golden / "dim" / "cases" / case / "merged.png")
    trimap = read_matte(golden / "dim" / "cases" / case / "trimap.png")
    full = dim.predict_alpha(models[1], image, trimap)
    # a tile covering the whole image, or max_side above the size: the exact full prediction
    np.testing.assert_array_equal(dim.predict_alpha(models[1], image, trimap, tile=128), full)
    np.testing.assert_array_equal(dim.predict_alpha(models[1], image, trimap, max_side=100), full)
    for kwargs in ({"tile": 64}, {"max_side": 64}):
        approx = dim.predict_alpha(models[1], image, trimap, **kwargs)
        assert approx.shape == full.shape
        assert (approx[trimap == 0] == 0).all() and (approx[trimap == 255] == 1).all()
        assert ((approx >= 0) & (approx <= 1)).all()


def test_out_of_memory_suggests_max_side_and_tile(models, monkeypatch):
    def boom(x):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(models[1], "forward", boom)
    trimap = np.full((32, 32), 128, np.uint8)
    with pytest.raises(MatbenchError, match=r"out of memory.*--max-side.*--tile"):
        dim.predict_alpha(models[1], np.zeros((32, 32, 3), np.uint8), trimap)


def test_strip_convolution_is_bit_identical(golden, models, monkeypatch):
    case = "h100w75"
    image = read_rgb8(golden / "dim" / "cases" / case / "merged.png")
    trimap = read_matte(golden / "dim" / "cases" / case / "trimap.png")
    whole = dim.predict_alpha(models[3], image, trimap, fast=False)  # the native path: strips apply
    monkeypatch.setattr(dim, "COLUMN_BYTES", 1 << 16)  # every convolution in strips of a few rows
    np.testing.assert_array_equal(dim.predict_alpha(models[3], image, trimap, fast=False), whole)


@pytest.mark.parametrize("content, found", [
    (b"\x89PNG\r\n\x1a\n" + bytes(40), "a PNG image"), (b"\xff\xd8\xff\xe0" + bytes(40), "a JPEG image"),
    (b"", "an empty file (0 bytes)"), (bytes(range(200)), "not a PyTorch file"),
    (None, "a PyTorch file holding a list")])
def test_not_a_checkpoint_says_what_the_file_is(tmp_path, capsys, content, found):
    """run dim --checkpoint with a file that is no DIM checkpoint: one line naming the file,
    what it is and what was expected (no torch.load text, no traceback)."""
    bad = tmp_path / "bad.pth"
    if content is None:
        torch.save([torch.zeros(2)], bad)
    else:
        bad.write_bytes(content)
    with pytest.raises(MatbenchError) as e:
        dim.load_dim(bad)
    msg = str(e.value)
    assert msg.startswith(f"{bad}: {found}") and "expected a DIM checkpoint" in msg and "\n" not in msg
    assert "weights_only" not in msg
    from matbench.io import write_png_atomic

    write_png_atomic(tmp_path / "i" / "a.png", np.zeros((8, 8, 3), np.uint8))
    write_png_atomic(tmp_path / "t" / "a.png", np.full((8, 8), 128, np.uint8))
    with pytest.raises(SystemExit):
        main(["run", "dim", "--images", str(tmp_path / "i"), "--trimaps", str(tmp_path / "t"),
              "--out", str(tmp_path / "o"), "--checkpoint", str(bad)])
    assert capsys.readouterr().err == f"matbench: error: {msg}\n"
