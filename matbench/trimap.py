"""Trimaps from an alpha matte: 0 = background, 128 = unknown, 255 = foreground.

Three generators, all returning uint8 arrays with values exactly {0, 128, 255}:

``erode_dilate(alpha, kernel)``
    Morphology of the two masks, as in Deep Image Matting's test-trimap generation and
    mmagic's ``GenerateTrimap``: foreground = erode(A == 255), unknown = dilate(A > 0)
    minus that, background = the rest, with an elliptical structuring element of
    ``kernel`` × ``kernel`` pixels (``cv2.MORPH_ELLIPSE``). Used for Composition-1K-style
    test trimaps when the release's official ``trimaps/`` are absent; default kernel
    ``DEFAULT_TEST_KERNEL`` = 25, i.e. the unknown band reaches 12 px into the definite
    foreground and background on either side of the soft transition (the ``medium`` width).
``random_erode_dilate(alpha, name, seed)``
    Training augmentation as in mmagic's DIM config (``GenerateTrimap(kernel_size=(1, 30))``):
    independent erosion and dilation kernel sizes drawn uniformly from 1..29. The draw is a
    function of ``seed`` and the image ``name`` only (sha256-seeded), so it is reproducible
    across runs, processes and job counts.
``distance_band(alpha, width)``
    Euclidean distance-transform band: pixels within ``width`` px of a pixel that is not
    definite foreground (resp. background) are unknown (as mmagic's
    ``GenerateTrimapWithDistTransform``). Exact L2 distance (``cv2.DIST_MASK_PRECISE``).

Named widths (half-widths of the unknown band, in px), for small/large trimaps in the spirit
of alphamatting.com's Trimap1/Trimap2: ``small`` = 5, ``medium`` = 12, ``large`` = 20. For
``erode_dilate`` a width r means a (2r + 1)-pixel kernel.

Trimap sweeps (:func:`write_trimaps`): one trimap per composite of a built dataset, named like
the composite (``<image>.png``), for one or several widths; several widths go into one
subfolder each (``w5/``, ``w12/``, ``w20/``), and every folder gets a ``trimaps.json`` saying
how it was made (method, width in px, kernel, seed, source). ``matbench run --dataset D
--trimaps T/w12`` and ``matbench score --dataset D --trimap-dir T/w12`` use such a folder.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from matbench.errors import MatbenchError, capped_list

NAMED_WIDTHS = {"small": 5, "medium": 12, "large": 20}
DEFAULT_TEST_KERNEL = 25
RANDOM_KERNEL_RANGE = (1, 29)  # inclusive: mmagic's kernel_size=(1, 30) over range(1, 30)
METHODS = ("erode-dilate", "random", "distance")
TRIMAPS_JSON = "trimaps.json"


def width_px(width) -> int:
    """Half-width in px of a named (``small``/``medium``/``large``) or numeric width."""
    if isinstance(width, str):
        if width in NAMED_WIDTHS:
            return NAMED_WIDTHS[width]
        try:
            width = int(width)
        except ValueError:
            raise MatbenchError(
                f"trimap width {width!r}: expected a number of pixels or one of {', '.join(NAMED_WIDTHS)}") from None
    width = int(width)
    if width < 0:
        raise MatbenchError(f"trimap width {width}: must be >= 0")
    return width


def _ellipse(size: int) -> np.ndarray:
    import cv2

    size = int(size)
    if size < 1:
        raise MatbenchError(f"trimap kernel {size}: must be >= 1")
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def _check_alpha(alpha) -> np.ndarray:
    alpha = np.asarray(alpha)
    if alpha.ndim != 2 or alpha.dtype != np.uint8:
        raise ValueError(f"trimap: expected a 2-D uint8 alpha, got {alpha.dtype} {alpha.shape}")
    return alpha


def _assemble(fg: np.ndarray, unknown_or_fg: np.ndarray) -> np.ndarray:
    trimap = np.zeros(fg.shape, np.uint8)
    trimap[unknown_or_fg] = 128
    trimap[fg] = 255
    return trimap


def erode_dilate(alpha, kernel: int = DEFAULT_TEST_KERNEL, *, dilate_kernel: int | None = None,
                 iterations: int = 1, dilate_iterations: int | None = None) -> np.ndarray:
    """Trimap (H×W uint8, 0/128/255) of a uint8 H×W ``alpha`` from erode(A == 255) and
    dilate(A > 0) with elliptical (``cv2.MORPH_ELLIPSE``) kernels: 255 where the eroded
    foreground is, 128 in the rest of the dilated ``A > 0``, 0 elsewhere.

    ``kernel`` is the erosion kernel size in px (and the dilation size unless ``dilate_kernel``
    is given); ``iterations`` the erosion's iteration count (and the dilation's unless
    ``dilate_iterations`` is given). Kernel 1 or 0 iterations leave a mask as it is.

    The one trimap morphology of matbench: test trimaps (mmagic's ``GenerateTrimap``, DIM),
    the training recipe's step 6 (:func:`matbench.training.samples.random_trimap`,
    ``docs/specs/training.md``) and the SIM script's ``gen_trimap``
    (:func:`matbench.sim_compose.trimap`, ``docs/specs/sim.md`` step 5), which the last two state as
    gray-level morphology: 255 where erode(A) = 255, 0 where dilate(A) = 0, else 128. The same
    thing: a gray erosion is the minimum over the (iterated) kernel and equals 255 exactly where
    every pixel there is 255, i.e. where the binary erosion of A == 255 is 1 (dilation likewise
    with the maximum and A > 0); the kernel holds its centre, so no pixel is both; OpenCV's
    default border ignores pixels outside the image in both forms. Computed in the gray form
    (no masks to build); tests/test_trimap.py checks both forms against it on random alphas.
    """
    import cv2

    alpha = _check_alpha(alpha)
    eroded = cv2.erode(alpha, _ellipse(kernel), iterations=int(iterations))
    dilated = cv2.dilate(alpha, _ellipse(kernel if dilate_kernel is None else dilate_kernel),
                         iterations=int(iterations if dilate_iterations is None else dilate_iterations))
    trimap = np.full(alpha.shape, 128, np.uint8)
    trimap[eroded == 255] = 255
    trimap[dilated == 0] = 0
    return trimap


def rng_for(seed: int, name: str) -> np.random.Generator:
    """A numpy Generator determined by ``seed`` and ``name`` only (not by process or order)."""
    digest = hashlib.sha256(f"{int(seed)}\0{name}".encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def random_kernels(seed: int, name: str, kernel_range=RANDOM_KERNEL_RANGE) -> tuple[int, int]:
    """(erode, dilate) kernel sizes drawn uniformly from ``kernel_range`` (inclusive)."""
    lo, hi = int(kernel_range[0]), int(kernel_range[1])
    if not 1 <= lo <= hi:
        raise MatbenchError(f"trimap kernel range {lo}-{hi}: expected 1 <= min <= max")
    rng = rng_for(seed, name)
    e, d = rng.integers(lo, hi + 1, size=2)
    return int(e), int(d)


def random_erode_dilate(alpha, name: str, seed: int = 0, kernel_range=RANDOM_KERNEL_RANGE) -> np.ndarray:
    """Erode/dilate trimap with per-image random kernel sizes (mmagic DIM range 1–29)."""
    e, d = random_kernels(seed, name, kernel_range)
    return erode_dilate(alpha, e, dilate_kernel=d)


def distance_band(alpha, width=NAMED_WIDTHS["medium"]) -> np.ndarray:
    """Trimap whose unknown band holds every pixel within ``width`` px (Euclidean) of a
    pixel that is not definite foreground and of one that is not definite background."""
    import cv2

    alpha = _check_alpha(alpha)
    r = width_px(width)
    fg = alpha == 255
    bg = alpha == 0
    # distanceTransform: distance of each non-zero pixel to the nearest zero pixel.
    if fg.all():
        fg_far = fg
    else:
        fg_far = cv2.distanceTransform(fg.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) > r
    if bg.all():
        bg_far = bg
    else:
        bg_far = cv2.distanceTransform(bg.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) > r
    return _assemble(fg_far, ~bg_far)


def per_foreground_hint(images, trimap_names, dataset=None) -> str:
    """A hint (`` (trimaps are per foreground; ...)``, or '') for images without a trimap: when
    a trimap is named after the foreground ``STEM`` of a composite ``STEM_K`` among ``images``
    (what ``matbench trimap ALPHA_DIR OUT`` writes from Composition-1K's per-foreground alphas),
    say that Composition-1K needs one per composite and the command that writes them."""
    import re

    names = set(trimap_names)
    if not any((m := re.match(r"^(.+)_\d+$", str(n))) and m[1] in names for n in images):
        return ""
    return (f" (trimaps are per foreground; Composition-1K needs one per composite: matbench trimap --dataset "
            f"{dataset or 'DATASET'} --out DIR, named like its images)")


def check_options(method: str, *, width=None, kernel: int | None = None, seed: int | None = None) -> None:
    """Refuse a method that does not exist and options the method would ignore or that
    contradict each other (MatbenchError, one line): ``kernel`` with ``width`` (both set the
    erode-dilate band), ``kernel`` with random or distance, ``width`` with random (its
    kernels are drawn per image), ``seed`` with anything but random. None means not given."""
    if method not in METHODS:
        raise MatbenchError(f"trimap method {method!r}: expected one of {', '.join(METHODS)}")
    if kernel is not None and width is not None:
        raise MatbenchError("--kernel and --width both set the erode-dilate band (kernel = 2 × width + 1): give one")
    if kernel is not None and method != "erode-dilate":
        raise MatbenchError(f"--kernel applies to --method erode-dilate, not {method} "
                            f"({'its kernels are drawn per image' if method == 'random' else 'it takes --width'})")
    if width is not None and method == "random":
        raise MatbenchError("--width does not apply to --method random (its kernels are drawn per image from "
                            f"{RANDOM_KERNEL_RANGE[0]}..{RANDOM_KERNEL_RANGE[1]})")
    if seed is not None and method != "random":
        raise MatbenchError(f"--seed applies to --method random only, not {method}")


def generate(alpha, method: str = "erode-dilate", *, name: str = "", seed: int | None = None,
             width=None, kernel: int | None = None) -> np.ndarray:
    """Trimap of ``alpha`` by ``method`` (``erode-dilate``, ``random`` or ``distance``).

    erode-dilate: ``kernel`` px, or 2·width + 1 when ``width`` is given, else
    ``DEFAULT_TEST_KERNEL``. random: per-image kernels from ``seed`` (default 0) and
    ``name``; other methods ignore ``seed``. distance: ``width`` px (default ``medium``).
    Conflicting ``width``/``kernel`` are refused (:func:`check_options`).
    """
    check_options(method, width=width, kernel=kernel)
    if method == "erode-dilate":
        if kernel is None:
            kernel = DEFAULT_TEST_KERNEL if width is None else 2 * width_px(width) + 1
        return erode_dilate(alpha, kernel)
    if method == "random":
        return random_erode_dilate(alpha, name, 0 if seed is None else seed)
    return distance_band(alpha, NAMED_WIDTHS["medium"] if width is None else width)


def make_trimaps(alpha_dir, out_dir, method: str = "erode-dilate", *, seed: int | None = None, width=None,
                 kernel: int | None = None, matte_channel: str | None = None, progress: bool = False) -> int:
    """Write ``out_dir/<stem>.png`` for every image in ``alpha_dir``; returns the count.

    The random method is seeded by ``seed`` (default 0) and the file stem. ``out_dir`` must
    not be ``alpha_dir``, lie inside it or contain it, nor lie inside a matbench-built dataset
    (:func:`matbench.io.check_out_dir`; sources are never written). Conflicting options are refused
    (:func:`check_options`). Several widths and datasets: :func:`write_trimaps`. Alphas are
    read by the one matte rule (:mod:`matbench.mattes`; ``matte_channel`` ``"red"``/``"alpha"``
    picks the channel of a colour alpha, e.g. a cut-out whose matte is in the alpha channel).
    Every alpha's header is checked before anything is written, all problems in one
    MatbenchError; alphas that turn out unreadable while decoding are reported together at the
    end (the other trimaps are written). Lossy (JPEG) alphas are warned about.
    """
    from matbench.io import check_out_dir, index_images, out_lock, write_png_atomic
    from matbench.mattes import InputCheck, raise_problems, try_read_matte

    check = InputCheck(matte_channel)
    alpha_dir, out_dir = Path(alpha_dir), Path(out_dir)
    images = index_images(alpha_dir, "alpha")
    check_out_dir(out_dir, [("alpha folder", alpha_dir)], option="output folder", contain=True)
    check_options(method, width=width, kernel=kernel, seed=seed)
    for path in images.values():
        check.matte(path, "alpha")
    check.raise_problems()
    check.notes.warn()
    items = list(images.items())
    if progress:
        from tqdm import tqdm

        items = tqdm(items, desc="trimaps", unit="img")
    with out_lock(out_dir):  # one matbench command writes into out_dir at a time
        problems = []
        for stem, path in items:
            alpha = try_read_matte(path, matte_channel, problems)
            if alpha is not None:
                write_png_atomic(out_dir / f"{stem}.png",
                                 generate(alpha, method, name=stem, seed=seed, width=width, kernel=kernel))
        raise_problems(problems, "input", done="the trimaps of the other alphas were written")
    return len(images)


def parse_widths(width) -> list[int] | None:
    """Widths in px from ``5,12,20``, ``small,large``, a number or a list (None stays None);
    each at most once."""
    if width is None:
        return None
    if isinstance(width, str):
        parts = [w.strip() for w in width.split(",")]
    else:
        parts = list(width) if isinstance(width, (list, tuple)) else [width]
    px = [width_px(w) for w in parts if str(w) != ""]
    if not px:
        raise MatbenchError(f"trimap width {width!r}: no width given")
    dup = sorted({w for w in px if px.count(w) > 1})
    if dup:
        raise MatbenchError(f"trimap width {width!r}: {dup[0]} px given twice")
    return px


def trimap_sets(method: str = "erode-dilate", *, width=None, kernel: int | None = None,
                seed: int | None = None) -> list[dict]:
    """The trimap sets ``write_trimaps`` makes: one dict per width (``folder`` ``w<px>``,
    ``method``, ``width_px``, ``kernel`` px for erode-dilate, ``seed`` for random), or one
    set (``folder`` None) without ``width``. Conflicting options are refused."""
    widths = parse_widths(width)
    check_options(method, width=widths, kernel=kernel, seed=seed)
    if widths is None:
        if method == "erode-dilate":
            k = DEFAULT_TEST_KERNEL if kernel is None else int(kernel)
            half = (k - 1) / 2
            return [{"folder": None, "method": method, "width_px": int(half) if half == int(half) else half,
                     "kernel": k}]
        if method == "distance":
            return [{"folder": None, "method": method, "width_px": NAMED_WIDTHS["medium"]}]
        return [{"folder": None, "method": method, "seed": 0 if seed is None else int(seed)}]
    return [{"folder": f"w{w}" if len(widths) > 1 else None, "method": method, "width_px": w,
             **({"kernel": 2 * w + 1} if method == "erode-dilate" else {})} for w in widths]


def _set_kwargs(s: dict) -> dict:
    """``generate`` keyword arguments of a trimap set."""
    if s["method"] == "erode-dilate":
        return {"kernel": s["kernel"]}
    if s["method"] == "distance":
        return {"width": s["width_px"]}
    return {"seed": s["seed"]}


def write_trimaps(out, method: str = "erode-dilate", *, dataset=None, alpha_dir=None, width=None,
                  kernel: int | None = None, seed: int | None = None, jobs: int = 1,
                  matte_channel: str | None = None, progress: bool = False) -> dict:
    """Write trimap sets into ``out``; return ``{folder: trimaps written}``.

    Source: ``dataset`` (a matbench dataset folder: one trimap per composite of its manifest,
    ``<image>.png``, from that composite's alpha; the random method is seeded by the image
    name) or ``alpha_dir`` (one trimap per alpha, ``<stem>.png``, as :func:`make_trimaps`).
    ``width``: px or small/medium/large, or several (``"5,12,20"``): each width then goes into
    ``out/w<px>/``; one set goes into ``out`` itself. Each folder gets ``trimaps.json``
    (method, ``width_px``, kernel, seed, source, count, matbench version). Conflicting
    options are refused (:func:`check_options`); a folder inside the dataset is never written.
    ``matte_channel``: as in :func:`make_trimaps`, in both forms (a dataset built by matbench
    has gray alphas, which it does not change; a hand-made manifest may list colour ones).
    """
    from matbench import __version__
    from matbench.io import out_lock, write_text_atomic

    if (dataset is None) == (alpha_dir is None):
        raise MatbenchError("give either a dataset (--dataset DIR --out DIR) or an alpha folder (ALPHA_DIR OUT_DIR)")
    sets = trimap_sets(method, width=width, kernel=kernel, seed=seed)
    out = Path(out)
    folders = [out / s["folder"] if s["folder"] else out for s in sets]
    if dataset is not None:  # the output folders are checked before the lock is taken (it writes into out)
        from matbench.manifest import manifest_sha256, read_manifest

        source = {"dataset": str(Path(dataset).resolve()), "manifest_sha256": manifest_sha256(dataset)}
        _check_outside(Path(dataset), read_manifest(dataset), folders)
    else:
        from matbench.io import check_out_dir

        source = {"alpha_dir": str(Path(alpha_dir).resolve())}
        for folder in folders:
            check_out_dir(folder, [("alpha folder", alpha_dir)], option="output folder", contain=True)
    with out_lock(out):  # one matbench command writes into out at a time
        check_layout(out, sweep=sets[0]["folder"] is not None)
        for s, folder in zip(sets, folders):  # every set's folder before the first is written
            check_same_set(folder, {**{k: v for k, v in s.items() if k != "folder"}, **source})
        if dataset is not None:
            counts = _dataset_trimaps(Path(dataset), sets, folders, jobs=jobs, progress=progress,
                                      matte_channel=matte_channel)
        else:
            counts = [make_trimaps(alpha_dir, folder, method, **_set_kwargs(s), matte_channel=matte_channel,
                                   progress=progress)
                      for s, folder in zip(sets, folders)]
        for s, folder, n in zip(sets, folders, counts):
            record = {"what": "matbench trimap: one trimap per image, 0 = background, 128 = unknown, 255 = foreground",
                      **{k: v for k, v in s.items() if k != "folder"}, **source, "trimaps": n, "matbench": __version__}
            write_text_atomic(folder / TRIMAPS_JSON, json.dumps(record, indent=2) + "\n")
        return {folder: n for folder, n in zip(folders, counts)}


# what makes two trimap sets the same (trimaps.json keys); the count and version are not compared
SET_KEYS = ("method", "width_px", "kernel", "seed", "dataset", "manifest_sha256", "alpha_dir")


def check_layout(out, *, sweep: bool) -> None:
    """Refuse (one line) to write a sweep (several widths: ``out/w<px>/``) into a folder that
    holds a single trimap set (its own ``trimaps.json``), or a single set into a folder that
    holds a sweep (a subfolder with a ``trimaps.json``): the two would be mixed in one folder."""
    out = Path(out)
    if not out.is_dir():
        return
    if sweep and (out / TRIMAPS_JSON).is_file():
        raise MatbenchError(f"{out}: holds a single trimap set ({TRIMAPS_JSON}), not a sweep; write the sweep "
                            f"(several widths: one w<px>/ subfolder each) into a new --out folder")
    subs = sorted((d.name for d in out.iterdir() if d.is_dir() and (d / TRIMAPS_JSON).is_file()),
                  key=lambda n: (len(n), n))
    if not sweep and subs:
        raise MatbenchError(f"{out}: holds a trimap sweep ({capped_list([f'{d}/' for d in subs], 4)}); write a "
                            f"single set into a new --out folder (or into {out / subs[0]} with that width to "
                            f"resume it)")


def check_same_set(folder, wanted: dict) -> None:
    """Refuse (one line) to write the set ``wanted`` (trimaps.json fields) into ``folder`` when
    its ``trimaps.json`` records another set: other method, width, kernel or seed, or another
    source. A dataset counts by the sha256 of its ``manifest.csv`` (a copy is the same dataset;
    the path is compared only when the old record has no hash). The same set resumes (the
    trimaps are rewritten, identical). An unreadable trimaps.json is refused too."""
    path = Path(folder) / TRIMAPS_JSON
    if not path.is_file():
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(old, dict):
            raise ValueError
    except (OSError, ValueError):
        raise MatbenchError(f"{path}: unreadable trimaps.json; remove it or use a new --out folder") from None
    keys = [k for k in SET_KEYS if k != "dataset" or not (old.get("manifest_sha256") and wanted.get("manifest_sha256"))]
    diff = [f"{k} {old.get(k)!r} then, {wanted.get(k)!r} now" for k in keys if old.get(k) != wanted.get(k)
            and not (k == "manifest_sha256" and "manifest_sha256" not in old)]
    if diff:
        raise MatbenchError(f"{folder}: holds a different trimap set ({'; '.join(diff)}; {TRIMAPS_JSON}); "
                            f"use a new --out folder, or the same options to resume")


def trimaps_sha256(folder) -> str:
    """What identifies the trimaps of ``folder``: sha256 over every image's name and the sha256
    of its file bytes (``name\0sha256\n``, by name; files only read, not decoded: cheap and
    exact, a re-encoded file counts as changed). MatbenchError when the folder is missing; two
    files of one name are left to the input checks, which report them with every other problem."""
    from matbench.io import file_sha256, index_images

    h = hashlib.sha256()
    for stem, path in sorted(index_images(folder, "trimap", problems=[]).items()):
        h.update(f"{path.name}\0{file_sha256(path)}\n".encode("utf-8"))
    return h.hexdigest()


def _dataset_trimaps(dataset: Path, sets, folders, *, jobs: int, progress: bool, matte_channel=None) -> list[int]:
    """One trimap per manifest row and set, streamed by foreground (each alpha read once)."""
    from functools import partial

    from matbench.manifest import read_manifest
    from matbench.parallel import imap

    rows = read_manifest(dataset)
    _check_outside(dataset, rows, folders)
    by_alpha: dict[str, list[str]] = {}
    for r in rows:
        if not r.get("alpha"):
            raise MatbenchError(f"{dataset / 'manifest.csv'}: image {r['image']!r} has no alpha")
        by_alpha.setdefault(r["alpha"], []).append(r["image"])
    tasks = [(dataset / alpha, images) for alpha, images in by_alpha.items()]
    work = imap(partial(_fg_trimaps, sets=sets, folders=folders, matte_channel=matte_channel), tasks, jobs=jobs)
    if progress:
        from tqdm import tqdm

        work = tqdm(work, total=len(tasks), desc="trimaps", unit="fg")
    for _ in work:
        pass
    return [len(rows)] * len(sets)


def _check_outside(dataset: Path, rows, folders) -> None:
    """Refuse (one line) an output folder inside the dataset folder, or inside a folder holding
    any file the manifest lists (every row: a SIM dataset has one ``<class>/trimap`` per class)."""
    from matbench.io import check_out_dir, is_within

    sources = {dataset.resolve()} | {(dataset / r[c]).parent.resolve() for r in rows
                                     for c in ("merged", "alpha", "trimap") if r.get(c)}
    for folder in folders:
        inside = next((src for src in sorted(sources) if is_within(folder, src)), None)
        if inside is not None:
            where = "" if inside == dataset.resolve() else f" (inside {inside})"
            raise MatbenchError(f"{folder}: a folder of the dataset {dataset}{where}; write the trimaps elsewhere")
    for folder in folders:  # nor around the dataset, nor inside another built dataset
        check_out_dir(folder, [("dataset", dataset)], contain=True)


def _fg_trimaps(task, sets, folders, matte_channel=None) -> None:
    """Every set's trimaps of the composites of one alpha (random: one draw per image name)."""
    from matbench.io import write_png_atomic
    from matbench.mattes import read_matte

    alpha_path, images = task
    alpha = read_matte(alpha_path, matte_channel)
    for s, folder in zip(sets, folders):
        same = None if s["method"] == "random" else generate(alpha, s["method"], **_set_kwargs(s))
        for image in images:
            trimap = same if same is not None else generate(alpha, "random", name=image, seed=s["seed"])
            write_png_atomic(folder / f"{image}.png", trimap)
