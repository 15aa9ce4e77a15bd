"""A download of an LFW archive: fetched once into the user cache, verified, resumable, reused.

`--data lfw-deepfunneled` (or `lfw`, `lfw-funneled`; see `common.config.LFW_ARCHIVES`) resolves to
``<cache>/lfw-deepfunneled.tgz``, which `tuner.data` then reads as any LFW ``.tgz``:

* a cached archive is checked against its checksum and used without touching the network;
* otherwise it is downloaded into ``<file>.part`` and renamed into place only once its
  checksum matches, so the cache never holds a half-written or unverified archive;
* a ``.part`` left by a broken download is resumed with an HTTP ``Range`` request (a server
  that ignores it and sends the whole file starts it over); a transfer that breaks off after
  making progress is resumed at once, up to `common.config.DOWNLOAD_RESUMES` times;
* progress (bytes, total, rate) goes to the logger, or to a callback, at most every
  `common.config.DOWNLOAD_PROGRESS_EVERY` seconds.

The URL and checksum can be overridden for mirrors (arguments, else ``DCGAN_TUNER_<NAME>_URL``
and ``DCGAN_TUNER_<NAME>_SHA256``); a new URL alone keeps the built-in checksum, since a mirror
of the same file has the same hash. Standard library only (urllib); no TensorFlow.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import filelock

from tuner.common import config, interruption
from tuner.common.errors import UsageError
from tuner.common.progress import duration

log = logging.getLogger(__name__)

_CHUNK = 1 << 16
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


class _Broken(Exception):
    """The transfer stopped before the end; `progressed` if it wrote any bytes first."""

    def __init__(self, reason: str, progressed: bool):
        super().__init__(reason)
        self.progressed = progressed


class _Failed(Exception):
    """The server could not be reached or refused the file: nothing more to try now."""


def names() -> tuple[str, ...]:
    """The `--data` names that download an archive: lfw, lfw-deepfunneled, lfw-funneled."""
    return tuple(sorted(config.LFW_ARCHIVES))


def env_name(name: str, what: str) -> str:
    """The environment variable overriding `what` (URL, SHA256) of archive `name`."""
    return f"{config.ENV_PREFIX}{name.upper().replace('-', '_')}_{what}"


def archive_path(name: str, url: str | None = None, sha256: str | None = None,
                 cache_dir=None, progress=None) -> Path:
    """The verified LFW archive `name` in the cache, downloaded first if it is not there.

    Args:
        name: a key of `common.config.LFW_ARCHIVES` (the `--data` value).
        url: where to download it from (`--data-url`); None: $DCGAN_TUNER_<NAME>_URL, else the
            built-in URL.
        sha256: the file's SHA-256 (`--data-sha256`); None: $DCGAN_TUNER_<NAME>_SHA256, else the
            built-in checksum (kept when only the URL changes).
        cache_dir: the folder of the archive; None: `config.default_cache_dir()`.
        progress: called as ``progress(done_bytes, total_bytes_or_None, bytes_per_second)``
            while downloading (throttled, and once at the end); None: logged.

    Returns:
        The path of the archive, whose checksum has been verified.

    Raises:
        UsageError: a bad override, an unreachable server, a broken download (its ``.part`` is
            kept for the next attempt), a checksum mismatch (the file is deleted) or an
            unwritable cache; one line naming the URL and how to pass a local copy instead.
    """
    remote = config.LFW_ARCHIVES[name]
    url = _url(name, url)
    algorithm, expected = _checksum(name, sha256)
    folder = Path(cache_dir) if cache_dir is not None else config.default_cache_dir()
    path = folder / remote.file
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _DownloadLock(path):
            if path.is_file():
                got = _digest(path, algorithm)
                if got == expected:
                    log.info("%s: using the cached %s (%s verified)", name, path, algorithm)
                    return path
                log.warning("%s: the cached %s has %s %s, expected %s; downloading it again",
                            name, path, algorithm, got, expected)
                path.unlink()
            _download(name, url, path, algorithm, expected, progress)
    except _Failed as err:
        raise UsageError(f"--data {name}: {err}; {_alternatives(name, remote.file)}") from None
    except OSError as err:  # the cache itself: permissions, a full disk
        raise UsageError(f"--data {name}: cannot write the download to {folder} ({err}); set "
                         f"XDG_CACHE_HOME to a writable folder, or {_local_copy(remote.file)}") from None
    return path


def _url(name: str, url: str | None) -> str:
    """The URL given, else the environment's, else the built-in one; http(s) only."""
    variable = env_name(name, "URL")
    chosen = url or os.environ.get(variable) or config.LFW_ARCHIVES[name].url
    if not re.match(r"^https?://[^/\s]+", chosen):
        where = "--data-url" if url else variable
        raise UsageError(f"{where} must be an http:// or https:// URL of the {name} archive, "
                         f"got {chosen!r}")
    return chosen


def _checksum(name: str, sha256: str | None) -> tuple[str, str]:
    """(algorithm, lowercase hex): the SHA-256 given, else the environment's, else the built-in."""
    variable = env_name(name, "SHA256")
    given = sha256 or os.environ.get(variable)
    if given:
        if not _SHA256.match(given):
            where = "--data-sha256" if sha256 else variable
            raise UsageError(f"{where} must be a SHA-256 (64 hex digits, as `sha256sum FILE` "
                             f"prints), got {given!r}")
        return "sha256", given.lower()
    algorithm, _, digest = config.LFW_ARCHIVES[name].checksum.partition(":")
    return algorithm, digest


