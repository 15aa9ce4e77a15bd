"""Tests of tuner.data.download and `--data lfw-deepfunneled`: a local HTTP server on 127.0.0.1 serves a
small LFW-like archive; the tool is pointed at it through the URL override and a temporary cache."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from tuner.common import config
from tuner.common.errors import UsageError
from tuner.data import download
from tuner.data.face_sets import load_faces

NAME = "lfw-deepfunneled"
PEOPLE = {"Ada_Lovelace": 9, "Alan_Turing": 8}
ENV_URL = download.env_name(NAME, "URL")
ENV_SHA = download.env_name(NAME, "SHA256")


@pytest.fixture(scope="module")
def archive(draw_face) -> bytes:
    """A .tgz of lfw-deepfunneled/<Person>/<Person>_0001.jpg ..., 32x32 colour JPEGs."""
    rng = np.random.default_rng(3)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for person, count in PEOPLE.items():
            for i in range(1, count + 1):
                gray = draw_face(rng, 32)
                jpeg = io.BytesIO()
                Image.fromarray(np.stack([gray, gray // 2 + 64, gray], axis=-1)).save(jpeg, "JPEG")
                member = tarfile.TarInfo(f"{NAME}/{person}/{person}_{i:04d}.jpg")
                member.size = len(jpeg.getvalue())
                tar.addfile(member, io.BytesIO(jpeg.getvalue()))
    assert 1e3 < len(buffer.getvalue()) < 1e6  # a few kB: several chunks, sizes shown in kB
    return buffer.getvalue()


class Server:
    """What the test HTTP server serves, and every request it received (path, Range header)."""

    def __init__(self, body: bytes):
        self.body = body
        self.requests: list[tuple[str, str | None]] = []
        self.drop_after: list[int] = []   # the next requests send only this many bytes, then close
        self.ignore_range = False
        self.status = 200
        self.url = ""

    def handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                requested = self.headers.get("Range")
                server.requests.append((self.path, requested))
                if server.status != 200:
                    self.send_error(server.status)
                    return
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", requested or "")
                if match and not server.ignore_range:
                    start = int(match.group(1))
                    if start >= len(server.body):
                        self.send_error(416)
                        return
                body = server.body[start:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(server.body) - 1}/"
                                                      f"{len(server.body)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.drop_after:
                    body = body[:server.drop_after.pop(0)]
                    self.close_connection = True
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def server(archive):
    """A Server on 127.0.0.1 (a free port) serving the archive at /lfw-deepfunneled.tgz."""
    state = Server(archive)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/{NAME}.tgz"
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The user cache of the test (XDG_CACHE_HOME), and no URL/checksum overrides from outside."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(ENV_URL, raising=False)
    monkeypatch.delenv(ENV_SHA, raising=False)
    monkeypatch.chdir(tmp_path)  # no local file or folder named lfw-deepfunneled
    return tmp_path / "xdg" / "dcgan-tuner"


@pytest.fixture
def mirror(server, archive, monkeypatch):
    """The test server as the built-in source of lfw-deepfunneled, with the archive's SHA-256."""
    monkeypatch.setitem(config.LFW_ARCHIVES, NAME, config.RemoteArchive(
        f"{NAME}.tgz", server.url, "sha256:" + hashlib.sha256(archive).hexdigest()))
    return server


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- download, cache, reuse


def test_download_is_verified_cached_and_read_as_the_tgz(mirror, archive, cache, caplog):
    caplog.set_level(logging.INFO)
    faces = load_faces(NAME, person="Ada_Lovelace")
    assert len(faces) == PEOPLE["Ada_Lovelace"] and faces.name == f"{NAME}.tgz:Ada_Lovelace"
    assert (cache / f"{NAME}.tgz").read_bytes() == archive
    assert sorted(p.name for p in cache.iterdir() if not p.name.endswith(".lock")) == [f"{NAME}.tgz"]
    assert mirror.requests == [(f"/{NAME}.tgz", None)]
    local = cache.parent.parent / "copy.tgz"
    local.write_bytes(archive)
    assert faces.fingerprint == load_faces(str(local), person="Ada_Lovelace").fingerprint
    assert "sha256 verified" in caplog.text


