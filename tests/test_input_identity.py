"""What a result was made from is checked by content, not by path (trial findings):

- ``matbench trimap --out`` refuses a folder holding another trimap set (trimaps.json);
- ``run.json`` records the sha256 of the dataset's manifest.csv and of a ``--trimaps`` folder's
  files; a resumed run with changed trimaps is refused, a copied dataset is the same dataset;
- ``score`` warns when the trimaps a prediction folder was made with have changed since;
- ``report`` refuses to show predictions other than those scored;
- a published CSV with raw MSE and no units column is warned about;
- 0/1 predictions of non-binary alphas are warned about.
Expected values come from first principles (file bytes, hashlib, the SAD definition).
"""
import hashlib
import json
import shutil
import warnings

import numpy as np
import pytest
from PIL import Image

from matbench.errors import MatbenchError


def _trimaps(dataset, out, seed):
    from matbench.trimap import write_trimaps

    return write_trimaps(out, "random", dataset=dataset, seed=seed, progress=False)


def test_trimap_out_with_another_set_is_refused_same_set_resumes(tmp_path, small_dataset):
    _trimaps(small_dataset, tmp_path / "rt", 1)
    record = json.loads((tmp_path / "rt" / "trimaps.json").read_text())
    assert record["manifest_sha256"] == hashlib.sha256((small_dataset / "manifest.csv").read_bytes()).hexdigest()
    before = {p.name: p.read_bytes() for p in (tmp_path / "rt").iterdir()}
    with pytest.raises(MatbenchError, match=r"rt: holds a different trimap set \(seed 1 then, 2 now"):
        _trimaps(small_dataset, tmp_path / "rt", 2)
    assert {p.name: p.read_bytes() for p in (tmp_path / "rt").iterdir()} == before  # nothing written
    _trimaps(small_dataset, tmp_path / "rt", 1)  # same options: resumes
    copy = tmp_path / "copy"
    shutil.copytree(small_dataset, copy)
    _trimaps(copy, tmp_path / "rt", 1)  # a copy of the dataset is the same dataset


