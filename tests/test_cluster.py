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
