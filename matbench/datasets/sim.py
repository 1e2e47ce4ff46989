"""Where things are in the SIM test set (SIMD), and the authors' file list.

Spec: ``docs/specs/sim.md`` ("Layout and file list"); source: Sun, Tang, Tai, "Semantic
Image Matting", CVPR 2021, and github.com/nowsyn/SIM ``dataset/``. Users obtain SIMD from the
authors; the file list ``SIMD_composition_test_filelist.txt`` is in their repository.

SIMD root (``--simd-root``)::

    <class>/fg/<fg name>       the foreground photo (JPEG or PNG)
    <class>/alpha/<fg name>    its alpha matte, same file name

File list (``--file-list``): one composite per line, ``class:fg name:bg name`` (the authors'
has 890 lines: 89 foregrounds × 10 PASCAL VOC backgrounds, 20 classes). Read as the script
reads it (``f.read().splitlines()``, ``line.split(':')`` unpacked into three names), so LF or
CRLF, with or without a final newline; names may contain spaces and parentheses. A composite
is named ``<fg name minus its last 4 characters>_<bg name minus its last 4 characters>`` (the
script's ``name[:-4]``; all the authors' names end in ``.jpg``).

What the script takes for granted and matbench checks, all before anything is written, all
problems reported in one message (:func:`matbench.mattes.raise_problems`): a line that is not
three non-empty ``:``-separated fields (the script crashes on it); a name that is not a plain
file name; two lines giving the same composite name (predictions are named ``<image>.png``,
so names must be unique across classes: the authors' list uses ``sea-sunny-person-beach.jpg``
in two classes, with different backgrounds); a class folder, fg, alpha or background that is
missing; a fg and alpha whose sizes differ as OpenCV reads them (EXIF orientation applied;
the script silently stretches the fg, or crashes); an alpha the reading rule refuses
(:func:`matbench.sim_compose.alpha_problem`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath, PureWindowsPath

from matbench.datasets.adobe import check_name, find_voc_dir, folder_names, read_list_text
from matbench.errors import MatbenchError, capped_list

# The 20 classes of the file list, in the order of the authors' script and of the paper's tables.
SIM_CLASSES = ("defocus", "fire", "fur", "glass_ice", "hair_easy", "hair_hard", "insect", "motion", "net",
               "plant_flower", "plant_leaf", "plant_tree", "plastic_bag", "sharp", "smoke_cloud", "spider_web",
               "texture_holed", "texture_smooth", "water_drop", "water_spray")
FILE_LIST_NAME = "SIMD_composition_test_filelist.txt"
NAMES_SHOWN = 10


@dataclass(frozen=True)
class Composite:
    """One line of the file list."""
    line: int     # 1-based line number
    klass: str
    fg: str       # fg (and alpha) file name
    bg: str       # VOC file name

    @property
    def image(self) -> str:
        """The composite's name, ``<fg[:-4]>_<bg[:-4]>`` (the script's naming)."""
        return f"{self.fg[:-4]}_{self.bg[:-4]}"


@dataclass
class SimForeground:
    """A (class, fg) pair of the file list with its composites, in list order."""
    klass: str
    name: str
    fg_path: Path
    alpha_path: Path
    composites: list[tuple[int, Composite, Path]] = field(default_factory=list)  # (k, line, bg path)


@dataclass
class SimSplit:
    """A validated SIM test set: foregrounds in order of first appearance in the file list."""
    root: Path
    bg_dir: Path
    file_list: Path
    foregrounds: list[SimForeground]
    sources: list[Path]

    @property
    def n_composites(self) -> int:
        return sum(len(f.composites) for f in self.foregrounds)

    @property
    def classes(self) -> list[str]:
        return list(dict.fromkeys(f.klass for f in self.foregrounds))


# ----------------------------------------------------------------------------- the file list

def _class_problem(klass: str, where: str) -> str | None:
    if (klass in (".", "..") or "/" in klass or "\\" in klass or PurePosixPath(klass).is_absolute()
            or PureWindowsPath(klass).drive):
        return f"{where}: class {klass!r} is not a plain folder name"
    return None


def read_file_list(path) -> tuple[list[Composite], list[str]]:
    """``(composites, problems)`` of a SIM file list (see the module doc); the problems are
    one line each. Raises MatbenchError when the file cannot be read or holds no line."""
    path = Path(path)
    text = read_list_text(path, "file list")
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise MatbenchError(f"{path}: file list is empty")
    composites, problems = [], []
    for i, line in enumerate(lines, 1):
        where = f"{path}, line {i}"
        fields = line.split(":")
        if len(fields) != 3 or not all(fields):
            problems.append(f"{where}: expected class:fg:bg (three non-empty names separated by ':'), "
                            f"found {line!r}")
            continue
        klass, fg, bg = fields
        bad = [_class_problem(klass, where)]
        for name in (fg, bg):
            try:
                check_name(name, path, i)
            except MatbenchError as e:
                bad.append(str(e))
        bad = [b for b in bad if b]
        problems += bad
        if not bad:
            composites.append(Composite(i, klass, fg, bg))
    seen: dict[str, int] = {}
    for c in composites:
        if c.image in seen:
            problems.append(f"{path}, line {c.line}: composite {c.image!r} repeats line {seen[c.image]} (names are "
                            f"fg[:-4]_bg[:-4] and predictions <name>.png, so they must be unique)")
        seen.setdefault(c.image, c.line)
    return composites, problems


# ----------------------------------------------------------------------------- validation

def _missing_line(folder: Path, names: list[str]) -> str:
    return (f"{folder}: {len(names)} listed file{'s' if len(names) != 1 else ''} missing: "
            f"{capped_list(names, NAMES_SHOWN)}")


def _pair_problems(pair, matte_channel=None) -> list[str]:
    """Problems of one fg/alpha pair: unreadable headers, sizes that differ as OpenCV reads
    them, an alpha the reading rule refuses. Runs in a worker."""
    from matbench.sim_compose import alpha_problem, opencv_size

    fg_path, alpha_path = pair
    try:
        fw, fh = opencv_size(fg_path)
        aw, ah = opencv_size(alpha_path)
    except MatbenchError as e:
        return [str(e)]
    problems = []
    if (fw, fh) != (aw, ah):
        problems.append(f"{alpha_path}: alpha is {aw}x{ah} but its foreground {Path(fg_path).name} is {fw}x{fh} "
                        f"(as OpenCV reads them, EXIF orientation applied); the script would stretch the fg")
    problem = alpha_problem(alpha_path, matte_channel)
    if problem:
        problems.append(problem)
    return problems


def load_sim(simd_root, voc_root, file_list, *, matte_channel: str | None = None, jobs: int = 1,
             scheduler=None) -> SimSplit:
    """Find and validate everything a SIM build needs, before anything is written.

    ``simd_root``: the folder holding the ``<class>/`` folders; ``voc_root``: the VOC JPEG folder
    (or ``JPEGImages``/``VOC2012``/``VOCdevkit`` above it); ``file_list``: the authors' list.
    ``matte_channel``: None or ``"luma"`` (:func:`matbench.sim_compose.alpha_problem`).
    ``jobs``: workers for the per-foreground checks (headers; colour alphas are decoded), or the
    dask cluster at ``scheduler``.
    Raises one MatbenchError listing every problem found (see the module doc).
    """
    from matbench.mattes import raise_problems
    from matbench.parallel import imap
    from matbench.sim_compose import check_matte_channel

    check_matte_channel(matte_channel)  # first: it is every pair's reading rule
    root, file_list = Path(simd_root), Path(file_list)
    composites, problems = read_file_list(file_list)
    if not root.is_dir():
        problems.append(f"{root}: SIMD folder not found")
    bg_names = list(dict.fromkeys(c.bg for c in composites))
    try:
        bg_dir, bg_listing = find_voc_dir(voc_root, bg_names)
    except MatbenchError as e:
        problems.append(str(e))
        bg_dir, bg_listing = Path(voc_root), None

    groups: dict[tuple[str, str], list[Composite]] = {}
    for c in composites:
        groups.setdefault((c.klass, c.fg), []).append(c)
    classes = list(dict.fromkeys(k for k, _ in groups))
    absent = [k for k in classes if not (root / k).is_dir()] if root.is_dir() else classes
    if absent and root.is_dir():
        problems.append(f"{root}: {len(absent)} class folder{'s' if len(absent) != 1 else ''} of the file list "
                        f"not found: {', '.join(absent)} (SIMD layout: <class>/fg, <class>/alpha)")
    missing: dict[Path, list[str]] = {}
    if bg_listing is not None:
        for n in bg_names:
            if n not in bg_listing:
                missing.setdefault(bg_dir, []).append(n)
    listings = {k: (folder_names(root / k / "fg"), folder_names(root / k / "alpha"))
                for k in classes if k not in absent}
    foregrounds, pairs = [], []
    for (klass, name), lines in groups.items():
        fg_path, alpha_path = root / klass / "fg" / name, root / klass / "alpha" / name
        foregrounds.append(SimForeground(klass, name, fg_path, alpha_path,
                                         [(k, c, bg_dir / c.bg) for k, c in enumerate(lines)]))
        if klass in absent:
            continue
        ok = True
        for folder, listing in zip(("fg", "alpha"), listings[klass]):
            if name not in listing:
                missing.setdefault(root / klass / folder, []).append(name)
                ok = False
        if ok:
            pairs.append((str(fg_path), str(alpha_path)))
    problems += [_missing_line(folder, names) for folder, names in missing.items()]
    for found in imap(partial(_pair_problems, matte_channel=matte_channel), pairs, jobs=jobs, scheduler=scheduler):
        problems += found
    raise_problems(problems, "SIM input")
    return SimSplit(root, bg_dir, file_list, foregrounds, sources=[root, bg_dir])
