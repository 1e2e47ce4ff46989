"""Training DIM (matbench.training, torch): the Dataset (determinism across workers, the stream,
the online merge, the materialised set), the losses against numpy, the VGG16 mapping, and
`train dim` on the golden fake release: the loss falls, stage 2 freezes the encoder-decoder,
checkpoints run in `run dim` and score as validated, and a run killed with SIGKILL resumes to
bit-identical weights on CPU.

Sizes are tiny (32×32 samples, 2 training samples, 2 validation images) so that the file runs
in seconds; DIM's 26 M parameters make an Adam step cost ~0.1 s whatever the image size.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from matbench.baselines import dim  # noqa: E402
from matbench.baselines.runner import TORCH_MISSING  # noqa: E402
from matbench.build import build_comp1k  # noqa: E402
from matbench.cli import main  # noqa: E402
from matbench.errors import MatbenchError  # noqa: E402
from matbench.io import read_rgb8  # noqa: E402
from matbench.manifest import read_manifest, write_manifest  # noqa: E402
from matbench.mattes import read_matte  # noqa: E402
from matbench.training import losses, samples, weights  # noqa: E402
from matbench.training.dataset import (CompositeSamples, FixedSamples, StreamSampler, make_loader,  # noqa: E402
                                       network_batch, open_training_data)
from matbench.training.materialise import SAMPLE_COLUMNS, build_train_samples  # noqa: E402
from matbench.training.samples import Recipe  # noqa: E402
from matbench.training.train import train_dim  # noqa: E402

RECIPE = Recipe(crop_sizes=(32, 48, 64), out_size=32, trimap_kernels=(1, 9))
THREADS = torch.get_num_threads()
# The stage-1 run every training test shares (and the SIGKILL test repeats): full-batch steps
# on 2 samples at a learning rate high enough to move in a few iterations.
STAGE1 = dict(iterations=12, batch_size=2, lr=3e-3, seed=0, log_interval=1, checkpoint_interval=6, val_interval=6,
              threads=THREADS, progress=False)


def _subset(src, dst, n):
    """A copy of dataset ``src`` whose manifest keeps its first ``n`` rows."""
    shutil.copytree(src, dst)
    rows = read_manifest(dst)[:n]
    write_manifest(dst, rows, list(rows[0]))
    return dst


@pytest.fixture(scope="module")
def data(golden, golden_train_set, tmp_path_factory):
    root = tmp_path_factory.mktemp("training")
    build_train_samples(golden_train_set, root / "samples", per_composite=1, seed=0, recipe=RECIPE, progress=False)
    src = golden / "composition" / "input"
    build_comp1k(src / "adobe", src / "voc", root / "test", bgs_per_fg=4, trimaps="generate", progress=False)
    return {"root": root, "train": golden_train_set, "few": _subset(root / "samples", root / "few", 2),
            "val": _subset(root / "test", root / "val", 2)}


@pytest.fixture(scope="module")
def stage1(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no VGG16 here: random encoder
        result = train_dim(1, data["few"], data["root"] / "run1", val=data["val"], **STAGE1)
    return result


def _run(result):
    return Path(result["out"])


def _log(run, kind="train"):
    return [json.loads(line) for line in open(run / "log.jsonl") if json.loads(line)["kind"] == kind]


# ----------------------------------------------------------------------------- the Dataset

def _collect(dataset, keys, workers):
    return [{k: v[0] for k, v in b.items()} for b in make_loader(dataset, keys, workers=workers)]


def test_samples_do_not_depend_on_workers(data):
    ds = CompositeSamples(data["train"], seed=1, recipe=RECIPE)
    keys = list(StreamSampler(len(ds), 1, start=10, stop=40))
    a, b = _collect(ds, keys, 0), _collect(ds, keys, 2)
    assert len(a) == 30
    for x, y in zip(a, b):
        assert x.keys() == y.keys() == {"merged", "alpha", "fg", "bg", "trimap"}
        for k in x:
            assert x[k].dtype == torch.uint8 and torch.equal(x[k], y[k])
    assert a[0]["merged"].shape == (3, 32, 32) and a[0]["trimap"].shape == (1, 32, 32)


def _same(x, y):
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def _epoch(ds, epoch, workers):
    """One epoch of plain indices 0 .. n − 1 through a DataLoader, after ``set_epoch``."""
    ds.set_epoch(epoch)
    return _collect(ds, list(range(len(ds))), workers)


def test_set_epoch_moves_plain_indices_to_the_next_epochs_samples(data):
    ds = CompositeSamples(data["train"], seed=4, recipe=RECIPE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the documented usage never warns
        e0, e1 = _epoch(ds, 0, 0), _epoch(ds, 1, 0)
        e1_workers, e0_workers = _epoch(ds, 1, 2), _epoch(ds, 0, 2)
        again = CompositeSamples(data["train"], seed=4, recipe=RECIPE)
        again.set_epoch(1)
        e1_fresh = [again[i] for i in range(len(again))]
    n = len(ds)
    assert sum(not _same(a, b) for a, b in zip(e0, e1)) >= n - 1  # a new crop/flip/trimap per composite
    assert all(_same(a, ds[(1, i)]) for i, a in enumerate(e1))  # epoch e = the (e, i) keys
    assert all(_same(a, ds[(0, i)]) for i, a in enumerate(e0))
    for a, b, c in zip(e1, e1_workers, e1_fresh):  # same epoch: identical, 0 or 2 workers, any instance
        assert _same(a, b) and _same(a, c)
    assert all(_same(a, b) for a, b in zip(e0, e0_workers))
    assert e0[0]["merged"].shape == (3, 32, 32) and e0[0]["merged"].dtype == torch.uint8
    with pytest.raises(ValueError, match="set_epoch"):
        ds.set_epoch(-1)


def test_plain_indices_used_again_in_one_epoch_warn_once(data):
    ds = CompositeSamples(data["train"], seed=4, recipe=RECIPE)
    first = ds[3]
    ds.set_epoch(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds[3]  # a new epoch: no warning
    with pytest.warns(UserWarning, match=r"item 3 was drawn again in epoch 1: .*set_epoch"):
        second = ds[3]
    assert _same(second, ds[(1, 3)]) and not _same(first, second)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds[3]  # once per dataset
        ds[(1, 3)]  # keys never warn


WORKERS_SCRIPT = """
import sys, warnings, cv2, torch
from matbench.training.dataset import CompositeSamples
from matbench.training.samples import Recipe
cv2.setNumThreads(0)
warnings.simplefilter("default")
recipe = Recipe(crop_sizes=(32, 48, 64), out_size=32, trimap_kernels=(1, 9))
ds = CompositeSamples(sys.argv[1], seed=4, recipe=recipe)
list(torch.utils.data.DataLoader(ds, batch_size=5, num_workers=2))
print("--- persistent", file=sys.stderr, flush=True)
ds = CompositeSamples(sys.argv[1], seed=4, recipe=recipe)
loader = torch.utils.data.DataLoader(ds, batch_size=1, num_workers=1, persistent_workers=True)
epochs = []
for e in (0, 1):
    ds.set_epoch(e)
    epochs.append([b["alpha"] for b in loader])
