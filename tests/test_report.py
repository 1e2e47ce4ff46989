"""``matbench report``: one self-contained HTML5 file over any ``score --out`` folder.

Two models on the small sample dataset: trimap-mid (a real run) and a model whose predictions
the test writes (the alpha with noise in the unknown region), named with characters HTML must
escape. The page is parsed with html5lib in strict mode (a parse error fails the test).
"""
import base64
import hashlib
import io
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from matbench.cli import main
from matbench.errors import MatbenchError

NOISY = "noisy <alpha> & a long model name: lr 1e-4, batch 16, stage-3 refined (ours)"
UNITS = ("SAD/1e3", "MSE×1e3", "Grad/1e3", "Conn/1e3")
SVG = "{http://www.w3.org/2000/svg}"  # html5lib puts inline SVG in its namespace


@pytest.fixture(scope="module")
def scored(small_dataset, tmp_path_factory):
    """``(root, scores folder)``: both models scored with ``matbench score --out``."""
    from matbench.baselines import run_baseline
    from matbench.manifest import read_manifest

    root = tmp_path_factory.mktemp("report")
    run_baseline("trimap-mid", root / "preds" / "trimap-mid", dataset=small_dataset, progress=False)
    rng = np.random.default_rng(0)
    for row in read_manifest(small_dataset):
        alpha = np.asarray(Image.open(small_dataset / row["alpha"]), dtype=np.int16)
        trimap = np.asarray(Image.open(small_dataset / row["trimap"]))
        noise = rng.integers(-40, 41, alpha.shape) * (trimap == 128)
        (root / "preds" / "noisy").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(alpha + noise, 0, 255).astype(np.uint8)).save(root / "preds" / "noisy" /
                                                                               f"{row['image']}.png")
    assert _cli(["score", str(root / "preds" / "trimap-mid"), f"{NOISY}={root / 'preds' / 'noisy'}", "--dataset",
                 str(small_dataset), "--out", str(root / "scores"), "-q"]) == 0
    return root, root / "scores"


def _cli(args) -> int:
    """``matbench ARGS`` in this process; its exit status."""
    try:
        main(args)
    except SystemExit as e:
        return e.code or 0
    return 0


@pytest.fixture(scope="module")
def page(scored) -> str:
    """The report with the default options, rendered once for the tests that only read it."""
    return _report(scored)


def _parse(text):
    import html5lib

    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parse(text)  # raises html5lib.html5parser.ParseError on any HTML5 parse error


def _report(scored, **kwargs):
    from matbench.report import write_report

    root, scores = scored
    return write_report(root / "report.html", scores, **kwargs).read_text(encoding="utf-8")


def _text(el) -> str:
    return "".join(el.itertext())


def _external_references(text: str) -> list[str]:
    """Every reference that would make a browser fetch something: src/href not data:/#,
    url(...) not #, @import, <script src>, <link>; http(s) anywhere except the SVG/XLink
    namespace names matplotlib writes."""
    refs = [v for v in re.findall(r'(?:src|href)="([^"]*)"', text) if not v.startswith(("data:", "#"))]
    refs += [v for v in re.findall(r"url\(([^)]*)\)", text) if not v.startswith("#")]
    refs += re.findall(r"@import|<link\b|<script\b|<iframe\b", text)
    bare = re.sub(r'xmlns(:xlink)?="http://www\.w3\.org/(2000/svg|1999/xlink)"', "", text)
    return refs + re.findall(r"https?://\S{0,60}", bare)


def test_report_is_html5_self_contained_with_every_model_metric_and_unit(scored, page):
    root, scores = scored
    text = page
    doc = _parse(text)
    assert text.startswith("<!DOCTYPE html>")
    assert _external_references(text) == []
    per_image = pd.read_csv(scores / "per_image.csv")
    models = ["trimap-mid", NOISY]
    assert set(per_image["model"]) == set(models)
    # the leaderboard: every model, every metric with its unit, intervals
    board = doc.find(".//table[@class='measured']")
    heads = [_text(th) for th in board.iter("th")]
    assert all(u in heads for u in UNITS)
    cells = [[_text(td) for td in tr.iter("td")] for tr in board.iter("tr")][1:]
    assert sorted(c[1] for c in cells) == sorted(models)
    assert all(re.search(r"\[\d+\.\d+–\d+\.\d+\]", c[3]) for c in cells)  # SAD with its interval
    assert NOISY not in text and "noisy &lt;alpha&gt; &amp;" in text  # escaped everywhere
    # charts: matplotlib SVGs with their axes labelled in units and ticked
    svgs = list(doc.iter(f"{SVG}svg"))
    labels = {s.get("aria-label") for s in svgs}
    assert {"means", "distribution", "size", "by-class"} <= labels
    for svg in svgs:
        words = " ".join(_text(t) for t in svg.iter(f"{SVG}text"))
        assert all(u in words for u in UNITS), svg.get("aria-label")
        ticks = [g for g in svg.iter(f"{SVG}g") if re.search(r"-xtick_\d+$", g.get("id", ""))]
        assert len(ticks) >= 4 * 2  # four panels, two ticks or more each
    # per-class and per-foreground tables of all four metrics
    for group in ("class", "fg"):
        table = doc.find(f".//table[@class='by-{group}']")
        assert all(u in [_text(th) for th in table.iter("th")] for u in UNITS)
    # the paired comparison, worded
    statements = [_text(li) for li in doc.find(".//ul[@class='statements']")]
    assert len(statements) == 4 and all("trimap-mid" in s and "Wilcoxon signed-rank p" in s for s in statements)


