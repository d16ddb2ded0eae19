"""`archbench data import`: a dataset from its official files, for machines without the internet.

``import_dataset(name, path, root)`` takes what the dataset's source lists as its official files in
``path`` (a directory, or for CIFAR-10 the tarball too), and:

1. verifies each one's md5 (for a gzipped idx file, of its decompressed content) while reading
   ``path`` only: a missing, truncated, foreign or corrupt file raises ImportRefusedError, one line
   naming the file and what was expected, and the data root is not touched;
2. under the dataset's file lock, copies (or decompresses, or unpacks) them into a staging folder
   inside the data root, decodes both splits there exactly as after a download, records the origin
   ("imported from PATH"), and only then renames the staging folder into the dataset's place.

A dataset therefore counts as present (both decoded splits in its folder) only once all of it is
in; a failure at any step leaves the data root's datasets as they were.
"""

from __future__ import annotations

import gzip
import hashlib
import tarfile
import tempfile
import zlib
from contextlib import nullcontext
from pathlib import Path
from typing import BinaryIO

from orchestrator.data import store
from orchestrator.data.sources import Importable, ImportRefusedError, OfficialFile
from orchestrator.data.specs import DatasetSpec, names, spec

_CHUNK = 1 << 20


def import_dataset(name: str, path: str | Path, root: str | Path | None = None) -> None:
    """Verify the official files of ``name`` in ``path`` and decode them into ``root`` (see the module doc).

    Raises UnknownDatasetError, ImportRefusedError (bad input: nothing written) or DataUnavailableError
    (the data root cannot be written).
    """
    dataset = spec(name)
    if not isinstance(dataset.source, Importable):
        importable = [n for n in names() if isinstance(spec(n).source, Importable)]
        raise ImportRefusedError(f"{name} has no official files to import; importable: {', '.join(importable)}")
    path = Path(path).expanduser().resolve()
    files = dataset.source.official_files(path)
    for official in files:
        _copy_verified(official, destination=None)
    root = store.default_root() if root is None else Path(root).expanduser()
    try:
        root.mkdir(parents=True, exist_ok=True)
        with store.lock(dataset, root):
            _install(dataset, files, path, root)
    except OSError as err:
        raise store.DataUnavailableError(
            f"cannot write {name} into the data root {root}: {err.strerror or err}") from err


def _install(dataset: DatasetSpec, files: list[OfficialFile], path: Path, root: Path) -> None:
    with tempfile.TemporaryDirectory(dir=root, prefix=f".import-{dataset.name}-") as staging:
        folder = Path(staging) / dataset.directory
        folder.mkdir()
        for official in files:
            _copy_verified(official, destination=folder)
        try:
            store.decode(dataset, folder, download=False)
        except (RuntimeError, OSError) as err:
            raise ImportRefusedError(f"{path}: the verified files do not decode as {dataset.name}: {err}") from err
        store.write_origin(folder, f"imported from {path}")
        _replace(root / dataset.directory, folder, Path(staging) / "replaced")


def _replace(target: Path, new: Path, old: Path) -> None:
    """Put the folder ``new`` at ``target``; what was there moves to ``old`` (removed with the staging folder)."""
    if not target.exists():
        new.rename(target)
        return
    target.rename(old)
    try:
        new.rename(target)
    except OSError:
        old.rename(target)
        raise


def _copy_verified(official: OfficialFile, destination: Path | None) -> None:
    """Check ``official``'s md5 while unpacking it under ``destination`` (None: only check it, write nothing)."""
    target = destination / official.target if destination and official.unpack != "untar" else None
    try:
        with open(official.path, "rb") as raw:
            md5 = _md5_copy(gzip.open(raw) if official.unpack == "gunzip" else raw, target)
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise ImportRefusedError(f"{official.path}: not a valid gzip file ({err}); expected a gzipped idx "
                                 f"file whose content has md5 {official.md5}") from err
    except OSError as err:
        if destination is not None:
            raise    # writing the data root failed
        raise ImportRefusedError(f"{official.path}: cannot be read ({err.strerror or err})") from err
    if md5 != official.md5:
        what = "decompressed content" if official.unpack == "gunzip" else "file"
        raise ImportRefusedError(f"{official.path}: md5 of its {what} is {md5}, expected {official.md5} "
                                 "(truncated, corrupt, or another dataset's file)")
    if destination is not None and official.unpack == "untar":
        with tarfile.open(official.path) as archive:
            # As torchvision extracts it after a download: PEP 706's filter where Python has it (3.11.4+).
            safety = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            archive.extractall(destination / official.target, **safety)


def _md5_copy(source: BinaryIO, target: Path | None) -> str:
    """The md5 of everything ``source`` yields, written to ``target`` on the way when one is given."""
    digest = hashlib.md5()
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") if target is not None else nullcontext() as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            if out is not None:
                out.write(chunk)
    return digest.hexdigest()
