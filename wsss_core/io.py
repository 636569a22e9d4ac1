"""Atomic file output and image / label-map input-output.

Label maps are single-channel PNGs in the PASCAL VOC palette: 0 is background,
1..C are the object classes and 255 means "ignore" (not used by any loss and
not counted by any metric).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator, Mapping

import numpy as np
from PIL import Image

IGNORE_LABEL = 255


class InputError(ValueError):
    """A file the pipeline reads is missing or malformed; the message names it."""


def binarize_label_map(labels: np.ndarray) -> np.ndarray:
    """Object (1) / background (0) of a label map of classes; 255 (ignore) stays 255."""
    labels = np.asarray(labels)
    return np.where(labels == IGNORE_LABEL, IGNORE_LABEL, labels > 0).astype(np.uint8)


def voc_palette() -> list[int]:
    """Return the 256-entry PASCAL VOC colour palette as a flat RGB list."""
    palette = []
    for index in range(256):
        r = g = b = 0
        label = index
        for bit in range(8):
            r |= ((label >> 0) & 1) << (7 - bit)
            g |= ((label >> 1) & 1) << (7 - bit)
            b |= ((label >> 2) & 1) << (7 - bit)
            label >>= 3
        palette.extend((r, g, b))
    palette[-3:] = [224, 224, 192]  # VOC colours the ignore label (255) light beige
    return palette


_PALETTE = voc_palette()


class OutputError(OSError):
    """An output could not be written (no space left, file size limit); the message names it."""


# errors of a full disk, a full quota and a file-size limit (RLIMIT_FSIZE)
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _umask() -> int:
    """The process's umask, read without changing it (other threads may be creating files)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _disk_full(err: BaseException) -> str | None:
    """The reason if ``err`` (or an error it wraps) says that the disk or a size limit is full, else None.

    h5py and torch report the operating system's error inside their own
    message, so the message text is searched for the system's wording too.
    """
    while err is not None:
        if isinstance(err, OSError) and err.errno in _FULL_ERRNOS:
            return os.strerror(err.errno)
        text = str(err)
        for number in _FULL_ERRNOS:
            if os.strerror(number) in text:
                return os.strerror(number)
        err = err.__cause__ or err.__context__
    return None


@contextlib.contextmanager
def _full_disk_is_named(path: Path) -> Iterator[None]:
    """Turn a full-disk error inside the block into one :class:`OutputError` line naming ``path``."""
    try:
        yield
    except Exception as err:
        reason = _disk_full(err)
        if reason is None:
            raise
        raise OutputError(
            f"{path}: could not be written: {reason}; nothing was left under this name. "
            "Free space (or raise the file size limit) and run the step again"
        ) from None


def _remove_stale(path: Path) -> None:
    """Remove the temporary siblings of ``path`` that a killed writer left (``.<name>.<random>.part``)."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; move it onto ``path`` on success.

    A crash or an exception leaves ``path`` untouched (and no partial file);
    a full disk stops with an :class:`OutputError` naming ``path``. The file
    gets the mode a new file gets under the user's umask (``0666 & ~umask``),
    not the 0600 of the temporary file. Temporary siblings left by a killed
    earlier writer of ``path`` are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        with _full_disk_is_named(path):
            yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling directory; rename it onto ``path`` on success.

    An existing ``path`` is replaced only once the new content is complete;
    a full disk stops with an :class:`OutputError` naming ``path``. The
    directory gets the mode of a new directory under the user's umask
    (``0777 & ~umask``), not the 0700 of the temporary one. Temporary
    siblings left by a killed earlier writer of ``path`` are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    tmp_path = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    try:
        with _full_disk_is_named(path):
            yield tmp_path
        os.chmod(tmp_path, 0o777 & ~_umask())
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            shutil.rmtree(tmp_path)


@contextlib.contextmanager
def atomic_directories(paths: Mapping[str, str | os.PathLike]) -> Iterator[dict[str, Path]]:
    """:func:`atomic_directory` for each of ``paths`` (name -> path): yields name -> temporary directory."""
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(atomic_directory(path)) for name, path in paths.items()}


def _open_image(path: Path, decode: bool = True) -> Image.Image:
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        image = Image.open(path)
        if decode:
            image.load()
    except (OSError, SyntaxError) as err:
        raise InputError(f"{path}: not a readable image ({err})") from err
    return image


def read_image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) of an image, from its header only."""
    with _open_image(Path(path), decode=False) as image:
        width, height = image.size
    return height, width


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image as an ``(H, W, 3)`` uint8 RGB array."""
    return np.array(_open_image(Path(path)).convert("RGB"), dtype=np.uint8)


def read_gray(path: str | os.PathLike) -> np.ndarray:
    """Read a single-channel 8-bit map (saliency, class-agnostic mask) as ``(H, W)`` uint8."""
    image = _open_image(Path(path))
    if image.mode not in ("L", "P", "1", "I;16", "I"):
        image = image.convert("L")
    array = np.array(image)
    if array.dtype != np.uint8:
        raise InputError(f"{path}: expected an 8-bit single-channel map, got dtype {array.dtype}")
    return array


def check_size(
    path: str | os.PathLike, shape: tuple[int, ...], expected: tuple[int, ...], what: str, noun: str = "map"
) -> None:
    """Raise :class:`InputError` unless the (H, W) ``shape`` of the ``noun`` read from ``path`` is ``expected``.

    ``what`` names the reference in the message, e.g. ``"its image"`` or ``"ground truth"``.
    """
    if tuple(shape[:2]) != tuple(expected[:2]):
        raise InputError(f"{path}: {noun} is {shape[1]}x{shape[0]}, {what} is {expected[1]}x{expected[0]}")


def read_sized(
    path: str | os.PathLike,
    expected: tuple[int, ...],
    reader: Callable[[str | os.PathLike], np.ndarray],
    what: str = "its image",
) -> np.ndarray:
    """``reader(path)``, checked by :func:`check_size` to have the (H, W) ``expected``."""
    values = reader(path)
    check_size(path, values.shape, expected, what)
    return values


def read_label_map(path: str | os.PathLike) -> np.ndarray:
    """Read a label PNG (palette or grayscale indices) as ``(H, W)`` uint8 class indices."""
    path = Path(path)
    image = _open_image(path)
    if image.mode not in ("P", "L"):
        raise InputError(f"{path}: a label map must be a palette or grayscale PNG, got mode {image.mode}")
    return np.array(image, dtype=np.uint8)


def write_label_map(path: str | os.PathLike, labels: np.ndarray) -> None:
    """Write ``(H, W)`` class indices as a VOC-palette PNG, atomically."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"{path}: label map must be 2-D, got shape {labels.shape}")
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    image.putpalette(_PALETTE)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def write_gray(path: str | os.PathLike, values: np.ndarray) -> None:
    """Write an ``(H, W)`` uint8 map as a grayscale PNG, atomically."""
    values = np.asarray(values)
    if values.ndim != 2 or values.dtype != np.uint8:
        raise ValueError(f"{path}: expected a 2-D uint8 map, got {values.dtype} {values.shape}")
    with atomic_path(path) as tmp:
        Image.fromarray(values, mode="L").save(tmp, format="PNG")


def write_rgb(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an ``(H, W, 3)`` uint8 image as PNG, atomically."""
    with atomic_path(path) as tmp:
        Image.fromarray(np.asarray(image, dtype=np.uint8), mode="RGB").save(tmp, format="PNG")
