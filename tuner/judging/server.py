"""The local page that asks the eye: a stdlib ThreadingHTTPServer on 127.0.0.1, a secret token
in every URL (a request without it is refused with 403), serving only the page, its images
(under opaque names) and its small JSON API. Each judge has their own session, named by `s`
in the URL; several pages (and several servers on one study) judge at once. No TF.

    GET  /?t=TOKEN                     the page
    GET  /api/state?t=TOKEN&s=SESSION  judge, progress, the next item
    GET  /img/NAME?t=TOKEN             an image of a session (PNG)
    POST /api/judge?t=TOKEN            {"name": "..."}: open (or resume) that judge's session
    POST /api/answer?t=TOKEN&s=SESSION {"index": i, "answer": "left" | "right" | "tie" | ...}
    POST /api/undo?t=TOKEN&s=SESSION   take the last answer back

Every refused request gets a JSON answer {"error": "..."} with a 4xx status and one line in
the log; a POST must say its Content-Length (411 without, 413 above MAX_BODY bytes), and a
client that sends less than it said is dropped after TIMEOUT seconds.
"""

import errno
import hmac
import json
import logging
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tuner.common.errors import UsageError
from tuner.judging.page import PAGE
from tuner.judging.session import SessionOver

logger = logging.getLogger(__name__)
HOST = "127.0.0.1"
MAX_BODY = 10_000
TIMEOUT = 10  # seconds a connection may stay silent before it is dropped


class Refused(Exception):
    """A request refused with `status` and a one-line reason."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """One line, not the stdlib's traceback, for a connection that failed."""
        import sys

        err = sys.exc_info()[1]
        logger.warning("eye page: a connection from %s failed: %s", client_address[0],
                       f"{type(err).__name__}: {err}")


class EyeServer:
    """Serves `room` (a tuner.judging.room.Room) on 127.0.0.1:`port` (0: a free one); `url`
    holds the token."""

    def __init__(self, room, port=0):
        self.room = room
        self.token = secrets.token_urlsafe(16)
        handler = type("Handler", (_Handler,), {"eye": self})
        try:
            self.httpd = _Server((HOST, port), handler)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise UsageError(f"--port {port}: already in use on {HOST}; choose another "
                                 f"port, or --port 0 for a free one") from None
            raise UsageError(f"--port {port}: cannot listen on {HOST} ({err.strerror or err}); "
                             f"use --port 0 for a free port") from None
        self._thread = None

    @property
    def session(self):
        """The session of the judge named on the command line (None if none was)."""
        return self.room.default

    @property
    def port(self):
        return self.httpd.server_address[1]

    @property
    def url(self):
        return f"http://{HOST}:{self.port}/?t={self.token}"

    def serve_forever(self):
        self.httpd.serve_forever()

    def start(self):
        """Serve in a background thread (for embedding and tests); `stop()` ends it."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


def no_session():
    return {"session": None, "judge": None, "answered": 0, "total": 0, "pairs": 0, "faces": 0,
            "item": None, "exposure_ms": 0}


class _Handler(BaseHTTPRequestHandler):
    eye: EyeServer
    timeout = TIMEOUT

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        logger.debug("eye page: " + format, *args)

    def log_error(self, format, *args):  # noqa: A002 - the stdlib's (bad request lines etc.)
        logger.warning("eye page: " + format, *args)

    def do_GET(self):  # noqa: N802 - the stdlib's name
        self._handle(self._get)

    def do_POST(self):  # noqa: N802 - the stdlib's name
        self._handle(self._post)

    def _handle(self, route):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        try:
            token = (query.get("t") or [""])[0]
            if not hmac.compare_digest(token.encode(), self.eye.token.encode()):
                raise Refused(403, "forbidden: the page's address (with its token) is needed")
            route(url.path, (query.get("s") or [""])[0])
        except Refused as err:
            self._refuse(err.status, str(err))
        except SessionOver as err:
            self._refuse(409, str(err))
        except UsageError as err:  # eye.json damaged meanwhile, nothing to judge
            self._refuse(409, str(err))
        except (ValueError, KeyError, TypeError) as err:
            self._refuse(400, str(err))
        except TimeoutError:
            self._refuse(408, f"the request's body did not come within {TIMEOUT} s")
        except Exception as err:  # noqa: BLE001 - a fault of ours: one line, the page goes on
            logger.error("eye page: %s %s failed: %s: %s", self.command,
                         urlsplit(self.path).path[:80], type(err).__name__, err)
            self.close_connection = True
            self._json({"error": f"the server failed: {type(err).__name__}"}, 500)

    def send_error(self, code, message=None, explain=None):
        """The stdlib's answer to a malformed request line or header, as JSON in one log line."""
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # answer with a status line all the same
        if code == 501:  # an unknown method: the client's fault, so a 4xx
            code, message = 405, f"method {self.command!r} not allowed: GET or POST"
        self._refuse(code, message or "bad request")

    def _get(self, path, session_id):
        room = self.eye.room
        if path == "/":
            self._send(200, PAGE.encode(), "text/html; charset=utf-8")
        elif path == "/api/state":
            session = room.session(session_id)
            self._json(no_session() if session is None else session.state())
        elif path.startswith("/img/") and (png := room.image_png(path[5:])) is not None:
            self._send(200, png, "image/png")
        else:
            raise Refused(404, "not found")

    def _post(self, path, session_id):
        if path not in ("/api/answer", "/api/undo", "/api/judge"):
            raise Refused(404, "not found")
        body = self._body()
        room = self.eye.room
        if path == "/api/judge":
            return self._json(room.open(_field(body, "name", str)).state())
        session = room.session(session_id)
        if session is None:
            raise Refused(409, "no judge named yet: POST /api/judge {\"name\": ...} first")
        if path == "/api/undo":
            session.undo()
        elif not session.answer(_field(body, "index", int), _field(body, "answer", str)):
            return self._json({"error": "not the current item", **session.state()}, 409)
        self._json(session.state())

    def _body(self):
        """The request's JSON object, read within its Content-Length (at most MAX_BODY)."""
        length = self.headers.get("Content-Length")
        if length is None:
            raise Refused(411, "a Content-Length is needed")
        try:
            length = int(length)
        except ValueError:
            raise Refused(400, f"Content-Length {length[:20]!r} is not a number") from None
        if length < 0:
            raise Refused(400, f"Content-Length {length} is negative")
        if length > MAX_BODY:
            raise Refused(413, f"Content-Length {length} is above {MAX_BODY} bytes")
        raw = self.rfile.read(length)
        if len(raw) < length:
            raise Refused(400, f"the body ended after {len(raw)} of {length} bytes")
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise Refused(400, "the body is not JSON") from None
        if not isinstance(body, dict):
            raise Refused(400, f"the body must be a JSON object, not {type(body).__name__}")
        return body

    def _refuse(self, status, reason):
        logger.warning("eye page: %d %s %s: %s", status, getattr(self, "command", None) or "-",
                       urlsplit(getattr(self, "path", "") or "").path[:80], reason)
        self.close_connection = True  # an unread or partial body must not become a request
        try:
            self._json({"error": reason}, status)
        except OSError:
            pass  # the client is gone

    def _send(self, status, body, kind):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, obj, status=200):
        self._send(status, json.dumps(obj).encode(), "application/json")


def _field(body, key, kind):
    """body[key], which must be a `kind` (a bool is not an int)."""
    if key not in body:
        raise Refused(400, f"the body needs {key!r}")
    value = body[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise Refused(400, f"{key!r} must be a {kind.__name__}, got {type(value).__name__}")
    return value