def test_gallery_shows_each_models_worst_images_over_distinct_foregrounds(scored, page, small_dataset):
    root, scores = scored
    doc = _parse(page)  # worst=3 by default
    per_image = pd.read_csv(scores / "per_image.csv")
    manifest = pd.read_csv(small_dataset / "manifest.csv").set_index("image")
    gallery = doc.find(".//div[@class='gallery']")
    rows = [d for d in gallery.iter("div") if d.get("class") == "row"]
    boxes = [d for d in gallery.iter("div") if d.get("class") == "lightbox"]
    assert len(rows) == len(boxes) == 2 * 3
    order = [_text(h) for h in gallery.iter("h3")]
    assert order == [NOISY, "trimap-mid"]  # leaderboard order
    for model, model_rows in zip(order, (rows[:3], rows[3:])):
        mine = per_image[per_image["model"] == model].sort_values("sad/1e3", ascending=False)
        shown = [_text(r.find("div")).split(" ")[0] for r in model_rows]
        fgs = [manifest.loc[s, "fg"] for s in shown]
        assert len(set(fgs)) == 3  # distinct foregrounds
        expected = mine.drop_duplicates("fg").head(3)["image"].tolist()
        assert shown == expected
    first = boxes[0]
    captions = [_text(f) for f in first.iter("figcaption")]
    assert captions == ["composite", "trimap", "ground truth", "prediction", "error"]
    uris = [img.get("src") for img in first.iter("img")]
    images = [Image.open(io.BytesIO(base64.b64decode(u.split(",", 1)[1]))) for u in uris]
    image = _text(rows[0].find("div")).split(" ")[0]
    row = manifest.loc[image]
    # 128 px images are shown at full size: the ground truth and trimap are the dataset's files
    np.testing.assert_array_equal(np.asarray(images[2]), np.asarray(Image.open(small_dataset / row["alpha"])))
    np.testing.assert_array_equal(np.asarray(images[1]), np.asarray(Image.open(small_dataset / row["trimap"])))
    pred = np.asarray(Image.open(root / "preds" / "noisy" / f"{image}.png"))
    np.testing.assert_array_equal(np.asarray(images[3]), pred)
    # the error map: light grey outside the unknown region, the colour of |pred − alpha| inside
    from matplotlib import colormaps

    err = np.asarray(images[4])
    trimap = np.asarray(Image.open(small_dataset / row["trimap"]))
    assert (err[trimap != 128] == 200).all()
    diff = np.abs(pred.astype(int) - np.asarray(Image.open(small_dataset / row["alpha"]), dtype=int))
    lut = np.round(colormaps["inferno"](np.arange(256))[:, :3] * 255).astype(np.uint8)
    np.testing.assert_array_equal(err[trimap == 128], lut[diff[trimap == 128]])
    thumbs = [img for r in rows for img in r.iter("img")]
    assert len(thumbs) == 2 * 3 * 5


def test_footer_has_version_manifest_hash_and_runs(page, small_dataset):
    from matbench import __version__

    doc = _parse(page)
    footer = _text(doc.find(".//footer"))
    assert f"matbench {__version__}" in footer
    assert hashlib.sha256((small_dataset / "manifest.csv").read_bytes()).hexdigest() in footer
    assert "trimap-mid" in footer and "no run.json" in footer  # the noisy model has no run.json


def test_without_the_dataset_the_report_says_why_and_can_be_pointed_at_it(scored, small_dataset, tmp_path):
    import shutil

    from matbench.report import write_report

    root, scores = scored
    moved = tmp_path / "scores"
    shutil.copytree(scores, moved)
    meta = (moved / "per_image.json").read_text(encoding="utf-8")
    (moved / "per_image.json").write_text(meta.replace(str(small_dataset.resolve()), str(tmp_path / "gone")))
    text = write_report(tmp_path / "r.html", moved).read_text(encoding="utf-8")
    assert "No gallery: the dataset the scores record" in text and "give --dataset DIR" in text
    assert 'class="gallery"' not in text
    text = write_report(tmp_path / "r.html", moved, dataset=small_dataset).read_text(encoding="utf-8")
    assert 'class="gallery"' in text
    (moved / "per_image.json").unlink()  # no provenance at all: no folders known
    text = write_report(tmp_path / "r.html", moved / "per_image.csv", dataset=small_dataset).read_text()
    assert "No gallery: no prediction folder for trimap-mid" in text