def test_a_cached_archive_is_used_without_any_request(mirror, cache, caplog):
    first = load_faces(NAME, person="Alan_Turing")
    caplog.set_level(logging.INFO)
    second = load_faces(NAME, person="Alan_Turing")
    assert len(mirror.requests) == 1
    assert second.fingerprint == first.fingerprint
    assert "using the cached" in caplog.text


def test_progress_reports_bytes_total_and_rate(mirror, archive, cache, caplog):
    calls = []
    caplog.set_level(logging.INFO, logger="tuner.data.download")
    path = download.archive_path(NAME, progress=lambda *call: calls.append(call))
    assert path.read_bytes() == archive
    done, total, rate = calls[-1]
    assert done == total == len(archive) and rate > 0
    load_faces(NAME, person="Ada_Lovelace")  # cached now: the default reporter is not needed
    path.unlink()
    load_faces(NAME, person="Ada_Lovelace")
    size = f"{len(archive) / 1e3:.1f} kB"  # the test archive is a few kB
    assert re.search(rf"downloading {NAME}\.tgz \({size}\) from {re.escape(mirror.url)}", caplog.text)
    assert re.search(rf"{NAME}\.tgz: {size} of {size} \(100%\), [\d.]+ [kMG]?B/s", caplog.text)


def test_progress_is_throttled_to_one_report_per_interval(mirror, cache, monkeypatch):
    calls = []
    monkeypatch.setattr(config, "DOWNLOAD_PROGRESS_EVERY", 1e9)
    download.archive_path(NAME, progress=lambda *call: calls.append(call))
    assert len(calls) == 1  # only the closing report: none between chunks within the interval


def test_an_unwritable_cache_is_one_line(mirror, tmp_path, monkeypatch):
    (tmp_path / "xdg-file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-file"))
    with pytest.raises(UsageError) as err:
        load_faces(NAME, person="Ada_Lovelace")
    message = _one_line(err)
    assert message.startswith(f"--data {NAME}: cannot write the download to ")
    assert "XDG_CACHE_HOME" in message and f"--data /path/to/{NAME}.tgz" in message
    assert mirror.requests == []


def test_without_person_the_downloaded_archive_lists_its_people(mirror, cache):
    with pytest.raises(UsageError, match=r"holds 2 people; choose one with --person"):
        load_faces(NAME)


def test_a_bad_person_name_is_refused_before_downloading(mirror, cache):
    with pytest.raises(UsageError, match="--person must be a person folder name"):
        load_faces(NAME, person="../Ada_Lovelace")
    assert mirror.requests == []


# ---------------------------------------------------------------- checksums


def test_a_mirror_keeps_the_built_in_checksum_and_a_mismatch_leaves_nothing(server, archive, cache,
                                                                            monkeypatch):
    monkeypatch.setenv(ENV_URL, server.url)
    with pytest.raises(UsageError) as err:
        load_faces(NAME, person="Ada_Lovelace")
    message = _one_line(err)
    expected = config.LFW_ARCHIVES[NAME].checksum.partition(":")[2]
    got = hashlib.new(config.LFW_ARCHIVES[NAME].checksum.partition(":")[0], archive).hexdigest()
    assert message.startswith(f"--data {NAME}: the file from {server.url} has ")
    assert expected in message and got in message and "deleted" in message
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []


def test_a_wrong_sha256_override_is_a_mismatch(server, cache):
    with pytest.raises(UsageError) as err:
        load_faces(NAME, person="Ada_Lovelace", url=server.url, sha256="0" * 64)
    assert f"sha256 {hashlib.sha256(server.body).hexdigest()}, expected {'0' * 64}" in _one_line(err)
    assert not (cache / f"{NAME}.tgz").exists() and not (cache / f"{NAME}.tgz.part").exists()


