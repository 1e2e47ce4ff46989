"""Write ``quickstart.ipynb`` (outputs cleared) from the cells below.

Run ``python notebooks/make_quickstart.py`` after editing this file; commit both.
``tests/test_notebook.py`` executes the notebook on the sample data so it never rots.
"""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    ("md", """# matbench quick start

Build a Composition-style test set, run a baseline, score it and look at the results, all
through the Python API. It runs on the **built-in sample release** (generated on the spot, no
download, no licence). With the real Adobe release, pass its folder and your VOC folder to
`build_comp1k` instead; everything else is the same."""),
    ("code", """import tempfile
from pathlib import Path

import matbench
from matbench.build import build_comp1k
from matbench.baselines import run_baseline
from matbench.datasets.sample import make_sample_release

# A new folder in the system's temporary folder, never beside the notebook: point `work` at a
# folder of your own to keep the results.
work = Path(tempfile.mkdtemp(prefix="matbench-quickstart-"))
print(f"working folder: {work}")"""),
    ("md", """## 1. A release laid out like Adobe's

Ten foregrounds with exact alpha mattes, one per matting class (SIM's class names), and
VOC-style backgrounds cut from scikit-image's photographs. Two backgrounds per foreground keep
this notebook quick (`matbench demo` uses five). The release also holds a small training set
(`release.training_set`, COCO-named backgrounds in `release.coco_root`) for `build_train`."""),
    ("code", """release = make_sample_release(work / "sample-release", bgs_per_fg=2)
[(f["name"], f["class"]) for f in release.foregrounds]"""),
    ("md", """## 2. Build the composites

Pixel-identical to Adobe's composition script; the trimaps are the release's official ones
(the sample ships them, as the real release does), and the number of backgrounds per
foreground comes from the release's name lists."""),
    ("code", """dataset = work / "dataset"
summary = build_comp1k(release.adobe_root, release.voc_root, dataset, progress=False)
summary"""),
    ("md", """## 3. Predictions

`trimap-mid` (128 in the unknown region) is the floor every method must beat. As a sanity
check of the scoring, an *oracle* folder holds the true alpha of every composite: it must
score 0."""),
    ("code", """run_baseline("trimap-mid", work / "predictions" / "trimap-mid", dataset=dataset, progress=False)

import shutil
from matbench.manifest import read_manifest

oracle = work / "predictions" / "oracle"
oracle.mkdir(parents=True, exist_ok=True)
for row in read_manifest(dataset):
    shutil.copyfile(dataset / row["alpha"], oracle / f"{row['image']}.png")"""),
    ("md", """## 4. Score: one row per model × image

SAD, Grad and Conn in thousands and raw MSE, as the DIM MATLAB evaluation code computes them;
`fg`, `bg` and `class` come from the dataset's manifest."""),
    ("code", """df = matbench.score([work / "predictions" / "trimap-mid", work / "predictions" / "oracle"],
                    dataset=dataset, progress=False)
assert (df[df.model == "oracle"][["sad", "mse", "grad", "conn"]] == 0).all().all()
df.head()"""),
    ("code", """from matbench.leaderboard import format_leaderboard

board = matbench.leaderboard(df)
print(format_leaderboard(board, "md"))"""),
    ("md", """Is the difference real? The paired comparison looks image by image: the mean difference
with a bootstrap interval, the share of images each model wins, and a Wilcoxon signed-rank test."""),
    ("code", """from matbench.compare import compare, format_comparison

print(format_comparison(compare(df), "md"))"""),
    ("md", """## 5. Distributions

Per-image SAD of the floor, by matting class: thin structures (hair, net, web) and
semi-transparent ones (glass, smoke, plastic) spread differently."""),
    ("code", """floor = df[df.model == "trimap-mid"]
floor.groupby("class")["sad"].describe()[["count", "mean", "min", "max"]].sort_values("mean")"""),
    ("code", """from IPython.display import HTML, display
from matbench import charts

models = list(board["model"])
display(HTML(charts.group_chart(matbench.leaderboard(df, by="class", ci=False), "class", models, "paper",
                                charts.model_colours(models))))"""),
    ("md", """## 6. Look at the worst composite

Composite, trimap and the floor's error |prediction − alpha| of the image with the largest SAD."""),
    ("code", """import numpy as np
from PIL import Image

worst = floor.sort_values("sad").iloc[-1]
row = {r["image"]: r for r in read_manifest(dataset)}[worst["image"]]
composite = Image.open(dataset / row["merged"])
trimap = Image.open(dataset / row["trimap"])
error = np.abs(np.asarray(Image.open(work / "predictions" / "trimap-mid" / f"{worst['image']}.png"), int)
               - np.asarray(Image.open(dataset / row["alpha"]), int)).astype(np.uint8)
print(worst["image"], worst["class"], f"SAD {worst['sad']:.2f}")
display(composite, trimap, Image.fromarray(error))"""),
    ("md", """## 7. The whole thing as one HTML file

Leaderboard, paired comparison, charts, per-class tables and the worst images of every model,
self-contained (what `matbench report` writes from a `score --out` folder)."""),
    ("code", """from matbench.report import write_report

report = write_report(work / "report.html", df, title="quick start")
report.stat().st_size > 0"""),
]


def build() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids: regenerating gives the same file
    return nb


if __name__ == "__main__":
    path = Path(__file__).with_name("quickstart.ipynb")
    nbformat.validate(build())
    nbformat.write(build(), path)
    print(f"wrote {path}")