def test_cli_report_and_one_line_errors(scored, tmp_path, capsys):
    root, scores = scored
    out = tmp_path / "r.html"
    assert _cli(["report", str(scores), "--out", str(out), "--baseline", "trimap-mid", "--worst", "1"]) == 0
    assert f"{NOISY.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')} beats trimap-mid" in \
        out.read_text(encoding="utf-8")
    for args, words in ((["report", str(tmp_path / "none"), "--out", str(out)], "file not found"),
                        (["report", str(scores), "--out", str(out), "--baseline", "dim"], "--baseline dim"),
                        (["report", str(scores), "--out", str(out), "--predictions", str(tmp_path)], "MODEL=DIR"),
                        (["report", str(root / "preds" / "trimap-mid"), "--out", str(out)],
                         "score it first (matbench score"),
                        (["report", str(scores), "--out", str(root / "preds" / "noisy" / "r.html")],
                         "is inside the prediction folder"),
                        (["report", str(scores), "--out", str(scores / "leaderboard.md")], "a file of matbench score"),
                        (["report", str(scores), "--out", str(out), "--dataset", str(tmp_path)],
                         "not the dataset"),
                        (["report", str(scores), str(scores), "--out", str(out)],
                         f"{scores}: given twice")):  # not a width sweep, and no width label suggested
        capsys.readouterr()
        code = _cli(args)
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and words in err, (args, err)
        assert "  " not in err and " ;" not in err and " :" not in err and ".." not in err, err
    # an existing folder: the report goes to FOLDER/report.html
    (tmp_path / "dir").mkdir()
    assert _cli(["report", str(scores), "--out", str(tmp_path / "dir"), "--worst", "0"]) == 0
    assert (tmp_path / "dir" / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_refuses_a_dataset_the_scores_were_not_computed_on(scored, small_dataset, tmp_path):
    """The manifest's sha256 recorded by score decides; a copy of the same dataset elsewhere is fine."""
    import shutil

    from matbench.report import write_report

    _, scores = scored
    copy = tmp_path / "copy"
    shutil.copytree(small_dataset, copy)
    assert 'class="gallery"' in write_report(tmp_path / "a.html", scores, dataset=copy, worst=1).read_text()
    other = tmp_path / "other"
    shutil.copytree(small_dataset, other)
    rows = (other / "manifest.csv").read_text().splitlines()
    (other / "manifest.csv").write_text("\n".join(rows[:-1]) + "\n")  # one composite fewer: another dataset
    with pytest.raises(MatbenchError, match="not the dataset .* were scored against"):
        write_report(tmp_path / "b.html", scores, dataset=other)
    assert not (tmp_path / "b.html").exists()


def test_report_renders_in_headless_chromium(scored, page, tmp_path):
    from report_screenshot import find_chromium, screenshot

    if find_chromium() is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); the HTML is still parsed above")
    html = scored[0] / "chromium.html"
    html.write_text(page, encoding="utf-8")
    png = screenshot(html, tmp_path / "page.png", width=1400, height=6000)
    page = np.asarray(Image.open(png).convert("RGB"))
    assert page.shape[1] == 1400 and page.shape[0] > 2000  # trimmed to the content: a long page
    assert (page < 128).mean() > 0.005  # something drawn: text, charts, thumbnails
    box = np.asarray(Image.open(screenshot(html, tmp_path / "box.png", width=1000, height=800, fragment="g1",
                                           trim=False)).convert("RGB"))
    assert (box[400:, :, :].mean(axis=2) < 40).mean() > 0.3  # the dark overlay of the opened image


def test_report_api_refuses_unreadable_scores(tmp_path):
    from matbench.report import write_report

    (tmp_path / "per_image.csv").write_text("a,b\n1,2\n")
    with pytest.raises(MatbenchError, match="lacks columns"):
        write_report(tmp_path / "r.html", tmp_path)


def test_leaderboard_html_file_is_a_complete_page(scored, tmp_path):
    """score --format html used to write a bare fragment: the file is now a page of its own."""
    from matbench.leaderboard import leaderboard, write_leaderboard
    from matbench.scorefiles import read_per_image

    (path,) = write_leaderboard(leaderboard(read_per_image(scored[1]), n_boot=50), tmp_path, ["html"])
    text = path.read_text(encoding="utf-8")
    doc = _parse(text)
    assert text.startswith("<!DOCTYPE html>") and doc.find(".//style") is not None
    assert doc.find(".//table[@class='measured']") is not None and "matbench report" in text
    assert _external_references(text) == []