def test_url_and_sha256_from_the_environment(server, archive, cache, monkeypatch):
    monkeypatch.setenv(ENV_URL, server.url)
    monkeypatch.setenv(ENV_SHA, hashlib.sha256(archive).hexdigest().upper())
    assert len(load_faces(NAME, person="Ada_Lovelace")) == PEOPLE["Ada_Lovelace"]
    assert (cache / f"{NAME}.tgz").read_bytes() == archive


def test_a_cached_archive_that_fails_its_checksum_is_downloaded_again(mirror, archive, cache):
    cache.mkdir(parents=True)
    (cache / f"{NAME}.tgz").write_bytes(archive[:100])
    load_faces(NAME, person="Ada_Lovelace")
    assert (cache / f"{NAME}.tgz").read_bytes() == archive
    assert len(mirror.requests) == 1


# ---------------------------------------------------------------- resuming


def test_a_broken_transfer_is_resumed_with_a_range_request(mirror, archive, cache):
    half = len(archive) // 2
    mirror.drop_after = [half]
    faces = load_faces(NAME, person="Ada_Lovelace")
    assert len(faces) == PEOPLE["Ada_Lovelace"]
    assert (cache / f"{NAME}.tgz").read_bytes() == archive
    assert mirror.requests == [(f"/{NAME}.tgz", None), (f"/{NAME}.tgz", f"bytes={half}-")]
    assert not (cache / f"{NAME}.tgz.part").exists()


def test_a_part_left_by_an_earlier_run_is_resumed(mirror, archive, cache):
    cache.mkdir(parents=True)
    (cache / f"{NAME}.tgz.part").write_bytes(archive[:1000])
    download.archive_path(NAME)
    assert (cache / f"{NAME}.tgz").read_bytes() == archive
    assert mirror.requests == [(f"/{NAME}.tgz", "bytes=1000-")]


def test_a_server_ignoring_range_starts_over(mirror, archive, cache):
    mirror.ignore_range = True
    cache.mkdir(parents=True)
    (cache / f"{NAME}.tgz.part").write_bytes(b"x" * 1000)  # not even a prefix of the file
    download.archive_path(NAME)
    assert (cache / f"{NAME}.tgz").read_bytes() == archive
    assert mirror.requests == [(f"/{NAME}.tgz", "bytes=1000-")]


def test_a_part_longer_than_the_file_starts_over(mirror, archive, cache):
    cache.mkdir(parents=True)
    (cache / f"{NAME}.tgz.part").write_bytes(archive + b"extra")
    download.archive_path(NAME)
    assert (cache / f"{NAME}.tgz").read_bytes() == archive
    assert mirror.requests == [(f"/{NAME}.tgz", f"bytes={len(archive) + 5}-"), (f"/{NAME}.tgz", None)]


def test_a_download_that_keeps_breaking_stops_and_keeps_its_part(mirror, archive, cache):
    mirror.drop_after = [100] * (config.DOWNLOAD_RESUMES + 1)
    with pytest.raises(UsageError) as err:
        download.archive_path(NAME)
    message = _one_line(err)
    assert f"the download from {mirror.url} broke off at" in message
    assert "run the same command again to resume it" in message
    assert len(mirror.requests) == config.DOWNLOAD_RESUMES + 1
    part = cache / f"{NAME}.tgz.part"
    assert part.read_bytes() == archive[:100 * (config.DOWNLOAD_RESUMES + 1)]
    assert not (cache / f"{NAME}.tgz").exists()
    download.archive_path(NAME)  # the next run finishes it
    assert (cache / f"{NAME}.tgz").read_bytes() == archive


def test_ctrl_c_in_a_search_stops_between_chunks_and_the_part_is_resumed(mirror, archive, cache,
                                                                         monkeypatch):
    from tuner.common import interruption

    monkeypatch.setattr(interruption._Request, "pressed", True)  # as the search's Ctrl-C sets it
    with pytest.raises(KeyboardInterrupt):
        download.archive_path(NAME)
    assert (cache / f"{NAME}.tgz.part").stat().st_size > 0 and not (cache / f"{NAME}.tgz").exists()
    monkeypatch.setattr(interruption._Request, "pressed", False)
    download.archive_path(NAME)
    assert (cache / f"{NAME}.tgz").read_bytes() == archive