print("same", all(torch.equal(a, b) for a, b in zip(*epochs)))
"""


def test_workers_warn_without_set_epoch_and_persistent_workers_need_keys(data):
    # in a process of its own: pytest records warnings, so its forked workers would never print them
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    r = subprocess.run([sys.executable, "-c", WORKERS_SCRIPT, str(data["train"])], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    plain, persistent = r.stderr.split("--- persistent")
    assert "set_epoch() never called: every epoch draws epoch 0's samples" in plain
    # persistent workers keep the first epoch's copy: set_epoch does not reach it, and the repeat warns
    assert r.stdout.strip() == "same True"
    assert "drawn again in epoch 0" in persistent and "persistent_workers=True set_epoch() does not reach" in persistent


def test_stream_visits_every_item_once_per_epoch_and_resumes_anywhere():
    keys = list(StreamSampler(7, 3, 0, 21))
    for e in range(3):
        epoch = keys[7 * e:7 * e + 7]
        assert {k[0] for k in epoch} == {e} and sorted(k[1] for k in epoch) == list(range(7))
        assert [k[1] for k in epoch] == list(samples.epoch_order(3, e, 7))
    assert list(StreamSampler(7, 3, 9, 21)) == keys[9:]


def test_online_merge_dataset(data):
    ds = CompositeSamples(data["train"], seed=2, recipe=Recipe(**dict(RECIPE.to_dict(), online_merge=True)))
    item = ds[(3, 5)]
    assert item["merged"].dtype == torch.float32
    a = item["alpha"].float() / 255
    expected = item["fg"].float() * a + (1 - a) * item["bg"].float()
    assert torch.allclose(item["merged"], expected, atol=1e-4, rtol=0)


def test_materialised_set_is_the_first_epochs_of_the_stream(data):
    fixed = open_training_data(data["root"] / "samples")
    stream = CompositeSamples(data["train"], seed=0, recipe=RECIPE)
    assert isinstance(fixed, FixedSamples) and len(fixed) == len(stream) == 15
    for i in (0, 7, 14):
        a, b = fixed[i], stream[(0, i)]
        assert all(torch.equal(a[k], b[k]) for k in b)


def test_network_batch_is_the_inference_input(data):
    ds = CompositeSamples(data["train"], seed=0, recipe=RECIPE)
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    x, t = network_batch(batch, "cpu")
    item = ds[(0, 1)]
    expected = dim.network_input(item["merged"].numpy().transpose(1, 2, 0), item["trimap"].numpy()[0])
    np.testing.assert_array_equal(x[1].numpy().transpose(1, 2, 0), expected)
    assert torch.equal(t["weight"][1], (item["trimap"] == 128).float())
    assert torch.equal(t["alpha"][1], item["alpha"].float() / 255)


def test_training_set_without_backgrounds_is_one_line(data, tmp_path):
    rows = read_manifest(data["train"])
    for r in rows:
        r["bg_path"] = ""
    shutil.copytree(data["train"], tmp_path / "t")
    write_manifest(tmp_path / "t", rows)
    with pytest.raises(MatbenchError, match="--write-bg"):
        CompositeSamples(tmp_path / "t")


# ----------------------------------------------------------------------------- losses

def _np_masked_charbonnier(d, w):
    w = np.broadcast_to(w, d.shape)
    return (np.sqrt(d.astype(np.float64) ** 2 + 1e-12) * w).sum() / (w.sum() + 1e-12)


@pytest.mark.parametrize("empty", [False, True])
def test_losses_match_numpy(empty):
    g = torch.Generator().manual_seed(4)
    n, h, w = 2, 9, 11
    pred, gt = torch.rand(n, 1, h, w, generator=g), torch.rand(n, 1, h, w, generator=g)
    fg, bg, merged = (torch.rand(n, 3, h, w, generator=g) for _ in range(3))
    weight = torch.zeros(n, 1, h, w) if empty else (torch.rand(n, 1, h, w, generator=g) > 0.6).float()
    P, G, F, B, M, W = (t.double().numpy() for t in (pred, gt, fg, bg, merged, weight))
    alpha_np = _np_masked_charbonnier(P - G, W)
    comp_np = _np_masked_charbonnier(P * F + (1 - P) * B - M, W)
    assert losses.alpha_loss(pred, gt, weight).item() == pytest.approx(alpha_np, rel=1e-5, abs=1e-12)
    assert losses.composition_loss(pred, fg, bg, merged, weight).item() == pytest.approx(comp_np, rel=1e-5,
                                                                                         abs=1e-12)
    targets = {"alpha": gt, "fg": fg, "bg": bg, "merged": merged, "weight": weight}
    refined = torch.rand(n, 1, h, w, generator=g)
    refine_np = _np_masked_charbonnier(refined.double().numpy() - G, W)
    s1, s2, s3 = (losses.stage_losses(s, pred, refined, targets) for s in (1, 2, 3))
    assert s1["loss"].item() == pytest.approx(0.5 * alpha_np + 0.5 * comp_np, rel=1e-5, abs=1e-12)
    assert s2["loss"].item() == pytest.approx(refine_np, rel=1e-5, abs=1e-12) and set(s2) == {"loss", "refine"}
    assert s3["loss"].item() == pytest.approx(0.5 * alpha_np + 0.5 * comp_np + refine_np, rel=1e-5, abs=1e-12)
    if empty:
        assert s3["loss"].item() == 0.0
        pred.requires_grad_(True)
        losses.alpha_loss(pred, gt, weight).backward()
        assert torch.equal(pred.grad, torch.zeros_like(pred))
    else:  # the 3-channel loss divides by 3·|unknown|
        assert losses.masked_mean(torch.ones(n, 3, h, w), weight).item() == pytest.approx(1.0, abs=1e-9)


# ----------------------------------------------------------------------------- initial weights

def _vgg16_state(seed=1):
    g = torch.Generator().manual_seed(seed)
    shapes = [(64, 3), (64, 64), (128, 64), (128, 128), (256, 128), (256, 256), (256, 256), (512, 256),
              (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    sd = {}
    for n, (cout, cin) in zip(weights.VGG16_CONVS, shapes):
        sd[f"features.{n}.weight"] = torch.randn(cout, cin, 3, 3, generator=g)
        sd[f"features.{n}.bias"] = torch.randn(cout, generator=g)
    sd.update({"classifier.0.weight": torch.randn(4, 8, generator=g), "classifier.0.bias": torch.zeros(4),
               "classifier.6.weight": torch.randn(3, 4, generator=g)})
    return sd


def test_vgg16_lands_in_the_encoder(tmp_path):
    sd = _vgg16_state()
    torch.save(sd, tmp_path / "vgg16.pth")
    model = weights.stage1_model(tmp_path / "vgg16.pth", seed=0)
    enc = model.backbone.encoder
    blocks = [enc.layer1[0], enc.layer1[2], enc.layer2[0], enc.layer2[2], enc.layer3[0], enc.layer3[2], enc.layer3[4],
              enc.layer4[0], enc.layer4[2], enc.layer4[4], enc.layer5[0], enc.layer5[2], enc.layer5[4]]
    for n, conv in zip((0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28), blocks):
        w = sd[f"features.{n}.weight"]
        if n == 0:
            assert conv.weight.shape == (64, 4, 3, 3)
            assert torch.equal(conv.weight[:, :3], w) and torch.equal(conv.weight[:, 3], torch.zeros(64, 3, 3))
        else:
            assert torch.equal(conv.weight, w)
        assert torch.equal(conv.bias, sd[f"features.{n}.bias"])
    # conv6 and the decoder: Xavier-normal, std = sqrt(2 / (fan_in + fan_out)), bias 0
    new = [enc.conv6, *(getattr(model.backbone.decoder, k) for k in
                        ("deconv6_1", "deconv5_1", "deconv4_1", "deconv3_1", "deconv2_1", "deconv1_1", "deconv1"))]
    for conv in new:
        k = conv.kernel_size[0] ** 2
        std = (2 / (conv.in_channels * k + conv.out_channels * k)) ** 0.5
        assert abs(conv.weight.std().item() / std - 1) < (0.15 if conv.weight.numel() < 5000 else 0.03)
        assert abs(conv.weight.mean().item()) < 5 * std / conv.weight.numel() ** 0.5
        assert torch.equal(conv.bias, torch.zeros_like(conv.bias))


def test_vgg16_errors_and_random_start(tmp_path):
    sd = _vgg16_state()
    del sd["features.5.weight"]
    sd["features.0.weight"] = torch.zeros(64, 4, 3, 3)
    torch.save({"state_dict": sd}, tmp_path / "bad.pth")
    with pytest.raises(MatbenchError) as e:
        weights.stage1_model(tmp_path / "bad.pth")
    msg = str(e.value)
    assert "\n" not in msg and "missing features.5.weight" in msg and "features.0.weight is (64, 4, 3, 3)" in msg
    with pytest.warns(UserWarning, match="random Xavier-normal weights, not the paper's ImageNet VGG16"):
        a = weights.stage1_model(None, seed=3)
    with pytest.warns(UserWarning):
        b = weights.stage1_model(None, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


# ----------------------------------------------------------------------------- train dim

def test_training_lowers_the_loss(stage1):
    log = [line["loss"] for line in _log(_run(stage1))]
    assert len(log) == 12 and stage1["iteration"] == 12
    assert np.mean(log[-3:]) < 0.7 * np.mean(log[:3]), log


def test_checkpoint_runs_in_run_dim_and_scores_as_validated(stage1, data, tmp_path):
    run = _run(stage1)
    vals = _log(run, "val")
    assert [v["iteration"] for v in vals] == [6, 12]
    best = min(vals, key=lambda v: v["sad"])
    ckpt = torch.load(run / "best.pth", weights_only=True)
    assert set(ckpt) == {"state_dict", "meta"} and ckpt["meta"]["iteration"] == best["iteration"]
    # the last checkpoint predicts in `run dim` exactly as the model in memory
    main(["run", "dim", "--checkpoint", str(run / "last.pth"), "--dataset", str(data["val"]),
          "--out", str(tmp_path / "last"), "--quiet"])
    for row in read_manifest(data["val"]):
        image, trimap = read_rgb8(data["val"] / row["merged"]), read_matte(data["val"] / row["trimap"])
        mine = dim.alpha_to_uint8(dim.predict_alpha(stage1["model"], image, trimap))
        np.testing.assert_array_equal(read_matte(tmp_path / "last" / f"{row['image']}.png"), mine)
    # the best checkpoint, run and scored by matbench, gives the logged validation scores
    main(["run", "dim", "--checkpoint", str(run / "best.pth"), "--dataset", str(data["val"]),
          "--out", str(tmp_path / "best"), "--quiet"])
    import matbench

    df = matbench.score([str(tmp_path / "best")], dataset=data["val"])
    for k in ("sad", "mse", "grad", "conn"):
        assert df[k].mean() == pytest.approx(best[k], rel=1e-12), k


def test_stage2_trains_only_the_refiner_and_stage3_everything(stage1, data):
    run = _run(stage1)
    r2 = train_dim(2, data["few"], data["root"] / "run2", init=run / "last.pth", **dict(STAGE1, iterations=2))
    before = torch.load(run / "last.pth", weights_only=True)["state_dict"]
    after = torch.load(data["root"] / "run2" / "last.pth", weights_only=True)["state_dict"]
    assert set(after) == set(dim.DIM(3).state_dict())
    for k, v in before.items():
        assert torch.equal(v, after[k]), k  # encoder-decoder bit-identical
    assert not torch.equal(r2["model"].refiner.refine_pred.weight, weights.from_checkpoint(2, run / "last.pth")
                           .refiner.refine_pred.weight)
    assert set(_log(data["root"] / "run2")[0]) >= {"loss", "refine"}
    r3 = train_dim(3, data["few"], data["root"] / "run3", init=data["root"] / "run2" / "last.pth",
                   **dict(STAGE1, iterations=1))
    changed = {k for k, v in r3["model"].state_dict().items() if not torch.equal(v, after[k])}
    assert any(k.startswith("backbone.encoder.") for k in changed) and any(k.startswith("refiner.") for k in changed)
    assert set(_log(data["root"] / "run3")[0]) >= {"loss", "alpha", "comp", "refine"}
    with pytest.raises(MatbenchError, match="stage 3 starts from a stage 2 checkpoint"):
        train_dim(3, data["few"], data["root"] / "run3b", init=run / "last.pth", **STAGE1)
    with pytest.raises(MatbenchError, match="give --init"):
        train_dim(2, data["few"], data["root"] / "run2b", **STAGE1)


def test_resume_after_sigkill_equals_the_uninterrupted_run(stage1, data, tmp_path):
    """A subprocess trains the same run and is killed with SIGKILL after its checkpoint at
    iteration 6; resuming it gives the uninterrupted run's weights, Adam state, log and best."""
    ref = _run(stage1)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "matbench.cli", "train", "dim", "--stage", "1", "--data", str(data["few"]),
           "--out", str(out), "--val", str(data["val"]), "--workers", "0", "--quiet", "--threads", str(THREADS)]
    for k in ("iterations", "batch_size", "lr", "seed", "log_interval", "checkpoint_interval", "val_interval"):
        cmd += [f"--{k.replace('_', '-')}", str(STAGE1[k])]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if (out / "log.jsonl").is_file() and any(json.loads(line)["iteration"] >= 7 for line in
                                                      (out / "log.jsonl").read_text().splitlines()[:-1]):
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert torch.load(out / "last.pth", weights_only=True)["iteration"] in (6, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = train_dim(1, data["few"], out, val=data["val"], **STAGE1)
    assert r["resumed_from"] in (6, 12)
    a, b = (torch.load(p / "last.pth", weights_only=True) for p in (ref, out))
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert torch.equal(sa["exp_avg"], sb["exp_avg"]) and torch.equal(sa["exp_avg_sq"], sb["exp_avg_sq"])

    def losses_only(run, kind):
        return [{k: v for k, v in line.items() if "seconds" not in k} for line in _log(run, kind)]

    assert losses_only(out, "train") == losses_only(ref, "train")
    assert losses_only(out, "val") == losses_only(ref, "val")
    assert torch.equal(torch.load(ref / "best.pth", weights_only=True)["state_dict"]["backbone.decoder.deconv1.weight"],
                       torch.load(out / "best.pth", weights_only=True)["state_dict"]["backbone.decoder.deconv1.weight"])
    with pytest.raises(MatbenchError, match="different seed"):
        train_dim(1, data["few"], out, val=data["val"], **dict(STAGE1, seed=1))


def test_train_without_torch_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(SystemExit) as e:
        main(["train", "dim", "--stage", "1", "--data", str(tmp_path), "--out", str(tmp_path / "r")])
    assert e.value.code == 2
    assert capsys.readouterr().err.strip() == f"matbench: error: {TORCH_MISSING}"


def test_manifest_of_samples_has_every_hash(data):
    rows = read_manifest(data["root"] / "samples")
    assert list(rows[0]) == SAMPLE_COLUMNS
    assert all(len(r[c]) == 64 for r in rows for c in ("sha256", "alpha_sha256", "fg_sha256", "bg_sha256",
                                                        "trimap_sha256"))
    assert os.path.isfile(data["root"] / "samples" / rows[0]["trimap"])


def test_recipe_options_do_not_apply_to_a_materialised_set(data, tmp_path):
    with pytest.raises(MatbenchError, match="materialised sample set"):
        train_dim(1, data["few"], tmp_path / "r", recipe=RECIPE, **STAGE1)


# ----------------------------------------------------------------------------- inputs validated first

def _not_checkpoints(folder: Path) -> dict:
    """Files that are no PyTorch checkpoint, by name: what the message must say each is."""
    folder.mkdir(exist_ok=True)
    files = {"image.png": (b"\x89PNG\r\n\x1a\n" + bytes(60), "a PNG image"),
             "random.bin": (np.random.default_rng(0).integers(0, 256, 1000, dtype=np.uint8).tobytes(),
                            "not a PyTorch file"),
             "empty.pth": (b"", "an empty file")}
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    return {folder / name: found for name, (_, found) in files.items()}


def _dim_variants(folder: Path) -> dict:
    """torch files holding another model, DIM with a key missing, DIM with a wrong shape."""
    folder.mkdir(exist_ok=True)
    sd = dim.DIM(1).state_dict()
    missing = {k: v for k, v in sd.items() if k != "backbone.decoder.deconv1.bias"}
    shape = dict(sd, **{"backbone.encoder.layer1.0.weight": torch.zeros(64, 3, 3, 3)})
    out = {}
    for name, obj, found in (("other.pth", {"state_dict": {"fc.weight": torch.zeros(2, 3)}}, "none of its 1 tensors"),
                             ("missing.pth", missing, "missing keys: backbone.decoder.deconv1.bias"),
                             ("shape.pth", {"state_dict": shape, "meta": {}},
                              "backbone.encoder.layer1.0.weight (64, 3, 3, 3) (expected (64, 4, 3, 3))"),
                             ("not_tensors.pth", {"epoch": 3}, "not a state dict of tensors")):
        torch.save(obj, folder / name)
        out[folder / name] = found
    return out


def _one_line_error(args, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("matbench: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_invalid_inputs_write_nothing(stage1, data, tmp_path, capsys):
    """Every invalid input of `train dim` is one line, exit 2, and --out is never created."""
    ckpt1 = _run(stage1) / "last.pth"
    torch.save(_vgg16_state(), tmp_path / "vgg16.pth")
    base = ["train", "dim", "--data", str(data["few"]), "--iterations", "1", "--workers", "0", "--quiet"]
    vgg16, absent = str(tmp_path / "vgg16.pth"), str(tmp_path / "absent.pth")
    cases = [  # (arguments, what the line must contain, the file it must name with what was expected)
        (["--stage", "1", "--data", str(tmp_path / "nope")], "dataset folder not found", None),
        (["--stage", "1", "--val", str(tmp_path / "nope")], "dataset folder not found", None),
        (["--stage", "1", "--vgg16", absent], "not found", absent),
        (["--stage", "2", "--init", absent], "not found", absent),
        (["--stage", "1", "--vgg16", str(ckpt1)], "a DIM checkpoint, not VGG16", str(ckpt1)),
        (["--stage", "1", "--vgg16", vgg16, "--init", str(ckpt1)], "alternatives", None),
        (["--stage", "2", "--vgg16", vgg16, "--init", str(ckpt1)], "stage 1 only", None),
        (["--stage", "2"], "give --init", None),
        (["--stage", "2", "--init", vgg16], "a VGG16 state dict", vgg16),
        (["--stage", "3", "--init", str(ckpt1)], "has no refiner weights", str(ckpt1)),
        (["--stage", "1", "--size", "64"], "materialised sample set", None),
        (["--stage", "1", "--init", str(ckpt1), "--out", str(data["few"] / "run")], "inside the training data", None),
    ]
    for path, found in {**_not_checkpoints(tmp_path / "bad"), **_dim_variants(tmp_path / "bad")}.items():
        cases.append((["--stage", "2", "--init", str(path)], found, str(path)))
        if path.suffix != ".pth" or path.name in ("empty.pth", "not_tensors.pth"):
            cases.append((["--stage", "1", "--vgg16", str(path)], found, str(path)))
    for i, (args, found, named) in enumerate(cases):
        out = tmp_path / f"run{i}"
        args = args if "--out" in args else args + ["--out", str(out)]
        err = _one_line_error(base + args, capsys)
        assert found in err, (args, err)
        if named is not None:
            assert err.startswith(f"matbench: error: {named}: ") and ("expected" in err or "stage 3" in err), err
        assert not out.exists() and not (data["few"] / "run").exists(), args


def test_invalid_out_or_resume_state_changes_nothing(stage1, data, tmp_path, capsys):
    """An --out that is not a run, and a run whose last.pth is not its training state: one line,
    exit 2, every file of the folder byte-identical afterwards."""
    base = ["train", "dim", "--stage", "1", "--data", str(data["few"]), "--val", str(data["val"]), "--workers", "0",
            "--quiet", "--threads", str(THREADS)]
    for k in ("iterations", "batch_size", "lr", "seed", "log_interval", "checkpoint_interval", "val_interval"):
        base += [f"--{k.replace('_', '-')}", str(STAGE1[k])]
    other = tmp_path / "notes"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    _one_line_error(base + ["--out", str(other)], capsys)
    assert _snapshot(other) == {Path("notes.txt"): b"mine"}

    good = torch.load(_run(stage1) / "last.pth", weights_only=True)
    variants = {p.name: p.read_bytes() for p in [*_not_checkpoints(tmp_path / "bad"), *_dim_variants(tmp_path / "bad")]}
    no_optimizer = {k: v for k, v in good.items() if k != "optimizer"}
    wrong_groups = dict(good, optimizer={"state": {}, "param_groups": []})
    for i, make in enumerate([*variants.values(), no_optimizer, wrong_groups]):
        run = tmp_path / f"run{i}"
        shutil.copytree(_run(stage1), run)
        if isinstance(make, bytes):
            (run / "last.pth").write_bytes(make)
        else:
            torch.save(make, run / "last.pth")
        before = _snapshot(run)
        err = _one_line_error(base + ["--out", str(run)], capsys)
        assert str(run / "last.pth") in err and "remove it to restart" in err, err
        assert _snapshot(run) == before


def test_stage1_init_starts_from_the_checkpoint(stage1, data, tmp_path):
    """Stage 1 with --init starts from that checkpoint's encoder-decoder tensors, bit for bit
    (a stage 3 checkpoint: its refiner is not part of stage 1), and records it."""
    import hashlib

    r3 = train_dim(2, data["few"], tmp_path / "s2", init=_run(stage1) / "last.pth", **dict(STAGE1, iterations=1))
    init = Path(r3["out"]) / "last.pth"
    expected = torch.load(init, weights_only=True)["state_dict"]
    model = weights.from_checkpoint(1, init, seed=7)
    got = model.state_dict()
    assert set(got) == {k for k in expected if not k.startswith("refiner.")}
    assert all(torch.equal(got[k], expected[k]) for k in got)
    # through the CLI: with a learning rate of 0, Adam leaves the initial weights as they were
    out = tmp_path / "s1"
    main(["train", "dim", "--stage", "1", "--data", str(data["few"]), "--out", str(out), "--init", str(init),
          "--iterations", "1", "--lr", "0", "--workers", "0", "--quiet"])
    saved = torch.load(out / "last.pth", weights_only=True)
    assert all(torch.equal(saved["state_dict"][k], expected[k]) for k in got)
    sha = hashlib.sha256(init.read_bytes()).hexdigest()
    assert json.loads((out / "train.json").read_text())["config"]["init"] == {"path": str(init.resolve()),
                                                                                "sha256": sha}
    assert saved["meta"]["init"]["sha256"] == sha and saved["meta"]["vgg16"] is None