def test_gallery_reads_mattes_with_the_channel_the_scores_record(small_dataset, tmp_path):
    """Scores made with --matte-channel alpha (cut-out predictions: photo colours, the matte in
    the alpha channel) get a report whose gallery shows the alpha channel, as it was scored;
    the report used to read them without the channel and stop on the ambiguous files."""
    from matbench.manifest import read_manifest

    rows = read_manifest(small_dataset)
    rng = np.random.default_rng(1)
    preds = tmp_path / "cutouts"
    preds.mkdir()
    mattes = {}
    for row in rows:
        alpha = np.asarray(Image.open(small_dataset / row["alpha"]))
        mattes[row["image"]] = np.clip(alpha.astype(int) + rng.integers(-30, 31, alpha.shape), 0, 255).astype(np.uint8)
        photo = rng.integers(0, 256, (*alpha.shape, 3), dtype=np.uint8)  # channels differ: ambiguous
        Image.fromarray(np.dstack([photo, mattes[row["image"]]]), "RGBA").save(preds / f"{row['image']}.png")
    assert _cli(["score", str(preds), "--dataset", str(small_dataset), "--matte-channel", "alpha", "--out",
                 str(tmp_path / "scores"), "-q"]) == 0
    out = tmp_path / "r.html"
    assert _cli(["report", str(tmp_path / "scores"), "--out", str(out), "--worst", "2"]) == 0
    doc = _parse(out.read_text(encoding="utf-8"))
    rows_shown = [d for d in doc.find(".//div[@class='gallery']").iter("div") if d.get("class") == "row"]
    assert len(rows_shown) == 2
    for r in rows_shown:
        image = _text(r.find("div")).split(" ")[0]
        figures = {_text(f.find("figcaption")): f.find("img").get("src") for f in r.iter("figure")}
        shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(figures["prediction"].split(",", 1)[1]))))
        np.testing.assert_array_equal(shown, mattes[image])  # 128 px: shown at full size
    # scores that lost their record (no per_image.json): the channel is given
    (tmp_path / "scores" / "per_image.json").unlink()
    given = ["report", str(tmp_path / "scores" / "per_image.csv"), "--out", str(out), "--dataset",
             str(small_dataset), "--predictions", f"cutouts={preds}"]
    assert _cli(given) == 2  # the ambiguous files refused, as score refuses them
    assert _cli([*given, "--matte-channel", "alpha"]) == 0 and 'class="gallery"' in out.read_text(encoding="utf-8")


def test_report_accepts_quiet_as_every_command_does(scored, tmp_path, capsys):
    import click

    from matbench.cli import cli

    def commands(group):
        for cmd in group.commands.values():
            yield from commands(cmd) if isinstance(cmd, click.Group) else [cmd]

    for cmd in commands(cli):  # each command takes --quiet/-q, so a script can pass it to every one
        assert {"--quiet", "-q"} <= {o for p in cmd.params for o in p.opts}, cmd.name
    root, scores = scored
    capsys.readouterr()
    assert _cli(["report", str(scores), "--out", str(tmp_path / "r.html"), "--worst", "0", "-q"]) == 0
    assert capsys.readouterr().out == f"report: {tmp_path / 'r.html'}\n"


def test_a_foreground_in_two_classes_is_said_next_to_the_foreground_table():
    import pandas as pd

    from matbench.report import _shared_foregrounds_note

    per_image = pd.DataFrame({"image": ["a_1", "a_2", "b_1"], "fg": ["a.jpg", "a.jpg", "b.jpg"],
                              "class": ["defocus", "plant_flower", "fur"]})
    note = _shared_foregrounds_note(per_image)  # 2 foregrounds, 3 classes
    assert "1 foreground is in several classes (a.jpg: defocus, plant_flower)" in note
    assert _shared_foregrounds_note(per_image.assign(**{"class": ["defocus", "defocus", "fur"]})) == ""
    assert _shared_foregrounds_note(per_image.drop(columns="class")) == ""


def test_baseline_with_one_model_is_warned_about(scored, small_dataset, tmp_path):
    """A paired comparison needs two models: with one, --baseline is ignored with a warning (as
    score does), not silently."""
    from matbench.report import write_report
    from matbench.score import score
    from matbench.scorefiles import write_score_outputs

    root, _ = scored
    write_score_outputs(score([root / "preds" / "trimap-mid"], dataset=small_dataset, progress=False),
                        tmp_path / "one")
    with pytest.warns(UserWarning, match="--baseline trimap-mid: ignored, a baseline needs at least two models"):
        text = write_report(tmp_path / "r.html", tmp_path / "one", baseline="trimap-mid", worst=0).read_text()
    assert "Paired comparison" not in text
