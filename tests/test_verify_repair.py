"""``matbench verify`` says how to repair what it finds, and the advice works: for every kind
of file the manifest lists (composite, alpha, fg, bg, trimap) and every kind of built dataset
(build-comp1k, build-train, build-sim, build-train-samples), one file is corrupted (one pixel
value flipped) or deleted; verify fails, names it and says to delete it and rerun the same build
command; doing exactly that makes verify pass, with the file's original pixels back."""
import shutil
import warnings

import numpy as np
import pytest
from PIL import Image

from matbench.cli import main
from matbench.datasets.sample_sim import make_sample_sim
from matbench.manifest import read_manifest


def _cli(capsys, *args) -> tuple[int, str]:
    """Run ``matbench ARGS`` in this process: (exit status, stdout + stderr)."""
    capsys.readouterr()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the golden release's JPEG alphas (tested in test_build)
            main([str(a) for a in args])
        code = 0
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture(scope="module")
def builds(golden, tmp_path_factory):
    """Build command (without ``--out``) and built folder of each dataset kind, built once."""
    gin = golden / "composition" / "input"
    sim = make_sample_sim(tmp_path_factory.mktemp("sim-sample"))
    root = tmp_path_factory.mktemp("builds")
    commands = {
        "comp1k": ["build-comp1k", "--adobe-root", gin / "adobe", "--voc-root", gin / "voc", "--bgs-per-fg", "4",
                   "--trimaps", "generate", "-q"],
        "train": ["build-train", "--adobe-root", gin / "adobe", "--coco-root", gin / "coco", "--bgs-per-fg", "5",
                  "-q"],
        "sim": ["build-sim", "--simd-root", sim.simd_root, "--voc-root", sim.voc_root, "--file-list", sim.file_list,
                "-q"],
        "samples": ["build-train-samples", root / "train", "--size", "32", "--crop-sizes", "32,48", "-q"],
    }
    for kind, cmd in commands.items():  # "train" before "samples", which is made from it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            main([str(a) for a in cmd] + ["--out", str(root / kind)])
    return {kind: (cmd, root / kind) for kind, cmd in commands.items()}


def _flip_one_value(path):
    """Change one decoded value of a PNG (re-saved in its own mode)."""
    with Image.open(path) as im:
        px = np.asarray(im).copy()
    px.flat[7] ^= 1
    Image.fromarray(px).save(path)


CASES = [("comp1k", "merged"), ("comp1k", "alpha"), ("comp1k", "fg_path"), ("comp1k", "trimap"),
         ("train", "merged"), ("train", "alpha"), ("train", "fg_path"), ("train", "bg_path"),
         ("sim", "merged"), ("sim", "alpha"), ("sim", "trimap"),
         ("samples", "merged"), ("samples", "alpha"), ("samples", "fg_path"), ("samples", "bg_path"),
         ("samples", "trimap")]
COMMANDS = {"comp1k": "build-comp1k", "train": "build-train", "sim": "build-sim", "samples": "build-train-samples"}


@pytest.mark.parametrize("kind,column", CASES)
def test_verify_names_the_file_and_its_advice_repairs_it(builds, kind, column, tmp_path, capsys):
    cmd, built = builds[kind]
    out = tmp_path / "d"
    shutil.copytree(built, out)
    rows = read_manifest(out)
    rel = rows[len(rows) // 2][column]   # a file in the middle of the manifest
    other = rows[-1][column]            # and a missing one of the same kind
    assert rel and other and rel != other
    original = np.asarray(Image.open(out / rel))
    _flip_one_value(out / rel)
    (out / other).unlink()

    code, printed = _cli(capsys, "verify", out, "-q")
    assert code == 1
    assert f"changed: {rel}" in printed and f"missing: {other}" in printed
    advice = printed.splitlines()[-1]
    assert advice.startswith(f"to repair {out}: delete the 1 changed file(s) listed and rerun the same "
                             f"matbench {COMMANDS[kind]} command"), advice
    assert "matbench verify again" in advice

    (out / rel).unlink()                                              # the advice: delete the listed file
    assert _cli(capsys, *cmd, "--out", out)[0] == 0                   # rerun the same build command
    code, printed = _cli(capsys, "verify", out, "-q")
    assert code == 0, printed
    assert "0 missing, 0 changed" in printed and "to repair" not in printed
    np.testing.assert_array_equal(np.asarray(Image.open(out / rel)), original)


def test_only_missing_files_need_no_deleting(builds, tmp_path, capsys):
    cmd, built = builds["comp1k"]
    out = tmp_path / "d"
    shutil.copytree(built, out)
    (out / read_manifest(out)[0]["merged"]).unlink()
    code, printed = _cli(capsys, "verify", out, "-q")
    assert code == 1 and printed.splitlines()[-1].startswith(
        f"to repair {out}: rerun the same matbench build-comp1k command")
