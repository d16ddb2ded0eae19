"""Files written whole or not at all: a temporary file in the same folder, fsynced, renamed over the old one."""

import os

import pytest

from orchestrator.atomic import atomic_write_all, atomic_write_text


def test_atomic_write_text_replaces_whole_file(tmp_path):
    path = tmp_path / "out.md"
    path.write_text("old")
    atomic_write_text(path, "new text")
    assert path.read_text() == "new text"
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]


def test_atomic_files_get_the_mode_open_would_give(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "out.md", "text")
    finally:
        os.umask(old)
    assert (tmp_path / "out.md").stat().st_mode & 0o777 == 0o640


def test_a_failed_writer_leaves_every_file_as_it_was_and_no_temporary_file(tmp_path):
    (tmp_path / "a.txt").write_text("old a")

    def fails(tmp):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        atomic_write_all([(tmp_path / "a.txt", lambda tmp: open(tmp, "w").write("new a")), (tmp_path / "b.txt", fails)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"] and (tmp_path / "a.txt").read_text() == "old a"
