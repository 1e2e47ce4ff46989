"""How matbench reads a file where a matte is expected: one rule for every command.

A *matte file* is any single-channel 8-bit map: a ground-truth alpha, a prediction, a trimap.
The reference (the DIM MATLAB evaluation driver) reads such a file with ``imread`` and uses
channel 1; for a palette image ``imread`` returns the palette *indices*. matbench reads a file
the same way when that is unambiguous, and refuses it when it is not:

================================  ============================================================
file                              read as
================================  ============================================================
8-bit gray (``L``)                its values
``RGB`` with R = G = B            channel 1 (= the others)
``RGBA`` / ``LA``, alpha all 255  channel 1, when the colour channels are equal
palette (``P``)                   its indices, when every used index maps to the gray of the
                                  same value (index v -> (v, v, v)); else refused (the
                                  reference reads indices, a viewer shows colours)
anything else                     refused: colour ``RGB``; ``RGBA``/``LA`` whose alpha is not
                                  all 255 (e.g. a cut-out: photo colours, matte in the alpha
                                  channel); 1-bit, 16-bit or float files; CMYK, YCbCr, ...
================================  ============================================================

A refused colour file can be read on purpose with ``matte_channel``: ``"red"`` takes channel 1
(what the MATLAB driver reads) and ``"alpha"`` the alpha channel (RGBA/LA). The choice applies
only to files that would otherwise be refused and is recorded in every output.
16-bit and float files are never rescaled: convert them yourself.

Odd values are reported, not refused, the same way by every command: trimap pixels other than
0/128/255 (they belong to no region of the reference: only 128 is unknown) and lossy (JPEG or
lossy WebP) mattes, whose values are read as decoded. :class:`Notes` collects both and
:meth:`Notes.warn` emits one warning per kind, naming the files and counting the pixels.

Every command applies this rule, and the same checks, to every matte it reads: ``score``
(predictions, ground-truth alphas, trimaps), ``run`` (trimaps), ``trimap`` (alphas), the
builders (the release's alphas and official trimaps) and their Python functions, each with
``--matte-channel`` / ``matte_channel=``. Colour images (composites, foregrounds,
backgrounds) are not mattes: they are read as RGB (:func:`matbench.io.read_rgb8`).

Order of the checks, so that a run never stops at the first bad file of many:

1. headers (size, mode, bit depth) of the whole input set, before anything is decoded
   (:func:`probe`, :func:`header_problem`, :class:`InputCheck`);
2. problems only visible in the pixels (ambiguous colour, non-gray palette, truncated data)
   are collected over all files while they are read;
3. :func:`raise_problems` reports every problem found in one message (capped, with a count)
   before anything is written, or, where results of good files were already written
   atomically (``run``, the builders), at the end, so that a rerun resumes.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from matbench.errors import MatbenchError, capped_list

MATTE_CHANNELS = (None, "red", "alpha")
PROBLEMS_SHOWN = 10
_MODES = ("L", "P", "RGB", "RGBA", "LA")
_HOW = "pass --matte-channel red (channel 1, what the MATLAB driver reads) or alpha (matte_channel= in Python)"


@dataclass(frozen=True)
class ImageInfo:
    """What a file's header says, without decoding its pixels."""
    path: Path
    format: str         # Pillow's format name: PNG, JPEG, ...
    mode: str           # Pillow's mode after opening: L, RGB, P, I;16, ...
    width: int
    height: int
    bits: int           # bits per sample as stored: 1, 8, 16 or 32
    lossy: bool         # JPEG or lossy WebP

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as Pillow gives it."""
        return self.width, self.height

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width), as numpy gives it."""
        return self.height, self.width


def _bits(im: Image.Image) -> int:
    if im.mode == "1":
        return 1
    if im.mode in ("I", "F"):
        return 32
    if im.mode.startswith("I;16"):
        return 16
    # Pillow opens 16-bit RGB(A) PNG/TIFF as 8-bit modes; the raw mode still says 16.
    for tile in im.tile or ():
        raw = tile[3][0] if isinstance(tile[3], tuple) else tile[3]
        if isinstance(raw, str) and ";16" in raw:
            return 16
    return 8


def _lossy(path: Path, fmt: str) -> bool:
    if fmt in ("JPEG", "MPO"):
        return True
    if fmt == "WEBP":
        with open(path, "rb") as f:
            return f.read(16)[12:16] == b"VP8 "  # "VP8L" is the lossless codec
    return False


