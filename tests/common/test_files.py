"""tuner.common.files: atomic JSON writes with explicit permissions."""

import contextlib
import errno
import json
import os

import pytest

from tuner.common import files
from tuner.common.errors import DiskFull


@contextlib.contextmanager
def umask(mask):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def test_json_is_written_whole_with_nan_as_null_and_no_temporary_left(tmp_path):
    files.write_json(tmp_path / "new" / "a.json", {"x": float("nan"), "y": [1.5]})
    assert json.loads((tmp_path / "new" / "a.json").read_text()) == {"x": None, "y": [1.5]}
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["a.json"]


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")
def test_files_are_readable_by_everyone_whatever_the_umask(tmp_path):
    with umask(0o077):
        files.write_bytes(tmp_path / "private.json", b"{}")
    with umask(0o022):
        files.write_bytes(tmp_path / "new" / "shared.json", b"{}")
    assert (tmp_path / "private.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "new" / "shared.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o755


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_leaves_the_old_file_whole_no_temporary_and_says_what_was_needed(
        tmp_path, monkeypatch):
    files.write_json(tmp_path / "a.json", {"old": True})
    monkeypatch.setattr(files.os, "fsync", _no_space)
    monkeypatch.setattr(files, "free_bytes", lambda folder: 1234)
    with pytest.raises(DiskFull) as full:
        files.write_bytes(tmp_path / "a.json", b"x" * 5000)
    assert str(full.value) == (
        f"disk full: {tmp_path} has 1.2 kB free and a.json needs 5.0 kB; free some space there "
        f"(or choose another folder), then run the same command again to resume")
    assert full.value.errno == errno.ENOSPC and isinstance(full.value, OSError)
    assert json.loads((tmp_path / "a.json").read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_other_write_errors_stay_what_they_are(tmp_path, monkeypatch):
    def failing(*args):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(files.os, "fsync", failing)
    with pytest.raises(OSError, match="Input/output error") as raised:
        files.write_bytes(tmp_path / "a.json", b"{}")
    assert type(raised.value) is OSError  # neither DiskFull nor Unwritable
    assert list(tmp_path.iterdir()) == []


def test_a_staged_write_is_renamed_when_whole_and_refused_without_room(tmp_path, monkeypatch):
    target = tmp_path / "checkpoint.weights.h5"
    with files.staged(target, needed=10) as staged:
        assert staged.parent == tmp_path and staged.name == f".tmp-{os.getpid()}-{target.name}"
        staged.write_bytes(b"weights")
    assert target.read_bytes() == b"weights" and list(tmp_path.iterdir()) == [target]

    monkeypatch.setattr(files, "free_bytes", lambda folder: files.ROOM_MARGIN + 9)
    with pytest.raises(DiskFull, match=rf"^disk full: {tmp_path} has 2.0 MB free and "
                                       r"checkpoint.weights.h5 needs 2.0 MB; "):
        with files.staged(target, needed=10):
            raise AssertionError("never entered: there is no room")
    assert target.read_bytes() == b"weights"


def test_a_staged_writer_cut_short_by_the_disk_leaves_nothing_behind(tmp_path, monkeypatch):
    """HDF5 may report a full disk only in words, or not at all (the disk is then left with
    no free byte): either way the truncated file goes and the old one stays."""
    target = tmp_path / "checkpoint.weights.h5"
    target.write_bytes(b"old")
    with pytest.raises(DiskFull):
        with files.staged(target, needed=10) as staged:
            staged.write_bytes(b"trunc")
            raise RuntimeError("Can't decrement id ref count (file write failed: errno = 28, "
                               "error message = 'No space left on device')")
    with pytest.raises(DiskFull):
        with files.staged(target, needed=10) as staged:
            staged.write_bytes(b"trunc")
            monkeypatch.setattr(files, "free_bytes", lambda folder: 0)
    assert target.read_bytes() == b"old" and list(tmp_path.iterdir()) == [target]


def test_a_full_disk_is_told_by_errno_or_in_words_and_through_the_errors_it_caused():
    assert files.is_disk_full(OSError(errno.ENOSPC, "x"))
    assert files.is_disk_full(OSError(errno.EDQUOT, "x"))
    assert files.is_disk_full(RuntimeError("write failed: No space left on device"))
    try:
        try:
            raise OSError(errno.ENOSPC, "x")
        except OSError as inner:
            raise ValueError("wrapped") from inner
    except ValueError as outer:
        assert files.is_disk_full(outer)
    assert not files.is_disk_full(OSError(errno.EACCES, "x"))
    assert not files.is_disk_full(ValueError("anything else"))


@pytest.mark.parametrize("count, text", [(0, "0 B"), (999, "999 B"), (1000, "1.0 kB"),
                                         (34_561_760, "34.6 MB"), (2_500_000_000, "2.5 GB")])
def test_sizes_are_given_in_decimal_units(count, text):
    assert files.human_bytes(count) == text


def test_room_is_the_space_needed_and_a_margin(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "free_bytes", lambda folder: files.ROOM_MARGIN + 100)
    files.ensure_room(tmp_path, 100, "a trial")
    with pytest.raises(DiskFull, match=rf"^disk full: {tmp_path} has 2.0 MB free and a trial "
                                       r"needs 2.0 MB; free some space there"):
        files.ensure_room(tmp_path, 101, "a trial")
    assert files.folder_bytes(tmp_path / "nowhere") == 0
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").write_bytes(b"12345")
    (tmp_path / "c").write_bytes(b"123")
    assert files.folder_bytes(tmp_path) == 8
    assert files.free_bytes(tmp_path / "not" / "yet") == files.free_bytes(tmp_path)


def test_a_file_onto_a_folder_or_under_a_file_is_one_line_naming_the_path(tmp_path):
    from tuner.common.errors import Unwritable, UsageError

    (tmp_path / "report.html").mkdir()
    with pytest.raises(UsageError, match=rf"^cannot write {tmp_path / 'report.html'}: it is a "
                                         r"folder; give a file name"):
        files.write_bytes(tmp_path / "report.html", b"x")
    (tmp_path / "plain").write_text("")
    with pytest.raises(Unwritable, match=rf"^cannot write {tmp_path / 'plain' / 'r.html'}: "
                                         rf"{tmp_path / 'plain'} is a file, not a folder"):
        files.write_bytes(tmp_path / "plain" / "r.html", b"x")
    assert sorted(tmp_path.iterdir()) == [tmp_path / "plain", tmp_path / "report.html"]


def test_a_read_only_folder_is_one_line_saying_what_to_do(tmp_path, monkeypatch):
    from tuner.common.errors import Unwritable

    def read_only(*args, **kwargs):  # as a read-only mount answers (tests may run as root)
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(files.tempfile, "mkstemp", read_only)
    with pytest.raises(Unwritable, match=rf"^cannot write {tmp_path / 'a.json'} \(Read-only file "
                                         r"system\): its folder is not writable \(read-only\?\); "
                                         r"make it writable or choose another place$"):
        files.write_json(tmp_path / "a.json", {})
    assert isinstance(Unwritable("x"), OSError)  # a heartbeat's failed write is still tolerated


def test_reading_a_fifo_is_refused_not_blocked_on(tmp_path):
    os.mkfifo(tmp_path / "x.json")
    with pytest.raises(OSError, match="not a regular file"):
        files.read_json(tmp_path / "x.json")
