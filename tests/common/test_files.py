"""tuner.common.files: atomic JSON writes with explicit permissions."""

import contextlib
import json
import os

import pytest

from tuner.common import files


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
