"""Precomputed saliency maps (the DSS maps of the CTLR papers) put where a VOC config reads them, and checked.

The maps come as a directory or an archive (``.zip``, ``.tar``, ``.tar.gz`` /
``.tgz``) holding one PNG per image, ``<image id>.png``, at any depth (the
archives the saliency-guided WSSS repositories link put them in one folder).
:func:`place_saliency_maps` writes the map of every id of a split into
``<voc_root>/<directory>/<id>.png`` as 8-bit grayscale (0-255, the form
``guidance.method: precomputed`` reads) and checks, before writing anything,
that every id has exactly one map and that each map has its image's size. Every
problem is one line, all reported together.
"""

from __future__ import annotations

import io
import logging
import tarfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from PIL import Image

from wsss_core.io import InputError, atomic_directory
from wsss_core.logs import progress

log = logging.getLogger(__name__)
ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz")


def _members(source: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """(name inside the source, a function returning the bytes) of every PNG of a directory or an archive."""
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.suffix.lower() == ".png" and path.is_file():
                yield str(path.relative_to(source)), path.read_bytes
        return
    name = source.name.lower()
    if name.endswith(".zip"):
        archive = zipfile.ZipFile(source)
        for info in archive.infolist():
            if not info.is_dir() and info.filename.lower().endswith(".png"):
                yield info.filename, lambda info=info: archive.read(info)
        return
    if name.endswith(ARCHIVES[1:]):
        archive = tarfile.open(source)
        for info in archive.getmembers():
            if info.isfile() and info.name.lower().endswith(".png"):
                yield info.name, lambda info=info: archive.extractfile(info).read()
        return
    raise InputError(f"{source}: not a directory or an archive ({', '.join(ARCHIVES)}) of <id>.png maps")


def _open_source(source: Path) -> dict[str, list[tuple[str, Callable[[], bytes]]]]:
    if not source.exists():
        raise InputError(f"{source}: saliency maps not found")
    maps: dict[str, list[tuple[str, Callable[[], bytes]]]] = {}
    try:
        for member, read in _members(source):
            maps.setdefault(Path(member).stem, []).append((member, read))
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as err:
        raise InputError(f"{source}: not a readable archive ({err})") from None
    return maps


def place_saliency_maps(source: str | Path, voc_root: str | Path, ids: Sequence[str], directory: str = "saliency_dss") -> int:
    """Write the map of each of ``ids`` from ``source`` (directory or archive) into ``voc_root/directory``; returns how many.

    Each id needs one map of its image's size (``JPEGImages/<id>.jpg``); maps of
    other ids are left out. Raises :class:`InputError` listing every problem
    before anything is written; ``voc_root/directory`` must not exist yet.
    """
    source, voc_root = Path(source), Path(voc_root)
    maps = _open_source(source)
    target = voc_root / directory
    if target.exists():
        raise InputError(f"{target}: exists already; remove it to place the maps again")
    problems, found = [], []
    for image_id in ids:
        candidates = maps.get(image_id, [])
        if len(candidates) != 1:
            what = "no map" if not candidates else f"{len(candidates)} maps ({', '.join(m for m, _ in candidates)})"
            problems.append(f"{source}: {what} for image {image_id!r} (a saliency map is <id>.png)")
            continue
        image = voc_root / "JPEGImages" / f"{image_id}.jpg"
        if not image.is_file():
            problems.append(f"{image}: image of {image_id!r} not found")
            continue
        found.append((image_id, image, *candidates[0]))
    if problems:
        raise InputError(_lines(problems))
    with atomic_directory(target) as tmp:  # written as checked; any problem leaves nothing behind
        for image_id, image, member, read in progress(found, total=len(found), desc="saliency maps"):
            problem = _write_map(read, member, image, tmp / f"{image_id}.png")
            if problem:
                problems.append(f"{source}: {problem}")
        if problems:
            raise InputError(_lines(problems))
    log.info("%s: %d saliency maps from %s", target, len(found), source)
    return len(found)


def _lines(problems: list[str], shown: int = 20) -> str:
    return "\n".join(problems[:shown] + ([f"... and {len(problems) - shown} more"] if len(problems) > shown else []))


def _write_map(read: Callable[[], bytes], member: str, image: Path, output: Path) -> str | None:
    """Write one map as 8-bit grayscale; the problem (one line) when it is no PNG or not of its image's size."""
    try:
        saliency = Image.open(io.BytesIO(read()))
        saliency.load()
    except OSError as err:
        return f"{member} is not a readable PNG ({err})"
    with Image.open(image) as photo:
        if saliency.size != photo.size:
            return f"{member} is {saliency.size[0]}x{saliency.size[1]}, its image {image} is {photo.size[0]}x{photo.size[1]}"
    (saliency if saliency.mode == "L" else saliency.convert("L")).save(output)
    return None
