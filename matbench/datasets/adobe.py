"""Where things are in the Adobe Deep Image Matting release, COCO and PASCAL VOC.

``load_split`` finds and validates everything one build needs *before* anything is
written: the release's ``Combined_Dataset`` (given itself or its parent), the split's name
lists, every listed foreground, alpha, background (and official trimap), and reports all
missing files in one message.

Layout (``docs/specs/composition.md``)::

    Combined_Dataset/Training_set/{Adobe-licensed images,Other}/{fg,alpha}/NAME
    Combined_Dataset/Training_set/training_{fg,bg}_names.txt
    Combined_Dataset/Test_set/Adobe-licensed images/{fg,alpha,trimaps}/...
    Combined_Dataset/Test_set/test_{fg,bg}_names.txt
    [Combined_Dataset/<split>/classes.csv   columns fg,class (optional)]

Backgrounds: VOC root = the JPEG folder, or ``JPEGImages``/``VOC2012``/``VOCdevkit`` above
it; COCO root = the image folder (or its parent holding ``train2014``/``train2017``), with
train2014 names or train2017 names (without the ``COCO_train2014_`` prefix).
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from matbench.errors import MatbenchError, capped_list

FG_FOLDERS = {"test": ("Adobe-licensed images",), "train": ("Adobe-licensed images", "Other")}
SPLIT_DIRS = {"test": "Test_set", "train": "Training_set"}
LIST_NAMES = {"test": ("test_fg_names.txt", "test_bg_names.txt"),
              "train": ("training_fg_names.txt", "training_bg_names.txt")}
COCO2014_PREFIX = "COCO_train2014_"


@dataclass
class Foreground:
    name: str           # as listed, e.g. ``ball-597523_1920.png``
    stem: str           # name minus its last 4 characters (the script's naming)
    folder: str         # ``Adobe-licensed images`` or ``Other``
    fg_path: Path
    alpha_path: Path
    klass: str = ""


@dataclass
class Split:
    """A validated split: foregrounds in list order, bgs (N per fg) with resolved paths."""
    kind: str                       # "test" or "train"
    combined: Path                  # the Combined_Dataset folder
    split_dir: Path
    bg_dir: Path
    bgs_per_fg: int
    foregrounds: list[Foreground]
    bg_names: list[str]             # as listed
    bg_paths: list[Path]
    fg_list: Path
    bg_list: Path
    trimap_dir: Path | None = None  # official trimaps (test), when present
    sources: list[Path] = field(default_factory=list)

    def backgrounds(self, i: int):
        """``[(k, bg name, bg path), ...]`` for foreground number ``i``."""
        n = self.bgs_per_fg
        return [(k, self.bg_names[i * n + k], self.bg_paths[i * n + k]) for k in range(n)]


def find_combined(adobe_root) -> Path:
    """The ``Combined_Dataset`` folder, given it or its parent."""
    root = Path(adobe_root)
    if not root.is_dir():
        raise MatbenchError(f"{root}: Adobe release folder not found")
    for cand in (root / "Combined_Dataset", root):
        if (cand / "Test_set").is_dir() or (cand / "Training_set").is_dir():
            return cand
    raise MatbenchError(f"{root}: not the Adobe release (no Combined_Dataset/Test_set or Training_set inside); "
                        "pass the folder that holds Combined_Dataset as --adobe-root")


def check_name(name: str, list_path, line: int) -> None:
    """Reject empty, absolute and folder-climbing entries, and non-plain file names."""
    where = f"{list_path}, line {line}"
    if not name.strip():
        raise MatbenchError(f"{where}: empty name")
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        raise MatbenchError(f"{where}: absolute path {name!r} not allowed in a name list")
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise MatbenchError(f"{where}: {name!r} climbs out of its folder")
    if len(parts) > 1:
        raise MatbenchError(f"{where}: {name!r} is not a plain file name")
    if len(name) <= 4:
        raise MatbenchError(f"{where}: {name!r} is too short for a file name with extension")


def read_list_text(path, what: str = "name list") -> str:
    """The UTF-8 text of a list file; a one-line MatbenchError when it is missing or unreadable."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MatbenchError(f"{path}: {what} not found") from None
    except UnicodeDecodeError:
        raise MatbenchError(f"{path}: {what} is not UTF-8 text") from None
    except OSError as e:
        raise MatbenchError(f"{path}: cannot read {what} ({e.strerror})") from None


def read_name_list(path) -> list[str]:
    """Names of a release list (LF or CRLF, optional final newline), validated."""
    path = Path(path)
    lines = read_list_text(path).split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    names = []
    for i, line in enumerate(lines, 1):
        name = line[:-1] if line.endswith("\r") else line
        check_name(name, path, i)
        names.append(name)
    if not names:
        raise MatbenchError(f"{path}: name list is empty")
    return names


