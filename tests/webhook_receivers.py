"""Fake webhook receivers on 127.0.0.1 for the egress and fault tests (not a test module)."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """A real HTTP server answering every POST with `status` (and `headers`), after
    `delay` seconds; `stall_at` (1-based) makes that request wait for `release`."""

    def __init__(self, status: int = 204, *, delay: float = 0, headers=None, stall_at=0):
        self.status, self.delay, self.headers = status, delay, headers or {}
        self.requests: list = []  # (path, headers, body)
        self.seen = 0
        self.stall_at = stall_at
        self.stalled, self.release = threading.Event(), threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.seen += 1
                    seen = receiver.seen
                if seen == receiver.stall_at:
                    receiver.stalled.set()
                    receiver.release.wait(60)
                    self.close_connection = True
                    return  # the client is gone: never answered, never counted
                time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.requests.append((self.path, self.headers, body))
                self.send_response(receiver.status)
                for key, value in receiver.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Silent:
    """A port that accepts connections and never answers (a filtered or hung service)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()
