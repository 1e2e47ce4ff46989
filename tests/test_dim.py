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


@pytest.mark.parametrize("stage", [1, 3])
@pytest.mark.parametrize("case", CASES)
def test_matches_reference_predictions(golden, models, stage, case):
    image = read_rgb8(golden / "dim" / "cases" / case / "merged.png")
    trimap = read_matte(golden / "dim" / "cases" / case / "trimap.png")
    alpha = dim.predict_alpha(models[stage], image, trimap)
    expected = np.load(golden / "dim" / "expected" / f"stage{stage}_5" / f"{case}.npy")
    assert alpha.dtype == np.float32 and alpha.shape == expected.shape
    np.testing.assert_allclose(alpha, expected, rtol=0, atol=3e-6)
    png = read_matte(golden / "dim" / "expected" / f"stage{stage}_5" / f"{case}.png")
    np.testing.assert_array_equal(dim.alpha_to_uint8(alpha), png)


def test_cli_writes_reference_pngs_and_resumes(golden, weights, tmp_path):
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
        np.testing.assert_array_equal(read_matte(out / f"{case}.png"),
                                      read_matte(golden / "dim" / "expected" / "stage3_5" / f"{case}.png"))
    record = json.loads((out / "run.json").read_text())
    assert record["method"] == "dim" and record["complete"] is True
    assert record["options"]["stage"] == 3
    assert record["checkpoint_sha256"] == dim_sha256(weights[3])
    assert record["versions"]["torch"] == torch.__version__
    first = (out / f"{CASES[0]}.png").read_bytes()
    (out / f"{CASES[1]}.png").unlink()
    main(args)  # resume: only the missing prediction is made
    assert json.loads((out / "run.json").read_text())["predicted_this_run"] == 1
    assert (out / f"{CASES[0]}.png").read_bytes() == first
    np.testing.assert_array_equal(read_matte(out / f"{CASES[1]}.png"),
                                  read_matte(golden / "dim" / "expected" / "stage3_5" / f"{CASES[1]}.png"))


def dim_sha256(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bare_state_dict_and_stage_from_checkpoint(golden, weights, tmp_path):
    sd = torch.load(weights[3], map_location="cpu", weights_only=True)["state_dict"]
    bare = tmp_path / "bare.pth"
    torch.save(sd, bare)
    model = dim.load_dim(bare)  # stage inferred: refiner keys present
    assert model.stage == 3
    case = "h61w93"
    image = read_rgb8(golden / "dim" / "cases" / case / "merged.png")
    trimap = read_matte(golden / "dim" / "cases" / case / "trimap.png")
    np.testing.assert_array_equal(dim.alpha_to_uint8(dim.predict_alpha(model, image, trimap)),
                                  read_matte(golden / "dim" / "expected" / "stage3_5" / f"{case}.png"))


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
    whole = dim.predict_alpha(models[3], image, trimap)
    monkeypatch.setattr(dim, "COLUMN_BYTES", 1 << 16)  # every convolution in strips of a few rows
    np.testing.assert_array_equal(dim.predict_alpha(models[3], image, trimap), whole)
