"""One matbench command writes into an output folder at a time (matbench.io.out_lock), and a
trimap sweep and a single trimap set never share a folder."""
import json
import os
import socket
import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

from matbench.errors import MatbenchError
from matbench.io import LOCK_NAME, out_lock


def _disc(size=48, r=14):
    y, x = np.mgrid[:size, :size]
    d = np.hypot(y - size / 2, x - size / 2)
    return (np.clip(r + 3 - d, 0, 6) / 6 * 255).astype(np.uint8)


def _alphas(folder, n=2):
    folder.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(_disc(r=10 + 3 * i)).save(folder / f"a{i}.png")
    return folder


def _lock_of(out, pid, host=None, command="matbench score x --out y"):
    out.mkdir(parents=True, exist_ok=True)
    (out / LOCK_NAME).write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(), "command": command,
                                             "since": "2026-01-01T00:00:00Z"}))


@pytest.fixture
def live_pid():
    """The pid of a running process (a sleeping child, ended after the test)."""
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield p.pid
    p.kill()
    p.wait()


@pytest.fixture(scope="module")
def dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_held_lock_refused_with_the_holder(tmp_path, live_pid):
    out = tmp_path / "out"
    _lock_of(out, live_pid, command="matbench run trimap-mid --out out")
    before = (out / LOCK_NAME).read_bytes()
    with pytest.raises(MatbenchError, match=rf"another matbench command \(pid {live_pid}, matbench run "
                                            rf"trimap-mid --out out, since 2026-01-01T00:00:00Z\) is writing here"
                       ) as e:
        with out_lock(out):
            (out / "x").write_text("written")  # never reached
    assert "\n" not in str(e.value) and str(out / LOCK_NAME) in str(e.value)
    assert _files(out) == [LOCK_NAME] and (out / LOCK_NAME).read_bytes() == before  # the holder's lock kept


def test_lock_of_this_process_not_taken_by_this_process(tmp_path):
    out = tmp_path / "out"
    _lock_of(out, os.getpid())  # as a lock file another thread of work left: not this context's own
    with pytest.raises(MatbenchError, match=f"pid {os.getpid()}"):
        with out_lock(out):
            pass


def test_lock_of_another_host_is_refused(tmp_path, dead_pid):
    out = tmp_path / "out"
    _lock_of(out, dead_pid, host="elsewhere.example")  # its liveness cannot be checked from here
    with pytest.raises(MatbenchError, match=f"pid {dead_pid} on elsewhere.example"):
        with out_lock(out):
            pass


def test_stale_lock_taken_over_and_released(tmp_path, dead_pid):
    out = tmp_path / "out"
    _lock_of(out, dead_pid)
    with pytest.warns(UserWarning, match=f"took over the lock .*pid {dead_pid}"):
        with out_lock(out, "matbench test") as path:
            held = json.loads(path.read_text())
            assert held["pid"] == os.getpid() and held["host"] == socket.gethostname()
            assert held["command"] == "matbench test"
    assert _files(out) == []


@pytest.mark.parametrize("bad", ["", "{not json", '{"pid": "x"}'])
def test_unreadable_lock_taken_over(tmp_path, bad):
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_NAME).write_text(bad)
    with pytest.warns(UserWarning, match="unreadable lock file"):
        with out_lock(out):
            pass
    assert _files(out) == []


