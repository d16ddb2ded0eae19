"""Write files so that readers see the old file or the whole new one, never a part."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Callable, Sequence

Writer = Callable[[str], None]


def atomic_write(path: str | os.PathLike[str], write: Writer) -> None:
    """Call ``write(tmp)`` on a fresh temporary file beside ``path``, fsync it, then rename it over ``path``."""
    atomic_write_all([(path, write)])


def atomic_write_all(files: Sequence[tuple[str | os.PathLike[str], Writer]]) -> None:
    """Write each file as ``atomic_write`` does, all of them before the first rename.

    A failure or crash while writing leaves every old file as it was; the renames then follow one
    another in the order given, and the directories are fsynced so that they survive a power loss.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, write in files:
            path = Path(path)
            tmp = _new_temp_file(path)
            staged.append((tmp, path))
            write(str(tmp))
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        for tmp, path in staged:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for directory in dict.fromkeys(path.parent for _, path in staged):
        _fsync_directory(directory)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _new_temp_file(path: Path) -> Path:
    """An empty new file beside ``path``, created with mode 0666 less the umask, as open() would."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