# ---------------------------------------------------------------- offline and bad overrides


def test_offline_is_one_line_naming_the_url_and_a_local_copy(cache):
    url = f"http://127.0.0.1:{_closed_port()}/{NAME}.tgz"
    with pytest.raises(UsageError) as err:
        load_faces(NAME, person="Ada_Lovelace", url=url)
    message = _one_line(err)
    assert message.startswith(f"--data {NAME}: cannot reach {url} (")
    assert f"--data /path/to/{NAME}.tgz (or the unpacked folder)" in message
    assert f"--data-url URL or {ENV_URL}" in message
    assert not cache.exists() or [p for p in cache.iterdir() if not p.name.endswith(".lock")] == []


def test_an_http_error_is_one_line(server, cache):
    server.status = 404
    with pytest.raises(UsageError) as err:
        load_faces(NAME, person="Ada_Lovelace", url=server.url)
    assert f"{server.url} answered HTTP 404" in _one_line(err)


@pytest.mark.parametrize("options, message", [
    (dict(url="ftp://example.org/lfw.tgz"), "--data-url must be an http:// or https:// URL"),
    (dict(sha256="abc"), "--data-sha256 must be a SHA-256"),
])
def test_bad_overrides(options, message, cache):
    with pytest.raises(UsageError, match=re.escape(message)):
        load_faces(NAME, person="Ada_Lovelace", **options)


def test_overrides_only_apply_to_a_download(face_folder, cache):
    with pytest.raises(UsageError, match="--data-url and --data-sha256 only apply to an archive"):
        load_faces(str(face_folder), url="http://127.0.0.1:1/x.tgz")


def test_a_local_folder_of_that_name_is_used_instead(mirror, cache, tmp_path, face_factory):
    folder = tmp_path / NAME / "Ada_Lovelace"
    folder.mkdir(parents=True)
    for i in range(8):
        Image.fromarray(face_factory(32)).save(folder / f"Ada_Lovelace_{i + 1:04d}.png")
    faces = load_faces(NAME, person="Ada_Lovelace")
    assert faces.name == f"{NAME}:Ada_Lovelace" and len(faces) == 8
    assert mirror.requests == []


def test_a_study_records_the_name_of_a_download_not_a_path(cache, tmp_path):
    from tuner.study.record import _absolute_source

    assert _absolute_source(NAME) == NAME
    (tmp_path / NAME).mkdir()
    assert _absolute_source(NAME) == str((tmp_path / NAME).resolve())


# ---------------------------------------------------------------- the search CLI


def test_search_cli_offline_is_one_line_and_exit_status_2(tmp_path, search_cli):
    url = f"http://127.0.0.1:{_closed_port()}/{NAME}.tgz"
    result = search_cli(tmp_path, "--data", NAME, "--person", "Ada_Lovelace", "--data-url", url,
                        "--results-dir", "out")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"error: --data {NAME}: cannot reach {url} (")
    assert f"--data /path/to/{NAME}.tgz" in result.stderr
    assert not (tmp_path / "out").exists()


def test_search_cli_takes_the_mirror_from_the_environment(tmp_path, search_cli, monkeypatch):
    url = f"http://127.0.0.1:{_closed_port()}/mirror/{NAME}.tgz"
    monkeypatch.setenv(ENV_URL, url)
    result = search_cli(tmp_path, "--data", NAME, "--person", "Ada_Lovelace", "--results-dir", "out")
    assert result.returncode == 2 and result.stderr.startswith(f"error: --data {NAME}: cannot reach {url}")


def test_search_cli_refuses_data_url_with_local_data(tmp_path, search_cli):
    result = search_cli(tmp_path, "--data-url", "http://127.0.0.1:1/x.tgz", "--results-dir", "out")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --data-url and --data-sha256 only apply to an archive to download (--data lfw, "
        "lfw-deepfunneled, lfw-funneled), not --data lfw-subset; drop them"]