def folder_names(folder: Path) -> set[str]:
    """The names in ``folder`` (one ``os.listdir``); empty when it is missing or not a folder."""
    try:
        return set(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return set()


def _pick_folder(candidates, names, alt=None):
    """The candidate folder holding most of ``names`` -> (folder, its listing)."""
    best = None
    for cand in candidates:
        if not cand.is_dir():
            continue
        listing = folder_names(cand)
        hits = sum(1 for n in names if n in listing or (alt and alt(n) in listing))
        if best is None or hits > best[2]:
            best = (cand, listing, hits)
    return best


def find_voc_dir(voc_root, names) -> tuple[Path, set[str]]:
    root = Path(voc_root)
    if not root.is_dir():
        raise MatbenchError(f"{root}: VOC folder not found")
    cands = [root, root / "JPEGImages", root / "VOC2012" / "JPEGImages",
             root / "VOCdevkit" / "VOC2012" / "JPEGImages"]
    folder, listing, _ = _pick_folder(cands, names)
    return folder, listing


def _coco2017(name: str) -> str:
    return name[len(COCO2014_PREFIX):] if name.startswith(COCO2014_PREFIX) else name


def find_coco_dir(coco_root, names) -> tuple[Path, set[str]]:
    root = Path(coco_root)
    if not root.is_dir():
        raise MatbenchError(f"{root}: COCO folder not found")
    cands = [root, root / "train2014", root / "train2017", root / "images" / "train2014",
             root / "images" / "train2017"]
    folder, listing, _ = _pick_folder(cands, names, _coco2017)
    return folder, listing


def read_classes(split_dir: Path) -> dict[str, str]:
    """``fg name -> class`` from ``<split>/classes.csv`` (columns ``fg,class``), or {}."""
    path = split_dir / "classes.csv"
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "fg" not in reader.fieldnames or "class" not in reader.fieldnames:
            raise MatbenchError(f"{path}: expected columns fg,class")
        return {row["fg"]: (row["class"] or "").strip() for row in reader}


MISSING_SHOWN = 10


def _missing_message(missing: dict[Path, list[str]]) -> str:
    """One message for every listed file that is missing, by folder; at most ``MISSING_SHOWN``
    names per folder (a wrong ``--voc-root`` would otherwise print all 43,100 COCO names), and
    a hint when a whole folder's worth is missing."""
    total = sum(len(v) for v in missing.values())
    parts = []
    for folder, names in missing.items():
        parts.append(f"{folder}: {capped_list(names, MISSING_SHOWN)}")
    text = f"{total} listed file{'s' if total != 1 else ''} missing: " + "; ".join(parts)
    if any(len(names) > MISSING_SHOWN for names in missing.values()):
        text += " (is the folder the right one? --voc-root/--coco-root may name the folder above the images)"
    return text


def check_headers(foregrounds, kind: str, trimap_dir: Path | None, bgs_per_fg: int, matte_channel=None) -> None:
    """Headers of every foreground, alpha and official trimap (:class:`matbench.mattes.InputCheck`):
    all problems in one MatbenchError; lossy alphas warned about."""
    from matbench.mattes import InputCheck

    check = InputCheck(matte_channel)
    for fg in foregrounds:
        info = check.image(fg.fg_path, "foreground", any_depth=True)  # read as Adobe's script reads it
        check.matte(fg.alpha_path, f"{'training' if kind == 'train' else 'test'} alpha", like=info,
                    shipped=(kind == "train"))
        if trimap_dir is not None:
            for k in range(bgs_per_fg):
                check.matte(trimap_dir / f"{fg.stem}_{k}.png", "official trimap", like=info)
    check.raise_problems()
    check.notes.warn(stacklevel=4)


def bgs_per_fg_from_lists(fg_list, bg_list, n_fg: int, n_bg: int, bgs_per_fg: int | None = None) -> int:
    """Backgrounds per foreground N: the lists' own ratio ``n_bg / n_fg`` (20 for Composition-1K,
    100 for the DIM training set), or ``bgs_per_fg`` when given, which must agree with the lists
    (fg i is composited onto bgs i·N … i·N+N−1, so ``n_bg`` must be exactly ``n_fg × N``).

    Raises MatbenchError naming ``--bgs-per-fg`` when the count does not work out.
    """
    implied = n_bg // n_fg if n_bg % n_fg == 0 else None
    if bgs_per_fg is None:
        if implied is None:
            raise MatbenchError(
                f"{bg_list}: {n_bg} backgrounds for the {n_fg} foregrounds of {fg_list} is not a whole number "
                f"per foreground (fg i takes bgs i·N … i·N+N−1); fix the lists, or pass --bgs-per-fg N for a list "
                f"of {n_fg} × N names")
        return implied
    bgs_per_fg = int(bgs_per_fg)
    if bgs_per_fg < 1:
        raise MatbenchError(f"--bgs-per-fg {bgs_per_fg}: must be at least 1 (omit it to use the lists' ratio)")
    if n_bg != n_fg * bgs_per_fg:
        hint = (f"omit --bgs-per-fg to use the lists' {implied} per foreground" if implied is not None
                else "the lists hold no whole number per foreground")
        raise MatbenchError(
            f"{bg_list}: {n_bg} backgrounds, expected {n_fg} foregrounds × {bgs_per_fg} per foreground "
            f"= {n_fg * bgs_per_fg} for --bgs-per-fg {bgs_per_fg}; {hint}")
    return bgs_per_fg


def load_split(adobe_root, kind: str, bg_root, bgs_per_fg: int | None = None, *,
               official_trimaps: bool = False, matte_channel: str | None = None) -> Split:
    """Find and validate one split of the release, before any output is written.

    Checks: the name lists (plain relative names, no duplicate foregrounds), backgrounds per
    foreground (``bgs_per_fg``; None: the lists' ratio, see :func:`bgs_per_fg_from_lists`),
    and that every listed fg, alpha, bg (and, with ``official_trimaps``, every official
    trimap) exists; all missing files are reported together in one MatbenchError. With
    ``official_trimaps`` a release without the ``trimaps/`` folder is an error that names
    ``--trimaps generate``. Then the headers of every fg, alpha and official trimap: readable,
    alphas and trimaps 8-bit mattes by the rule of :mod:`matbench.mattes` (``matte_channel``),
    of their foreground's size; all problems in one MatbenchError. Lossy alphas are warned
    about (the training set's JPEG alphas as what the release ships).
    """
    if kind not in SPLIT_DIRS:
        raise ValueError(kind)
    combined = find_combined(adobe_root)
    split_dir = combined / SPLIT_DIRS[kind]
    if not split_dir.is_dir():
        raise MatbenchError(f"{combined}: no {SPLIT_DIRS[kind]} folder")
    fg_list = split_dir / LIST_NAMES[kind][0]
    bg_list = split_dir / LIST_NAMES[kind][1]
    fg_names = read_name_list(fg_list)
    bg_names = read_name_list(bg_list)
    seen = {}
    for i, name in enumerate(fg_names, 1):
        if name[:-4] in seen:
            raise MatbenchError(f"{fg_list}, line {i}: {name!r} repeats line {seen[name[:-4]]} "
                                f"(same output name {name[:-4]!r})")
        seen[name[:-4]] = i
    bgs_per_fg = bgs_per_fg_from_lists(fg_list, bg_list, len(fg_names), len(bg_names), bgs_per_fg)

    missing: dict[Path, list[str]] = {}
    classes = read_classes(split_dir)
    listings = {f: (folder_names(split_dir / f / "fg"), folder_names(split_dir / f / "alpha"))
                for f in FG_FOLDERS[kind]}
    foregrounds = []
    for name in fg_names:
        folder = next((f for f in FG_FOLDERS[kind] if name in listings[f][0]), None)
        if folder is None:
            folder = FG_FOLDERS[kind][0]
            where = split_dir / folder / "fg"
            if len(FG_FOLDERS[kind]) > 1:
                where = split_dir / f"{{{','.join(FG_FOLDERS[kind])}}}" / "fg"
            missing.setdefault(where, []).append(name)
        if name not in listings[folder][1]:
            missing.setdefault(split_dir / folder / "alpha", []).append(name)
        base = split_dir / folder
        foregrounds.append(Foreground(name, name[:-4], folder, base / "fg" / name, base / "alpha" / name,
                                      classes.get(name, "")))

    if kind == "test":
        bg_dir, listing = find_voc_dir(bg_root, bg_names)
        bg_files = list(bg_names)
        for n in bg_names:
            if n not in listing:
                missing.setdefault(bg_dir, []).append(n)
    else:
        bg_dir, listing = find_coco_dir(bg_root, bg_names)
        bg_files = []
        for n in bg_names:
            if n in listing:
                bg_files.append(n)
            elif _coco2017(n) in listing:
                bg_files.append(_coco2017(n))
            else:
                bg_files.append(n)
                missing.setdefault(bg_dir, []).append(n)

    trimap_dir = None
    if kind == "test" and official_trimaps:
        trimap_dir = split_dir / "Adobe-licensed images" / "trimaps"
        tl = folder_names(trimap_dir)
        for fg in foregrounds:
            for k in range(bgs_per_fg):
                if trimap_dir.is_dir() and f"{fg.stem}_{k}.png" not in tl:
                    missing.setdefault(trimap_dir, []).append(f"{fg.stem}_{k}.png")

    if missing:
        raise MatbenchError(_missing_message(missing))
    if trimap_dir is not None and not trimap_dir.is_dir():
        raise MatbenchError(
            f"{trimap_dir}: the release has no official trimaps folder; "
            f"results on other trimaps are not comparable with published Composition-1K numbers. Pass --trimaps "
            f"generate (trimaps=\"generate\") to generate them from the alphas (erode-dilate), or add the "
            f"official ones")
    check_headers(foregrounds, kind, trimap_dir, bgs_per_fg, matte_channel)
    return Split(kind, combined, split_dir, bg_dir, bgs_per_fg, foregrounds, bg_names,
                 [bg_dir / f for f in bg_files], fg_list, bg_list, trimap_dir,
                 sources=[combined, bg_dir])