def probe(path) -> ImageInfo:
    """Header of ``path`` (format, mode, size, bits per sample); a one-line MatbenchError when
    the file is missing or not an image Pillow can identify."""
    from matbench.io import open_image

    path = Path(path)
    with open_image(path, load=False) as im:
        return _info(im, path)


def _info(im: Image.Image, path: Path) -> ImageInfo:
    return ImageInfo(path, im.format or "", im.mode, im.size[0], im.size[1], _bits(im), _lossy(path, im.format or ""))


def header_problem(info: ImageInfo, matte_channel: str | None = None) -> str | None:
    """Why the header alone rules the file out as a matte (a one-line message), or None."""
    _check_channel(matte_channel)
    where = f"{info.path}: {info.format} {info.mode}"
    if info.bits == 1:
        return f"{where} is a 1-bit image; save the matte as 8-bit gray (0..255)"
    if info.bits != 8:
        return (f"{where} has {info.bits}-bit samples{' (float)' if _is_float(info) else ''}; mattes are 8-bit "
                f"and matbench never rescales: convert to 8-bit gray yourself ({_convert_hint(info)})")
    if info.mode not in _MODES:
        return f"{where} is not a gray, palette, RGB or RGBA image; save the matte as 8-bit gray"
    return None


def _is_float(info: ImageInfo) -> bool:
    """Whether Pillow opened the file in a float mode (``F``, ``F;32BF`` ...)."""
    return info.mode.startswith("F")


def _convert_hint(info: ImageInfo) -> str:
    """How to convert ``info``'s samples to 8-bit by hand: float 0..1 -> round(v·255),
    16-bit -> round(v / 257) (65535 -> 255), other integers: their own range onto 0..255."""
    if _is_float(info):
        return "e.g. round(v·255) for floats in 0..1"
    if info.bits == 16:
        return "e.g. round(v / 257) for 16-bit 0..65535"
    return f"e.g. round(v·255 / max) for {info.bits}-bit integers in 0..max"


def image_header_problem(info: ImageInfo) -> str | None:
    """Why the header rules the file out as a colour image for a baseline (a one-line message),
    or None. Only 8-bit samples are taken: Pillow reads a 16-bit RGB PNG as 8-bit by dropping
    the low byte, OpenCV (mmagic's reader) by rounding, so such a file has no single reading."""
    if info.bits != 8:
        return (f"{info.path}: {info.format} {info.mode} has {info.bits}-bit samples; images are read as "
                f"8-bit RGB and matbench never rescales: convert it to 8-bit yourself")
    return None


def _check_channel(matte_channel):
    if matte_channel not in MATTE_CHANNELS:
        raise MatbenchError(f"--matte-channel {matte_channel}: expected red or alpha")


def _palette_indices(im: Image.Image, path) -> np.ndarray:
    idx = np.asarray(im)
    used = np.flatnonzero(np.bincount(idx.ravel(), minlength=256))
    pal = np.asarray(im.getpalette("RGB") or [], dtype=np.int64).reshape(-1, 3)
    pal = np.vstack([pal, np.zeros((256 - len(pal), 3), np.int64)]) if len(pal) < 256 else pal
    bad = [int(i) for i in used if not (pal[i] == i).all()]
    if bad:
        i = bad[0]
        raise MatbenchError(
            f"{path}: palette image whose palette maps index {i} to colour {tuple(int(c) for c in pal[i])} "
            f"({len(bad)} of {len(used)} used indices are not gray of the same value); the MATLAB reference "
            f"reads the indices, a viewer shows the colours: save the matte as 8-bit gray")
    return idx


def read_matte(path, matte_channel: str | None = None, *, how: str = _HOW) -> np.ndarray:
    """Read a matte, trimap or prediction file as the reference reads it (see module doc).

    Returns an H×W ``uint8`` array (C-contiguous). ``matte_channel``: None (refuse ambiguous
    files), ``"red"`` (channel 1 of colour files) or ``"alpha"`` (the alpha channel of RGBA/LA
    files). ``how``: the advice that ends the message refusing an ambiguous file. Raises
    MatbenchError, one line naming the file, for unreadable, truncated, 1/16-bit, float, non-gray
    palette and (without ``matte_channel``) colour or transparent files.
    """
    return read_matte_info(path, matte_channel, how=how)[0]


