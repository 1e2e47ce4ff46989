"""Reading images the way the references do, and writing files atomically.

Reading goes through Pillow: it is what Adobe's composition script uses, it does not
apply EXIF orientation (neither do the references), and it raises a clean error on a
truncated file. Pillow always opens the file and reads its header; the pixels of a plain
8-bit PNG are then decoded by OpenCV's libpng (:func:`png_pixels`: the same values, without
Pillow's copy to numpy), every other file by Pillow. Every problem becomes a one-line
``MatbenchError`` naming the file.

Writing goes to a temporary file in the destination folder and is renamed into place,
so an interrupted run never leaves a half-written file under the final name. PNG is
lossless, so the encoder is free: OpenCV's is used because it is the fastest at a
given zlib level.
"""
from __future__ import annotations

import os
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from matbench.errors import MatbenchError, capped_list

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

_UMASK = os.umask(0)
os.umask(_UMASK)

# Files larger than any real matting image are still decoded: lift Pillow's bomb guard.
Image.MAX_IMAGE_PIXELS = None


def open_image(path, *, load: bool = True) -> Image.Image:
    """Open ``path`` with Pillow and (unless ``load`` is False) decode it fully; every problem
    (missing, not an image, truncated, corrupt) is a one-line MatbenchError naming the file."""
    path = Path(path)
    try:
        im = Image.open(path)
    except FileNotFoundError:
        raise MatbenchError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise MatbenchError(f"{path}: is a folder, not an image") from None
    except Image.UnidentifiedImageError:
        raise MatbenchError(f"{path}: not an image file Pillow can read (unreadable, or a format such as "
                            f"float TIFF/EXR; save it as an 8-bit PNG)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise MatbenchError(f"{path}: unreadable or truncated image ({_first_line(e)})") from None
    return load_image(im, path) if load else im


def load_image(im: Image.Image, path) -> Image.Image:
    """Decode an image opened with ``open_image(path, load=False)``; errors as ``open_image``."""
    try:
        im.load()
    except (OSError, SyntaxError, ValueError) as e:
        # Pillow reports truncation and corrupt chunks as OSError/SyntaxError.
        raise MatbenchError(f"{path}: unreadable or truncated image ({_first_line(e)})") from None
    return im


def _first_line(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def read_rgb8(path) -> np.ndarray:
    """Read a colour image as H×W×3 uint8 RGB (Pillow's conversion for other modes)."""
    with open_image(path, load=False) as im:  # closes the file also when OpenCV decodes the pixels
        if im.mode == "RGB":
            pixels = png_pixels(im, path)
            if pixels is not None:
                return pixels
        load_image(im, path)
        if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            raise MatbenchError(f"{path}: {im.mode} image is not 8-bit")
        if im.mode != "RGB":
            im = im.convert("RGB")
        return np.asarray(im)


_PNG_MODES = {"L": None, "RGB": "COLOR_BGR2RGB", "RGBA": "COLOR_BGRA2RGBA"}


def png_pixels(im: Image.Image, path) -> np.ndarray | None:
    """The pixels of a plain 8-bit PNG opened with ``open_image(path, load=False)``, decoded by
    OpenCV's libpng: H×W (``L``) or H×W×C (``RGB``, ``RGBA``; in that channel order) uint8, the
    values Pillow decodes; None for any other file, and for a file libpng refuses (then Pillow
    decodes it, or reports it, as before).

    Why: Pillow's copy of a decoded image to numpy (``np.asarray``, through ``tobytes``) costs
    about a third of its decoding; ``cv2.imdecode`` returns the array itself. Measured on
    benchmarks/score.py's 1.4 Mpx mattes: ``read_matte`` 3.9 → 3.2 ms per file (Pillow's decode
    alone 2.9 ms, OpenCV's 3.6 ms). "Plain": 8 bits per sample in Pillow's mode ``L``, ``RGB``
    or ``RGBA`` (no 1/2/4/16-bit samples, no palette, no ``tRNS`` transparency, not animated), a
    whole file (:func:`_png_intact`), where both decoders return the stored samples (neither
    applies gAMA, sRGB, iCCP or sBIT; tests/test_mattes.py checks them against Pillow).
    """
    if (im.format != "PNG" or im.mode not in _PNG_MODES or "transparency" in im.info
            or getattr(im, "is_animated", False) or len(im.tile) != 1 or im.tile[0][3] not in (im.mode, (im.mode,))):
        return None
    import cv2

    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if not _png_intact(data):
        return None  # truncated or corrupt: Pillow reads it as before (and libpng would print to stderr)
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    channels = {"L": 2, "RGB": 3, "RGBA": 4}[im.mode]
    if (pixels is None or pixels.dtype != np.uint8 or pixels.shape[:2] != (im.height, im.width)
            or (pixels.shape[2] if pixels.ndim == 3 else 2) != channels):
        return None
    if _PNG_MODES[im.mode]:
        pixels = cv2.cvtColor(pixels, getattr(cv2, _PNG_MODES[im.mode]))
    return pixels


def encode_png(array: np.ndarray, compress_level: int = 1) -> bytes:
    """PNG bytes of a uint8 H×W (gray) or H×W×3 (RGB) array.

    zlib ``compress_level`` with the fixed "Up" row filter at levels 1–3 (about 1.6× faster
    to encode than adaptive filtering for files ~3% larger), no filter at level 0 and
    libpng's adaptive filters at levels 4–9. Pixels are identical at every level.
    """
    import cv2  # imported here so reading-only commands start faster

    if array.dtype != np.uint8:
        raise ValueError(f"encode_png: expected uint8, got {array.dtype}")
    if array.ndim == 3:
        array = array[..., ::-1]  # OpenCV writes BGR
    level = int(compress_level)
    params = [cv2.IMWRITE_PNG_COMPRESSION, level]
    if level == 0:
        params += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE]
    elif level <= 3:
        params += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
    ok, buf = cv2.imencode(".png", array, params)
    if not ok:  # pragma: no cover
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def _png_intact(buf: bytes) -> bool:
    """Whether PNG bytes are whole: the signature, every chunk's CRC, an ``IEND`` chunk. libpng
    checks these (and prints its complaint on stderr); Pillow does not check the CRC of image
    data, so a file that fails here keeps Pillow's reading."""
    import zlib

    if buf[:8] != b"\x89PNG\r\n\x1a\n":
        return False
    pos, end = 8, len(buf)
    while pos + 12 <= end:
        n = int.from_bytes(buf[pos:pos + 4], "big")
        kind = buf[pos + 4:pos + 8]
        stop = pos + 8 + n
        view = memoryview(buf)[pos + 4:stop]  # no copy of the chunk
        if stop + 4 > end or zlib.crc32(view) != int.from_bytes(buf[stop:stop + 4], "big"):
            return False
        if kind == b"IEND":
            return True
        pos = stop + 4
    return False


def write_bytes_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_text_atomic(path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_png_atomic(path, array: np.ndarray, compress_level: int = 1) -> None:
    """Encode ``array`` as PNG and write it atomically."""
    write_bytes_atomic(path, encode_png(array, compress_level))


def file_sha256(path) -> str:
    """sha256 (hex) of a file's bytes, read in 1 MiB chunks; OSError when unreadable."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def utc_now() -> str:
    """The UTC date and time to the second, ISO 8601 with ``Z``: ``2026-11-30T12:00:00Z``."""
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def is_within(path, folder) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (both resolved: links and ``..`` followed)."""
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


def built_dataset_at(folder) -> Path | None:
    """The matbench-built dataset (a folder holding ``dataset.json`` and ``manifest.csv``) that
    ``folder`` is or lies inside (resolved; the nearest one), else None."""
    folder = Path(folder).resolve()
    for d in (folder, *folder.parents):
        if (d / "dataset.json").is_file() and (d / "manifest.csv").is_file():
            return d
    return None


def check_not_in_dataset(out, *, option: str = "--out", own_dataset: bool = False) -> None:
    """Refuse (one line) an output folder that is, or lies inside, a matbench-built dataset
    (:func:`built_dataset_at`): only the builder resuming its own dataset writes there
    (``own_dataset=True``: ``out`` may be the dataset itself, not a folder inside it)."""
    dataset = built_dataset_at(out)
    if dataset is None or (own_dataset and dataset == Path(out).resolve()):
        return
    where = "is" if dataset == Path(out).resolve() else "is inside"
    raise MatbenchError(f"{out}: output folder {where} the matbench-built dataset {dataset} (it holds dataset.json "
                        f"and manifest.csv); choose another {option} outside it (a built dataset is only "
                        f"written by its builder)")


def check_out_dir(out, inputs, *, option: str = "--out", contain: bool = False,
                  own_dataset: bool = False) -> Path:
    """Refuse an output folder that is, or lies inside, an input folder: the outputs would
    overwrite or mix with the inputs. ``inputs``: ``(what, folder)`` pairs (``folder`` None is
    skipped), e.g. ``[("prediction folder", p), ("dataset", d)]``. ``contain=True`` also refuses
    an output folder that contains an input folder (commands whose outputs go into subfolders
    or the root of ``out``: the builders, run, trimap, build-train-samples, train dim; not
    score and report, whose demo layout keeps predictions under the score folder). Always
    refuses an output folder that is or lies inside a matbench-built dataset
    (:func:`check_not_in_dataset`; ``own_dataset``: a builder resuming). Returns ``out``
    resolved. Raises MatbenchError (one line: ``OUT: output folder is inside the dataset D;
    choose another --out``). The one rule of every command that writes (run, score, report,
    trimap, the builders, build-train-samples, train dim, demo) and of their Python functions."""
    resolved = Path(out).resolve()
    for what, folder in inputs:
        if folder is None:
            continue
        if is_within(resolved, folder):
            where = "is" if resolved == Path(folder).resolve() else "is inside"
            raise MatbenchError(f"{out}: output folder {where} the {what} {folder}; choose another {option} "
                                f"(outputs never go into an input folder)")
        if contain and is_within(folder, resolved):
            raise MatbenchError(f"{out}: output folder contains the {what} {folder}; choose another {option} "
                                f"(outputs never go into or around an input folder)")
    check_not_in_dataset(out, option=option, own_dataset=own_dataset)
    return resolved


LOCK_NAME = ".matbench.lock"  # hidden: never an input, an output or a stray file of any command
_HELD: dict[Path, int] = {}  # lock files this process holds -> nesting depth


@contextmanager
def out_lock(out, command: str | None = None):
    """Hold ``out/.matbench.lock`` while a command writes into the folder ``out`` (created if
    missing), so that two matbench commands never write into one folder at once.

    The lock file (JSON: ``pid``, ``host``, ``command``, ``since`` UTC) appears whole or not at
    all (written to a temporary file, then hard-linked into place, which fails when it exists).
    A lock held by a live process of this host, or by any process of another host (whose
    liveness cannot be checked), is a one-line MatbenchError naming the holder: nothing has
    been written. A lock whose process is gone (this host; e.g. after ``kill -9``) or that is
    unreadable is taken over with a warning. Reentrant within one process (a command calling
    another on the same folder). Released on exit, also on an exception or Ctrl-C; a folder it
    created is removed again when left empty. MatbenchError when ``out`` is a file. With a dask
    cluster the workers write files but this (the client) process holds the lock."""
    import json
    import sys
    import warnings

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise MatbenchError(f"{out}: exists and is not a folder; choose another output folder")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    path = (out / LOCK_NAME).resolve()
    if path in _HELD:
        _HELD[path] += 1
        try:
            yield path
        finally:
            _HELD[path] -= 1
        return
    record = {"pid": os.getpid(), "host": socket.gethostname(),
              "command": command or _command_line(sys.argv),
              "since": utc_now()}
    mine = (json.dumps(record) + "\n").encode("utf-8")
    for _ in range(3):
        if _create_lock(path, mine):
            break
        old = _read_lock(path)
        if old is not None and _alive(old):
            raise MatbenchError(_held_line(out, old))
        _take_over(path, old)
        warnings.warn(f"{out}: took over the lock of a matbench command that is no longer running "
                      f"({_holder(old)}; {LOCK_NAME})", stacklevel=3)
    else:  # pragma: no cover - another process won every race
        raise MatbenchError(_held_line(out, _read_lock(path) or {}))
    _HELD[path] = 1
    try:
        yield path
    finally:
        del _HELD[path]
        try:
            if path.read_bytes() == mine:
                path.unlink()
            if created:
                out.rmdir()  # a folder this command made and left empty (it refused before writing)
        except OSError:
            pass


def _command_line(argv) -> str:
    """The command that holds a lock, in words: ``matbench score ...`` (the CLI, also run as
    ``python -m matbench.cli``), else the program and its arguments."""
    prog = Path(argv[0]).name if argv and argv[0] else "python"
    if prog == "matbench" or Path(argv[0]).parent.name == "matbench":
        prog = "matbench"
    return " ".join([prog, *argv[1:]])


def _create_lock(path: Path, data: bytes) -> bool:
    """Create the lock file ``path`` holding ``data`` whole; False when it exists."""
    fd, tmp = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: exclusive create (written just after)
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            return True
    finally:
        os.unlink(tmp)


def _read_lock(path: Path) -> dict | None:
    """The record of a lock file; ``{}`` when it vanished, None when unreadable or not a record."""
    import json

    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return None
    return old if isinstance(old, dict) and isinstance(old.get("pid"), int) else None


def _alive(old: dict) -> bool:
    """Whether the process of a lock record may still be running: any other host's, a live pid of this one."""
    if not old:
        return False  # the lock vanished meanwhile: try again
    if old.get("host") != socket.gethostname():
        return True
    try:
        os.kill(old["pid"], 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _take_over(path: Path, old: dict | None) -> None:
    """Remove the stale lock ``path`` (record ``old``) unless another process replaced it meanwhile."""
    aside = path.with_name(f"{path.name}.{os.getpid()}.stale")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    if old and _read_lock(aside) != old:  # a live lock that replaced the stale one: put it back
        try:
            os.link(aside, path)
        except OSError:
            pass
    aside.unlink(missing_ok=True)


def _holder(old: dict | None) -> str:
    if not old:
        return "unreadable lock file"
    host = "" if old.get("host") in (None, socket.gethostname()) else f" on {old['host']}"
    return f"pid {old['pid']}{host}, {old.get('command') or 'unknown command'}, since {old.get('since') or '?'}"


def _held_line(out, old: dict) -> str:
    return (f"{out}: another matbench command ({_holder(old)}) is writing here; wait for it to finish or choose "
            f"another output folder (if no such command is running, remove {Path(out) / LOCK_NAME})")


def index_images(folder, what: str = "image", problems: list | None = None) -> dict[str, Path]:
    """Map file stem -> path for the images directly inside ``folder``.

    Hidden files and non-image files are ignored. Two images with one stem
    (``a.png`` and ``a.jpg``) are ambiguous: a MatbenchError, or, with a ``problems`` list,
    one line per stem appended to it (the first file in name order is kept, so that the
    other checks still run and every problem is reported at once). A missing ``folder``,
    or a file given as one, is a MatbenchError (:func:`check_folder`).
    """
    folder = check_folder(folder, what)
    found: dict[str, Path] = {}
    twins: dict[str, list[str]] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or p.suffix.lower() not in IMAGE_SUFFIXES or not p.is_file():
            continue
        if p.stem in found:
            twins.setdefault(p.stem, [found[p.stem].name]).append(p.name)
            continue
        found[p.stem] = p
    lines = [f"{folder}: {'two' if len(names) == 2 else len(names)} {what}s named {stem!r} ({', '.join(names)}); keep one"
             for stem, names in twins.items()]
    if lines and problems is None:
        raise MatbenchError(lines[0] if len(lines) == 1 else
                            f"{folder}: {len(lines)} {what} names used twice: {capped_list(twins)}; keep one each")
    if problems is not None:
        problems += lines
    return found


def check_folder(folder, what: str = "image") -> Path:
    """``folder`` as a Path; a one-line MatbenchError when it does not exist (``... folder not
    found``) or is a file (``... is a file, not a ... folder``)."""
    folder = Path(folder)
    if folder.is_file():
        raise MatbenchError(f"{folder}: is a file, not a {what} folder")
    if not folder.is_dir():
        raise MatbenchError(f"{folder}: {what} folder not found")
    return folder