def test_released_after_an_exception_and_ctrl_c(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for exc in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with out_lock(out):
                assert (out / LOCK_NAME).is_file()
                raise exc
        assert _files(out) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a released lock is not stale: taken again without a warning
        with out_lock(out):
            pass


def test_reentrant_and_new_empty_folder_removed(tmp_path):
    out = tmp_path / "new"
    with out_lock(out):
        with out_lock(out):  # a command calling another on the same folder
            pass
        assert (out / LOCK_NAME).is_file()  # still held by the outer one
    assert not out.exists()  # made for the lock, left empty: removed
    with pytest.raises(MatbenchError, match="exists and is not a folder"):
        (tmp_path / "file").write_text("x")
        with out_lock(tmp_path / "file"):
            pass


def test_two_processes(tmp_path):
    """A second process is refused while the first holds the lock; after the first ends, it runs."""
    out = tmp_path / "out"
    code = ("import sys, time; from matbench.io import out_lock\n"
            "with out_lock(sys.argv[1], 'first'):\n    print('held', flush=True); time.sleep(30)")
    first = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert first.stdout.readline().strip() == "held"
        with pytest.raises(MatbenchError, match=f"pid {first.pid}, first"):
            with out_lock(out):
                pass
    finally:
        first.kill()
        first.wait()
    with pytest.warns(UserWarning, match="took over"):  # killed (no cleanup): its lock is stale
        with out_lock(out):
            pass


# ---- the commands: refused with nothing written; a stale lock taken over; released after


def _predictions(tmp_path):
    alpha = _alphas(tmp_path / "alpha")
    pred, trimap = tmp_path / "pred", tmp_path / "trimap"
    pred.mkdir()
    trimap.mkdir()
    for p in alpha.iterdir():
        Image.fromarray(np.full_like(_disc(), 128)).save(pred / p.name)
        Image.fromarray(np.full_like(_disc(), 128)).save(trimap / p.name)  # all unknown
    return alpha, trimap, pred


def test_score_out_locked(tmp_path, live_pid, dead_pid):
    from matbench import score
    from matbench.scorefiles import write_score_outputs

    alpha, trimap, pred = _predictions(tmp_path)
    df = score({"m": str(pred)}, alpha_dir=alpha, trimap_dir=trimap, progress=False)
    out = tmp_path / "scores"
    _lock_of(out, live_pid)
    with pytest.raises(MatbenchError, match="another matbench command"):
        write_score_outputs(df, out)
    assert _files(out) == [LOCK_NAME]
    _lock_of(out, dead_pid)
    with pytest.warns(UserWarning, match="took over"):
        write_score_outputs(df, out)
    assert "per_image.csv" in _files(out) and LOCK_NAME not in _files(out)


def test_score_cli_one_line(tmp_path, live_pid):
    alpha, trimap, pred = _predictions(tmp_path)
    out = tmp_path / "scores"
    _lock_of(out, live_pid)
    p = subprocess.run([sys.executable, "-m", "matbench.cli", "score", str(pred), "--alpha-dir", str(alpha),
                        "--trimap-dir", str(trimap), "--out", str(out), "-q"], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    line = p.stderr.strip().splitlines()[-1]
    assert line.startswith(f"matbench: error: {out}: another matbench command (pid {live_pid},")
    assert _files(out) == [LOCK_NAME]


def test_run_and_trimap_locked(tmp_path, live_pid, dead_pid):
    from matbench.baselines import run_baseline
    from matbench.trimap import trimaps_sha256, write_trimaps

    alpha = _alphas(tmp_path / "alpha")
    trimaps = tmp_path / "trimaps"
    for width in ("5,12", None):
        _lock_of(trimaps, live_pid)
        with pytest.raises(MatbenchError, match="another matbench command"):
            write_trimaps(trimaps, alpha_dir=alpha, width=width)
        assert _files(trimaps) == [LOCK_NAME]
    _lock_of(trimaps, dead_pid)
    with pytest.warns(UserWarning, match="took over"):
        write_trimaps(trimaps, alpha_dir=alpha)
    assert _files(trimaps) == ["a0.png", "a1.png", "trimaps.json"]
    digest = trimaps_sha256(trimaps)
    _lock_of(trimaps, live_pid)  # a lock file is not a trimap: the folder's identity is unchanged
    assert trimaps_sha256(trimaps) == digest
    (trimaps / LOCK_NAME).unlink()

    images = tmp_path / "images"
    images.mkdir()
    for p in alpha.iterdir():
        Image.fromarray(np.dstack([_disc()] * 3)).save(images / p.name)
    out = tmp_path / "run"
    _lock_of(out, live_pid)
    with pytest.raises(MatbenchError, match="another matbench command"):
        run_baseline("trimap-mid", out, images=images, trimaps=trimaps, progress=False)
    assert _files(out) == [LOCK_NAME]
    _lock_of(out, dead_pid)
    with pytest.warns(UserWarning, match="took over"):
        run_baseline("trimap-mid", out, images=images, trimaps=trimaps, progress=False)
    assert _files(out) == ["a0.png", "a1.png", "run.json"]


def test_build_locked_and_hidden_lock_is_not_foreign(tmp_path, live_pid, dead_pid):
    from matbench.build import build_comp1k, verify
    from matbench.datasets.sample import make_sample_release

    rel = make_sample_release(tmp_path / "release", size=64, bgs_per_fg=1, progress=False)
    out = tmp_path / "dataset"
    _lock_of(out, live_pid)
    with pytest.raises(MatbenchError, match="another matbench command"):
        build_comp1k(rel.adobe_root, rel.voc_root, out, bgs_per_fg=1, progress=False)
    assert _files(out) == [LOCK_NAME]
    _lock_of(out, dead_pid)  # a stale lock in an otherwise empty folder: not a foreign file
    with pytest.warns(UserWarning, match="took over"):
        build_comp1k(rel.adobe_root, rel.voc_root, out, bgs_per_fg=1, progress=False)
    assert LOCK_NAME not in _files(out)
    _lock_of(out, live_pid)  # verify only reads: not locked, and the lock file is not a dataset file
    r = verify(out)
    assert r["ok"] and not r["missing"] and not r["changed"]


def test_train_and_demo_out_checks_ignore_the_lock(tmp_path, dead_pid):
    pytest.importorskip("torch")
    from matbench.demo import check_demo_out
    from matbench.training.train import _check_out

    out = tmp_path / "run"
    _lock_of(out, dead_pid)
    assert _check_out(out, {}, (None, None)) is False  # an empty folder (but for a stale lock): a new run
    demo = tmp_path / "demo"
    _lock_of(demo, dead_pid)
    assert check_demo_out(demo) is None


# ---- trimap: a sweep and a single set never share a folder


def test_single_set_not_written_over_a_sweep_nor_the_reverse(tmp_path):
    from matbench.trimap import write_trimaps

    alpha = _alphas(tmp_path / "alpha")
    sweep = tmp_path / "sweep"
    write_trimaps(sweep, alpha_dir=alpha, width="small,medium,large")
    before = _files(sweep)
    assert before == [f"w{w}{f}" for w in (12, 20, 5) for f in ("", "/a0.png", "/a1.png", "/trimaps.json")]
    for width in ("small", None):  # a single set, of a width of the sweep or not
        with pytest.raises(MatbenchError, match=r"holds a trimap sweep \(w5/, w12/, w20/\)"):
            write_trimaps(sweep, alpha_dir=alpha, width=width)
        assert _files(sweep) == before
    write_trimaps(sweep / "w12", alpha_dir=alpha, width="medium")  # one width of the sweep resumes
    assert _files(sweep) == before

    single = tmp_path / "single"
    write_trimaps(single, alpha_dir=alpha, width="small")
    before = _files(single)
    with pytest.raises(MatbenchError, match="holds a single trimap set"):
        write_trimaps(single, alpha_dir=alpha, width="5,12")
    assert _files(single) == before
    write_trimaps(single, alpha_dir=alpha, width="small")  # the same set resumes
    assert _files(single) == before


def test_sweep_layout_refused_by_the_cli(tmp_path):
    alpha = _alphas(tmp_path / "alpha")
    sweep = tmp_path / "sw"
    run = [sys.executable, "-m", "matbench.cli", "trimap", str(alpha), str(sweep), "-q", "--width"]
    assert subprocess.run(run + ["small,medium,large"], capture_output=True, text=True).returncode == 0
    p = subprocess.run(run + ["small"], capture_output=True, text=True)
    assert p.returncode == 2 and "holds a trimap sweep" in p.stderr and "Traceback" not in p.stderr
    assert not (sweep / "a0.png").exists() and not (sweep / "trimaps.json").exists()