def _local_copy(file: str) -> str:
    return (f"download {file} another way and pass it: --data /path/to/{file} "
            f"(or the unpacked folder)")


def _alternatives(name: str, file: str) -> str:
    return (f"check the network, use a mirror (--data-url URL or {env_name(name, 'URL')}), "
            f"or {_local_copy(file)}")


class _DownloadLock:
    """One process downloads a given archive at a time; the others wait, then use its file."""

    def __init__(self, path: Path):
        self._lock = filelock.FileLock(path.with_name(f".{path.name}.lock"))

    def __enter__(self):
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            log.info("waiting for another process downloading %s", self._lock.lock_file)
            self._lock.acquire()

    def __exit__(self, *exc_info):
        self._lock.release()


def _digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm, usedforsecurity=False)  # md5 allowed on FIPS systems
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(name, url, path, algorithm, expected, progress):
    """Fills ``<path>.part`` from `url` (resuming it), verifies it and renames it to `path`."""
    part = path.with_name(path.name + ".part")
    resumes = 0
    while True:
        try:
            _transfer(url, part, progress or _log_progress(path.name))
            break
        except _Broken as err:
            if not err.progressed or resumes >= config.DOWNLOAD_RESUMES:
                size = part.stat().st_size if part.exists() else 0
                raise _Failed(f"the download from {url} broke off at {_size(size)} ({err}); "
                              f"run the same command again to resume it") from None
            resumes += 1
            log.info("%s: the transfer broke off (%s); resuming (%d of %d)", path.name, err,
                     resumes, config.DOWNLOAD_RESUMES)
    got = _digest(part, algorithm)
    if got != expected:
        part.unlink()
        raise _Failed(f"the file from {url} has {algorithm} {got}, expected {expected}, and was "
                      f"deleted; run again to download it afresh, or if the mirror serves another "
                      f"file give its SHA-256 (--data-sha256 or {env_name(name, 'SHA256')})")
    os.replace(part, path)
    log.info("%s: %s verified, cached at %s", path.name, algorithm, path)


def _open(url: str, start: int):
    """The server's response for `url` from byte `start` on (a Range request if start > 0)."""
    headers = {"User-Agent": "dcgan-tuner", "Accept-Encoding": "identity"}
    if start:
        headers["Range"] = f"bytes={start}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=config.DOWNLOAD_TIMEOUT)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416 and start:  # "Range Not Satisfiable": the .part is no prefix of this file
            return None
        raise _Failed(f"{url} answered HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise _Failed(f"cannot reach {url} ({_reason(err.reason)})") from None
    except (OSError, http.client.HTTPException) as err:
        raise _Failed(f"cannot reach {url} ({_reason(err)})") from None


def _reason(err) -> str:
    if isinstance(err, TimeoutError):
        return f"no answer within {config.DOWNLOAD_TIMEOUT:g} s"
    return str(getattr(err, "strerror", None) or err) or type(err).__name__


def _transfer(url: str, part: Path, progress) -> None:
    """Appends the rest of the file to `part`; raises _Broken if it stops early."""
    start = part.stat().st_size if part.exists() else 0
    response = _open(url, start)
    if start and (response is None or response.status != 206
                  or not (response.headers.get("Content-Range") or "").startswith(f"bytes {start}-")):
        # Range ignored (200: the whole file follows), refused (416) or answered oddly: start over.
        log.info("%s: the server does not resume at %s; starting over", part.name, _size(start))
        start = 0
        if response is None or response.status != 200:
            if response is not None:
                response.close()
            response = _open(url, 0)
    with response:
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        log.info("downloading %s%s from %s%s", part.name.removesuffix(".part"),
                 f" ({_size(total)})" if total else "", url,
                 f", resuming at {_size(start)}" if start else "")
        done = _copy(response, part, start, total, progress)
    if total is not None and done < total:
        raise _Broken("the connection closed early", progressed=done > start)


def _copy(response, part: Path, start: int, total: int | None, progress) -> int:
    """Streams the response body into `part` from `start`; returns the bytes it then holds."""
    done, began = start, time.monotonic()
    last = began
    with open(part, "ab" if start else "wb") as out:
        try:
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (OSError, http.client.HTTPException) as err:
                    raise _Broken(_reason(err), progressed=done > start) from None
                if not chunk:
                    break
                out.write(chunk)  # an OSError here is the cache's, not the transfer's
                done += len(chunk)
                interruption.check()  # Ctrl-C in a search: stop here, the .part is resumed next time
                now = time.monotonic()
                if now - last >= config.DOWNLOAD_PROGRESS_EVERY:
                    last = now
                    progress(done, total, (done - start) / (now - began))
        finally:
            out.flush()
            os.fsync(out.fileno())
    progress(done, total, (done - start) / max(time.monotonic() - began, 1e-9))
    return done


def _log_progress(file: str):
    """The default progress report: one log line per call (the caller throttles)."""

    def report(done, total, rate):
        if total:
            eta = f", {duration((total - done) / rate)} left" if rate > 0 and done < total else ""
            log.info("  %s: %s of %s (%d%%), %s/s%s", file, _size(done), _size(total),
                     100 * done // total, _size(rate), eta)
        else:
            log.info("  %s: %s, %s/s", file, _size(done), _size(rate))

    return report


def _size(count: float) -> str:
    """Bytes for people: 812 B, 45.3 kB, 111.0 MB, 1.23 GB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.{2 if unit == 'GB' else 1}f} {unit}"
    return f"{count:.0f} B"