def read_matte_info(path, matte_channel: str | None = None, *, how: str = _HOW) -> tuple[np.ndarray, ImageInfo]:
    """:func:`read_matte` and the file's header (:class:`ImageInfo`), from one opening."""
    from matbench.io import load_image, open_image, png_pixels

    _check_channel(matte_channel)
    path = Path(path)
    with open_image(path, load=False) as im:
        info = _info(im, path)
        problem = header_problem(info, matte_channel)
        if problem:
            raise MatbenchError(problem)
        arr = png_pixels(im, path)  # a plain 8-bit PNG: decoded straight into numpy (same values)
        if arr is not None:
            return (arr if im.mode == "L" else _colour_matte(arr, im.mode, path, matte_channel, how)), info
        return _matte_pixels(load_image(im, path), path, matte_channel, how), info


def _matte_pixels(im: Image.Image, path: Path, matte_channel, how: str = _HOW) -> np.ndarray:
    if im.mode == "L":
        return np.asarray(im)
    if im.mode == "P":
        return _palette_indices(im, path)
    return _colour_matte(np.asarray(im), im.mode, path, matte_channel, how)


def _colour_matte(arr: np.ndarray, mode: str, path: Path, matte_channel, how: str = _HOW) -> np.ndarray:
    """The matte of an ``RGB``/``RGBA``/``LA`` array by the rule (channel checks, see the module doc)."""
    colour = arr[..., :1] if mode == "LA" else arr[..., :3]
    has_alpha = mode in ("RGBA", "LA")
    differ = 0 if colour.shape[-1] == 1 else int(np.count_nonzero((colour != colour[..., :1]).any(axis=-1)))
    transparent = int(np.count_nonzero(arr[..., -1] != 255)) if has_alpha else 0
    if not (differ or transparent):  # unambiguous: every channel that counts holds the matte
        return np.ascontiguousarray(arr[..., 0])
    found = []
    if differ:
        found.append(f"colour channels differ in {differ} pixels")
    if transparent:
        found.append(f"alpha channel is not 255 in {transparent} pixels (a cut-out, matte in the alpha?)")
    found = f"{path}: {mode} image whose {' and whose '.join(found)}"
    if matte_channel == "red":
        return np.ascontiguousarray(arr[..., 0])
    if matte_channel == "alpha":
        if not has_alpha:
            raise MatbenchError(f"{found}; it has no alpha channel for --matte-channel alpha")
        return np.ascontiguousarray(arr[..., -1])
    raise MatbenchError(f"{found}; which channel is the matte is ambiguous: {how}")


NOTHING_WRITTEN = "nothing was computed or written"


def raise_problems(problems, what: str = "input", done: str = NOTHING_WRITTEN) -> None:
    """Raise one MatbenchError reporting every problem (one line each, at most
    ``PROBLEMS_SHOWN`` shown, with the count); do nothing when there is none.

    ``done`` says what became of the work (default: nothing was computed or written)."""
    problems = list(dict.fromkeys(problems))
    if not problems:
        return
    if len(problems) == 1:
        raise MatbenchError(problems[0] if done == NOTHING_WRITTEN else f"{problems[0]} ({done})")
    shown = problems[:PROBLEMS_SHOWN]
    more = f"\n  … and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
    raise MatbenchError(f"{len(problems)} {what} problems ({done}):\n  " + "\n  ".join(shown) + more)


def raise_grouped(groups, what: str = "input", done: str = NOTHING_WRITTEN, note: str = "") -> None:
    """Raise one MatbenchError reporting the problems of every check stage at once; nothing when
    there is none. ``groups``: ``[(kind, [one-line problems])]`` in the order the checks run
    (e.g. duplicate names, missing files, file headers, pixels). One kind: as
    :func:`raise_problems`. Several: a header line counting each kind, then each kind's lines,
    at most ``PROBLEMS_SHOWN`` per kind with the count of the rest, so that no kind hides
    another. ``note`` ends the header line (e.g. which checks follow once these are fixed)."""
    groups = [(kind, list(dict.fromkeys(lines))) for kind, lines in groups]
    groups = [(kind, lines) for kind, lines in groups if lines]
    if not groups:
        return
    note = f"; {note}" if note else ""
    if len(groups) == 1:
        lines = groups[0][1]
        if note and len(lines) == 1:
            raise MatbenchError(f"{lines[0]} ({done}{note})")
        if note:
            raise_problems(lines, what, done + note)
        raise_problems(lines, what, done)
    total = sum(len(lines) for _, lines in groups)
    counts = ", ".join(f"{len(lines)} {kind}" for kind, lines in groups)
    body = []
    for kind, lines in groups:
        body.append(f"  {kind}:")
        body += [f"    {line}" for line in lines[:PROBLEMS_SHOWN]]
        if len(lines) > PROBLEMS_SHOWN:
            body.append(f"    … and {len(lines) - PROBLEMS_SHOWN} more")
    raise MatbenchError(f"{total} {what} problems ({done}{note}): {counts}\n" + "\n".join(body))


