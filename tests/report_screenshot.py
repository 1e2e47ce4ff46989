"""Render a matbench report in headless Chromium and save screenshots for review.

    python tests/report_screenshot.py [REPORT.html] [--out DIR] [--width 1400,1000]

Without REPORT.html, runs ``matbench demo`` on a small sample in a temporary folder and
shoots its report. Writes ``DIR/report-<width>.png`` (the whole page, trimmed below the
content) and ``DIR/report-<width>-gallery.png`` (the first gallery image opened, as a click
shows it). Chromium is found on PATH (``chromium``, ``chromium-browser``, ``google-chrome``)
or at ``/usr/bin/chromium`` (Debian: ``apt-get install chromium``); it runs with a fresh
profile and no network services. ``tests/test_report.py`` imports :func:`find_chromium`
and :func:`screenshot`.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]
PAGE_HEIGHT = 16000  # px: the window is this tall, then the picture is trimmed below the content


def find_chromium() -> str | None:
    """The path of a Chromium or Chrome executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def screenshot(html_path, png_path, *, width: int = 1400, height: int = PAGE_HEIGHT, fragment: str = "",
               trim: bool = True, timeout: int = 120) -> Path:
    """Render ``html_path`` (``#fragment`` appended) at ``width`` × ``height`` px and save the
    PNG, trimmed to the content's height when ``trim``. Raises RuntimeError when Chromium is
    missing or fails."""
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("Chromium not found")
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    url = Path(html_path).resolve().as_uri() + (f"#{fragment}" if fragment else "")
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png_path}",
                            f"--window-size={width},{height}", url], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0 or not png_path.is_file():
        raise RuntimeError(f"Chromium failed ({r.returncode}): {r.stderr[-500:]}")
    if trim:
        _trim(png_path)
    return png_path


def _trim(png_path: Path) -> None:
    """Cut the white rows below the last non-white one (plus a margin)."""
    import numpy as np
    from PIL import Image

    im = Image.open(png_path).convert("RGB")
    a = np.asarray(im)
    rows = np.flatnonzero((a < 250).any(axis=(1, 2)))
    if rows.size:
        im.crop((0, 0, im.width, min(im.height, int(rows[-1]) + 40))).save(png_path)


def _demo_report(folder: Path) -> Path:
    from matbench.demo import demo

    return demo(folder / "demo", jobs=2, progress=False, bgs_per_fg=2, size=192, echo=None)["report"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", nargs="?", help="the HTML report (default: make one with matbench demo)")
    ap.add_argument("--out", default="report-screenshots", help="folder for the PNGs")
    ap.add_argument("--width", default="1400,1000", help="window widths in px, comma-separated")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(args.report) if args.report else _demo_report(Path(tmp))
        for w in [int(x) for x in args.width.split(",")]:
            for suffix, fragment, height, trim in (("", "", PAGE_HEIGHT, True), ("-gallery", "g1", 1000, False)):
                path = screenshot(report, Path(args.out) / f"report-{w}{suffix}.png", width=w, height=height,
                                  fragment=fragment, trim=trim)
                print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
