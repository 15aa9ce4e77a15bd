"""The local page that asks the eye: a stdlib ThreadingHTTPServer on 127.0.0.1, a secret token
in every URL (a request without it is refused with 403), serving only the page, its images
(under opaque names) and its small JSON API. No TF.

    GET  /?t=TOKEN              the page
    GET  /api/state?t=TOKEN     judge, progress, the next item
    GET  /img/NAME?t=TOKEN      an image of the session (PNG)
    POST /api/answer?t=TOKEN    {"index": i, "answer": "left" | "right" | "tie" | "real" | ...}
    POST /api/undo?t=TOKEN      take the last answer back
    POST /api/judge?t=TOKEN     {"name": "..."}
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

logger = logging.getLogger(__name__)
HOST = "127.0.0.1"
MAX_BODY = 10_000


class EyeServer:
    """Serves `session` on 127.0.0.1:`port` (0: a free one); `url` holds the token."""

    def __init__(self, session, port=0):
        self.session = session
        self.token = secrets.token_urlsafe(16)
        handler = type("Handler", (_Handler,), {"eye": self})
        try:
            self.httpd = ThreadingHTTPServer((HOST, port), handler)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise UsageError(f"--port {port}: already in use on {HOST}; choose another "
                                 f"port, or --port 0 for a free one") from None
            raise UsageError(f"--port {port}: cannot listen on {HOST} ({err.strerror or err}); "
                             f"use --port 0 for a free port") from None
        self.httpd.daemon_threads = True
        self._thread = None

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


class _Handler(BaseHTTPRequestHandler):
    eye: EyeServer

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        logger.debug("eye page: " + format, *args)

    def _allowed(self):
        url = urlsplit(self.path)
        token = (parse_qs(url.query).get("t") or [""])[0]
        if hmac.compare_digest(token.encode(), self.eye.token.encode()):
            return url.path
        self._send(403, b"forbidden\n", "text/plain; charset=utf-8")
        return None

    def _send(self, status, body, kind):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, obj, status=200):
        self._send(status, json.dumps(obj).encode(), "application/json")

    def do_GET(self):  # noqa: N802 - the stdlib's name
        path = self._allowed()
        if path is None:
            return
        session = self.eye.session
        if path == "/":
            self._send(200, PAGE.encode(), "text/html; charset=utf-8")
        elif path == "/api/state":
            self._json(session.state())
        elif path.startswith("/img/") and (png := session.image_png(path[5:])) is not None:
            self._send(200, png, "image/png")
        else:
            self._send(404, b"not found\n", "text/plain; charset=utf-8")

    def do_POST(self):  # noqa: N802 - the stdlib's name
        path = self._allowed()
        if path is None:
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(min(length, MAX_BODY)) or b"{}")
            session = self.eye.session
            if path == "/api/answer":
                if not session.answer(int(body["index"]), str(body["answer"])):
                    return self._json({"error": "not the current item", **session.state()}, 409)
            elif path == "/api/undo":
                session.undo()
            elif path == "/api/judge":
                session.set_judge(body.get("name"))
            else:
                return self._send(404, b"not found\n", "text/plain; charset=utf-8")
        except (ValueError, KeyError, TypeError) as err:
            return self._json({"error": str(err)}, 400)
        self._json(session.state())