def colour_mode(info: ImageInfo | None) -> bool:
    """Whether a file whose header passed can still be refused by its pixels (RGB, RGBA, LA or
    palette: ambiguous colour, a cut-out's alpha, a non-gray palette); gray files cannot."""
    return info is not None and info.mode != "L"


def try_read_matte(path, matte_channel, problems: list) -> np.ndarray | None:
    """:func:`read_matte`, or None with the one-line problem appended to ``problems``."""
    try:
        return read_matte(path, matte_channel)
    except MatbenchError as e:
        problems.append(str(e))
        return None


def decode_problems(path, matte_channel: str | None = None, trimap: bool = False) -> tuple[list[str], int]:
    """Decode ``path`` by the rule: ``(problems, pixels that are not 0/128/255)``; the count only
    for a ``trimap``. For checks that decode a whole input set before anything is written."""
    problems = []
    values = try_read_matte(path, matte_channel, problems)
    return problems, trimap_odd_count(values) if trimap and values is not None else 0


class InputCheck:
    """The header checks of a whole input set, every problem collected (see the module doc).

    ``matte(path, role, like=...)`` and ``image(...)`` probe a file's header once (later calls
    for the same path return the cached :class:`ImageInfo`), record why it cannot be read
    (missing, unreadable, not 8-bit, not a matte mode) and, with ``like`` (the info of the file
    it belongs to), a size mismatch; lossy mattes are noted in :attr:`notes` under ``role``.
    :meth:`raise_problems` then reports everything at once.
    """

    def __init__(self, matte_channel: str | None = None):
        _check_channel(matte_channel)
        self.matte_channel = matte_channel
        self.problems: list[str] = []
        self.notes = Notes()
        self._seen: dict[Path, tuple[ImageInfo | None, str]] = {}

    def matte(self, path, role: str, *, like: ImageInfo | None = None, shipped: bool = False) -> ImageInfo | None:
        """Header of a matte file (alpha, prediction, trimap), or None when it is unusable."""
        return self._check(path, role, like, matte=True, shipped=shipped)

    def image(self, path, role: str, *, like: ImageInfo | None = None, any_depth: bool = False) -> ImageInfo | None:
        """Header of a colour image (read as 8-bit RGB), or None when it is unusable.
        ``any_depth``: accept 16-bit samples (the builders read them as Adobe's script does)."""
        return self._check(path, role, like, matte=False, any_depth=any_depth)

    def _check(self, path, role, like, *, matte, shipped=False, any_depth=False):
        path = Path(path)
        if path in self._seen:
            info = self._seen[path][0]
        else:
            try:
                info = probe(path)
            except MatbenchError as e:
                info = None
                self.problems.append(str(e))
            if info is not None:
                problem = (header_problem(info, self.matte_channel) if matte else
                           None if any_depth else image_header_problem(info))
                if problem:
                    self.problems.append(problem)
                    info = None
                elif matte:
                    self.notes.file(info, role, shipped=shipped)
            self._seen[path] = (info, role)
        if info is not None and like is not None and info.size != like.size:
            like_role = self._seen.get(Path(like.path), (None, "file"))[1]
            self.problems.append(f"{path}: {role} is {info.width}×{info.height} but {like_role} "
                                 f"{Path(like.path).name} is {like.width}×{like.height}"
                                 f"{exif_note(path, like.path)}")
        return info

    def raise_problems(self, what: str = "input") -> None:
        """Raise every problem found so far in one MatbenchError (nothing when there is none)."""
        raise_problems(self.problems, what)