def _folder_sha(folder):
    h = hashlib.sha256()
    for p in sorted(folder.glob("*.png")):
        h.update(f"{p.name}\0{hashlib.sha256(p.read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest()


def test_run_records_and_checks_its_trimaps_score_warns_when_they_changed(tmp_path, small_dataset):
    from matbench import score
    from matbench.baselines import run_baseline

    _trimaps(small_dataset, tmp_path / "rt", 1)
    run_baseline("trimap-mid", tmp_path / "p", dataset=small_dataset, trimaps=tmp_path / "rt", progress=False)
    given = json.loads((tmp_path / "p" / "run.json").read_text())["input"]
    assert given["trimaps_sha256"] == _folder_sha(tmp_path / "rt")
    assert given["dataset_manifest_sha256"] == hashlib.sha256((small_dataset / "manifest.csv").read_bytes()).hexdigest()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score([tmp_path / "p"], dataset=small_dataset, trimap_dir=tmp_path / "rt", progress=False)
    shutil.rmtree(tmp_path / "rt")  # the trial's overwrite: another seed into the same folder
    _trimaps(small_dataset, tmp_path / "rt", 2)
    with pytest.warns(UserWarning, match=r"made from trimaps .*rt, which have changed since"):
        score([tmp_path / "p"], dataset=small_dataset, trimap_dir=tmp_path / "rt", progress=False)
    with pytest.raises(MatbenchError, match=r"holds predictions of another input \(trimaps .*rt changed since"):
        run_baseline("trimap-mid", tmp_path / "p", dataset=small_dataset, trimaps=tmp_path / "rt", progress=False)


def test_a_copied_dataset_is_the_same_dataset(tmp_path, small_dataset):
    from matbench import score
    from matbench.baselines import run_baseline

    copy = tmp_path / "dcopy"
    shutil.copytree(small_dataset, copy)
    run_baseline("trimap-mid", tmp_path / "cf", dataset=small_dataset, progress=False)
    run_baseline("trimap-mid", tmp_path / "cf", dataset=copy, progress=False)  # resumes: nothing to do
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score([tmp_path / "cf"], dataset=copy, progress=False)
    rows = (copy / "manifest.csv").read_text().splitlines()
    (copy / "manifest.csv").write_text("\n".join(rows[:-1]) + "\n")  # another dataset now
    with pytest.raises(MatbenchError, match=r"another input \(dataset .* its manifest.csv differs"):
        run_baseline("trimap-mid", tmp_path / "cf", dataset=copy, progress=False)
    with pytest.warns(UserWarning, match=r"made from dataset .*, scored against .*dcopy \(another manifest.csv\)"):
        score([tmp_path / "cf"], dataset=copy, progress=False, allow_missing=True)


def test_zero_one_predictions_are_warned(tmp_path, small_dataset):
    from matbench import score
    from matbench.manifest import read_manifest

    (tmp_path / "p").mkdir()
    for row in read_manifest(small_dataset):
        alpha = np.asarray(Image.open(small_dataset / row["alpha"]))
        Image.fromarray((alpha >= 128).astype(np.uint8)).save(tmp_path / "p" / f"{row['image']}.png")  # no ×255
    n = len(read_manifest(small_dataset))
    with pytest.warns(UserWarning, match=rf"p: {n} of {n} prediction\(s\) hold only the values 0 and 1"):
        score([tmp_path / "p"], dataset=small_dataset, progress=False)


def test_published_raw_mse_without_units_is_warned(tmp_path):
    from matbench.leaderboard import published

    csv = tmp_path / "pub.csv"
    csv.write_text("method,sad,mse,grad,conn,source\nMine,10,0.002,5,9,me\nPaper,10,2.0,5,9,them\n")
    with pytest.warns(UserWarning, match=r"below 0.1 for Mine 0.002, .*units column"):
        pub = published(str(csv))
    assert pub["mse"].tolist() == [0.002, 2.0]  # still read as given
    csv.write_text("method,sad,mse,grad,conn,source,units\nMine,10,0.002,5,9,me,raw\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert published(str(csv))["mse"].tolist() == [2.0]


def test_report_refuses_predictions_other_than_those_scored(tmp_path, small_dataset):
    from matbench import score
    from matbench.baselines import run_baseline
    from matbench.manifest import read_manifest
    from matbench.report import write_report
    from matbench.scorefiles import write_score_outputs

    run_baseline("trimap-mid", tmp_path / "mid", dataset=small_dataset, progress=False)
    df = score({"m": tmp_path / "mid"}, dataset=small_dataset, progress=False)
    write_score_outputs(df, tmp_path / "s")
    other = tmp_path / "other"
    other.mkdir()
    for row in read_manifest(small_dataset):  # the alphas themselves: SAD 0, not the scored SAD
        shutil.copy(small_dataset / row["alpha"], other / f"{row['image']}.png")
    write_report(tmp_path / "ok.html", tmp_path / "s", dataset=small_dataset)
    with pytest.raises(MatbenchError, match=r"other/.*\.png: does not give the m score of .* recorded \(SAD 0 now.*this prediction, or the reference alpha or trimap, is not the one scored"):
        write_report(tmp_path / "r.html", tmp_path / "s", dataset=small_dataset, predictions={"m": other})
    assert not (tmp_path / "r.html").exists()


def test_sim_published_rows_say_which_set_was_scored(tmp_path, small_dataset):
    from matbench import score
    from matbench.baselines import run_baseline
    from matbench.leaderboard import leaderboard
    from matbench.manifest import read_manifest

    run_baseline("trimap-mid", tmp_path / "mid", dataset=small_dataset, progress=False)
    df = score([tmp_path / "mid"], dataset=small_dataset, progress=False)
    n = len(read_manifest(small_dataset))
    with pytest.warns(UserWarning, match=r"not comparable with the published SIM test set rows: .*dataset is not the SIM "
                                         rf"test set .*kind composition-1k.*has {n} composites, not 890"):
        leaderboard(df, with_published="sim", n_boot=10)
