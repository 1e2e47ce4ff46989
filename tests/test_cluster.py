"""A dask.distributed cluster (``MATBENCH_SCHEDULER`` / ``scheduler=``) gives the same files and
tables as ``jobs=1``: a LocalCluster with two worker processes stands for a lab's cluster."""
import hashlib

import pytest

distributed = pytest.importorskip("dask.distributed")

from matbench.build import build_comp1k, verify  # noqa: E402
from matbench.errors import MatbenchError  # noqa: E402
from matbench.parallel import connect, disconnect, imap  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c.scheduler_address
        disconnect()


def _files(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "dataset.json"}


def _fail_on_seven(x):
    if x == 7:
        raise MatbenchError(f"file{x}.png: bad")
    return x * x


def test_map_streams_in_order_and_errors_come_back_as_themselves(cluster):
    assert list(imap(_fail_on_seven, range(6), scheduler=cluster)) == [x * x for x in range(6)]
    with pytest.raises(MatbenchError, match=r"^file7\.png: bad$"):
        list(imap(_fail_on_seven, range(10), scheduler=cluster))


def test_build_score_verify_run_equal_to_one_job(cluster, golden, tmp_path, monkeypatch):
    import matbench
    from matbench.baselines import run_baseline

    gin = golden / "composition" / "input"
    local, remote = tmp_path / "local", tmp_path / "remote"
    build_comp1k(gin / "adobe", gin / "voc", local, bgs_per_fg=4, trimaps="generate", jobs=1, progress=False)
    run_baseline("trimap-mid", tmp_path / "p-local", dataset=local, progress=False)
    monkeypatch.setenv("MATBENCH_SCHEDULER", cluster)
    build_comp1k(gin / "adobe", gin / "voc", remote, bgs_per_fg=4, trimaps="generate", jobs=1, progress=False)
    assert _files(remote) == _files(local)
    assert verify(remote)["ok"]
    run_baseline("trimap-mid", tmp_path / "p-remote", dataset=remote, progress=False)
    assert _files(tmp_path / "p-remote").keys() == _files(tmp_path / "p-local").keys()
    for name, sha in _files(tmp_path / "p-local").items():
        if name != "run.json":
            assert _files(tmp_path / "p-remote")[name] == sha
    there = matbench.score({"m": tmp_path / "p-remote"}, dataset=remote, progress=False)
    monkeypatch.delenv("MATBENCH_SCHEDULER")
    here = matbench.score({"m": tmp_path / "p-local"}, dataset=local, jobs=1, progress=False)
    cols = ["model", "image", "sad", "mse", "grad", "conn"]
    assert there[cols].equals(here[cols])


def test_unreachable_scheduler_is_one_line():
    with pytest.raises(MatbenchError, match=r"no dask scheduler answers there.*dask scheduler"):
        connect("tcp://127.0.0.1:9")


def test_interrupted_build_finishes_on_the_cluster(cluster, golden, tmp_path):
    """A build interrupted locally (composites missing, a stray temporary file, no manifest)
    resumes on the cluster and ends with the files of a clean local build."""
    gin = golden / "composition" / "input"
    clean, resumed = tmp_path / "clean", tmp_path / "resumed"
    build_comp1k(gin / "adobe", gin / "voc", clean, bgs_per_fg=4, trimaps="generate", jobs=1, progress=False)
    build_comp1k(gin / "adobe", gin / "voc", resumed, bgs_per_fg=4, trimaps="generate", jobs=1, progress=False)
    (resumed / "manifest.csv").unlink()
    merged = sorted((resumed / "merged").iterdir())
    for p in merged[::3]:  # as if killed mid-way: some composites never written
        p.unlink()
    (resumed / "merged" / f".{merged[1].name}.x1y2.tmp").write_bytes(b"half a file")
    build_comp1k(gin / "adobe", gin / "voc", resumed, bgs_per_fg=4, trimaps="generate", progress=False,
                 scheduler=cluster)
    assert _files(resumed) == _files(clean)
    assert verify(resumed, scheduler=cluster)["ok"]