def exif_orientation(path) -> int | None:
    """The EXIF orientation tag (0x0112) of ``path``, from the header only; None when the file
    has none, or it cannot be read."""
    from matbench.io import open_image

    try:
        with open_image(path, load=False) as im:
            value = im.getexif().get(0x0112)
    except (MatbenchError, OSError, ValueError, SyntaxError):
        return None
    return value if isinstance(value, int) else None


def exif_note(*paths) -> str:
    """`` (...)`` for a size-mismatch message when one of ``paths`` has an EXIF orientation other
    than 1: its rotation is ignored, as MATLAB's ``imread`` ignores it (pixels as stored), except
    by ``build-sim``, which applies it as the SIM script's ``cv2.imread`` does; '' otherwise."""
    rotated = [(Path(p).name, o) for p in dict.fromkeys(map(str, paths)) if (o := exif_orientation(p)) not in (None, 1)]
    if not rotated:
        return ""
    which = ", ".join(f"{name} has EXIF orientation {o}" for name, o in rotated)
    return (f" ({which}: matbench ignores it as MATLAB's imread does, using the pixels as stored (build-sim "
            f"applies it, as the SIM script's cv2.imread does); save the file rotated, without the tag)")


def trimap_odd_count(trimap: np.ndarray) -> int:
    """Pixels of ``trimap`` (H×W uint8) whose value is not 0, 128 or 255.

    The one counter is :func:`matbench.metrics.trimap_other_count` (a numba kernel: one pass,
    ~10× faster than numpy's three comparisons), imported here on the first call so that
    importing this module stays cheap: that first call in a process loads numba and the kernel
    (~0.5 s; ~0.9 s when numba's on-disk cache is cold), a one-off cost per process."""
    from matbench.metrics import trimap_other_count

    return trimap_other_count(trimap)


@dataclass
class Notes:
    """What every command reports about its inputs the same way (see the module doc).

    ``odd_trimaps``: trimap path -> pixels not 0/128/255 (added by :meth:`trimap`, with the
    count a worker found by :func:`trimap_odd_count`). ``lossy``: role -> lossy files (added by
    :meth:`file`). Report with :meth:`warn`.
    """
    odd_trimaps: dict[str, int] = field(default_factory=dict)
    lossy: dict[str, list[str]] = field(default_factory=dict)
    shipped: set[str] = field(default_factory=set)

    def trimap(self, path, count: int) -> None:
        """Note that the trimap ``path`` has ``count`` pixels that are not 0/128/255 (nothing
        when ``count`` is 0)."""
        if count:
            self.odd_trimaps[str(path)] = int(count)

    def file(self, info: ImageInfo, role: str, shipped: bool = False) -> None:
        """Note ``info``'s file under ``role`` when it is lossy. ``shipped``: the file is a
        dataset release's own (the DIM training alphas are JPEG): worded as what it ships."""
        if info.lossy:
            self.lossy.setdefault(role, []).append(str(info.path))
            if shipped:
                self.shipped.add(role)

    def messages(self) -> list[str]:
        out = []
        if self.odd_trimaps:
            worst = max(self.odd_trimaps, key=self.odd_trimaps.get)
            out.append(f"{len(self.odd_trimaps)} trimap(s) have {sum(self.odd_trimaps.values())} pixels that are "
                       f"not 0/128/255 (most in {worst}: {self.odd_trimaps[worst]}; {_names(self.odd_trimaps)}); "
                       f"scoring counts them in no region (only exact 128 is unknown, as in the reference); "
                       f"the baselines predict them as unknown")
        for role, paths in self.lossy.items():
            if role in self.shipped:
                out.append(f"the release ships its {len(paths)} {role}s as JPEG (lossy): they are used as decoded, "
                           f"as Adobe's composition script does ({_names(paths)})")
            else:
                out.append(f"{len(paths)} {role} file(s) are lossy (JPEG/WebP), read as decoded: "
                           f"{_names(paths)}; a lossless PNG keeps the exact values")
        return out

    def warn(self, stacklevel: int = 2) -> None:
        for msg in self.messages():
            warnings.warn(msg, stacklevel=stacklevel + 1)


def _names(paths) -> str:
    """File names of ``paths``, the first 5 (:func:`matbench.errors.capped_list`)."""
    return capped_list([Path(p).name for p in paths], 5)