def test_cli_scheduler_option_and_environment(cluster, golden, tmp_path, capsys, monkeypatch):
    from click.testing import CliRunner

    from matbench.cli import cli, main

    assert "MATBENCH_SCHEDULER" in CliRunner().invoke(cli, ["build-comp1k", "--help"]).output
    gin = golden / "composition" / "input"
    common = ["--adobe-root", str(gin / "adobe"), "--voc-root", str(gin / "voc"), "--bgs-per-fg", "4",
              "--trimaps", "generate", "-q"]
    main(["build-comp1k", *common, "--out", str(tmp_path / "local")])
    main(["build-comp1k", *common, "--out", str(tmp_path / "remote"), "--scheduler", cluster])
    assert _files(tmp_path / "remote") == _files(tmp_path / "local")
    monkeypatch.setenv("MATBENCH_SCHEDULER", cluster)
    main(["verify", str(tmp_path / "remote"), "-q"])
    main(["run", "trimap-mid", "--dataset", str(tmp_path / "remote"), "--out", str(tmp_path / "pred"), "-q"])
    capsys.readouterr()
    main(["score", str(tmp_path / "pred"), "--dataset", str(tmp_path / "remote"), "--format", "csv", "-q"])
    remote = capsys.readouterr().out
    monkeypatch.delenv("MATBENCH_SCHEDULER")
    main(["score", str(tmp_path / "pred"), "--dataset", str(tmp_path / "local"), "--format", "csv", "-q"])
    local = capsys.readouterr().out  # the same numbers; the dataset column names the set scored against
    assert local.replace(str((tmp_path / "local").resolve()), "D") == remote.replace(
        str((tmp_path / "remote").resolve()), "D")
    assert str((tmp_path / "remote").resolve()) in remote
    # a bad file met on a worker comes back as one line naming it, as locally
    bad = tmp_path / "remote" / "trimaps" / sorted(p.name for p in (tmp_path / "remote" / "trimaps").iterdir())[0]
    bad.write_bytes(bad.read_bytes()[:60])
    with pytest.raises(SystemExit) as e:
        main(["run", "trimap-mid", "--dataset", str(tmp_path / "remote"), "--out", str(tmp_path / "pred2"), "-q",
              "--scheduler", cluster])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"matbench: error: {bad}") and err.count("\n") == 1


def test_dim_on_the_cluster_loads_the_checkpoint_on_the_workers(cluster, golden, tmp_path):
    """DIM on the cluster: each worker makes the model from the checkpoint path (the model is never
    shipped) with the recorded options; the predictions are the local ones."""
    torch = pytest.importorskip("torch")
    import importlib.util

    from matbench.baselines import run_baseline

    spec = importlib.util.spec_from_file_location("make_weights", golden / "dim" / "make_weights.py")
    mw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mw)
    ckpt = tmp_path / "stage1.pth"
    torch.save({"state_dict": mw.make_state_dict(str(golden / "dim" / "keys_stage1.tsv"), 5), "meta": {}}, ckpt)
    images, trimaps = tmp_path / "img", tmp_path / "tri"
    images.mkdir()
    trimaps.mkdir()
    for case in ("h100w75", "h33w130"):
        (images / f"{case}.png").symlink_to(golden / "dim" / "cases" / case / "merged.png")
        (trimaps / f"{case}.png").symlink_to(golden / "dim" / "cases" / case / "trimap.png")
    kw = dict(images=images, trimaps=trimaps, checkpoint=ckpt, progress=False)
    run_baseline("dim", tmp_path / "local", **kw)
    run_baseline("dim", tmp_path / "remote", scheduler=cluster, **kw)
    local, remote = _files(tmp_path / "local"), _files(tmp_path / "remote")
    assert local.keys() == remote.keys()
    for name, sha in local.items():
        if name != "run.json":
            assert remote[name] == sha


def test_training_samples_on_the_cluster_equal_one_job(cluster, golden_train_set, tmp_path):
    """build-train-samples on the cluster writes the same files (and manifest) as --jobs 1."""
    from matbench.training.materialise import build_train_samples
    from matbench.training.samples import Recipe

    recipe = Recipe(crop_sizes=(32, 48), out_size=32)
    build_train_samples(golden_train_set, tmp_path / "local", per_composite=2, seed=3, recipe=recipe, jobs=1,
                        progress=False)
    build_train_samples(golden_train_set, tmp_path / "remote", per_composite=2, seed=3, recipe=recipe,
                        scheduler=cluster, progress=False)
    assert _files(tmp_path / "remote") == _files(tmp_path / "local")
    assert verify(tmp_path / "remote")["ok"]
