"""Local fakes of Slack and Microsoft Teams on 127.0.0.1 (not a test module), answering as
the vendors document:

- Slack incoming webhook: 200 with the body ``ok``; a refusal is an HTTP status with the
  reason as the plain-text body (400 ``invalid_payload``, 403 ``action_prohibited``, 404
  ``no_service``, 410 ``channel_is_archived``); 429 ``too_many_requests`` with Retry-After.
- Slack Web API ``chat.postMessage``: HTTP 200 with JSON ``{"ok": true, "channel": …,
  "ts": …, "message": {…}}`` or ``{"ok": false, "error": "channel_not_found"}``; 429 with
  Retry-After and ``{"ok": false, "error": "ratelimited"}``.
- Teams incoming webhook: 200 with the body ``1`` (a legacy connector) or 202 (Workflows);
  400 / 404 / 413 / 429 with a short text body.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ChatFake:
    """Answers each POST with the next of `answers` (status, body, headers), the last one
    repeated; records (path, headers, parsed JSON or form body)."""

    def __init__(
        self, *answers: tuple[int, str | dict, dict], delay: float = 0, stall_at: int = 0
    ) -> None:
        self.answers = list(answers) or [(200, "ok", {})]
        self.delay = delay
        # The `stall_at`-th POST (1-based) hangs until `release`, then is dropped unanswered
        # and unrecorded: the poster was killed in the middle of it.
        self.stall_at, self.seen = stall_at, 0
        self.stalled, self.release = threading.Event(), threading.Event()
        self.requests: list[tuple[str, dict, object]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode()
                with fake.lock:
                    fake.seen += 1
                    seen = fake.seen
                if seen == fake.stall_at:
                    fake.stalled.set()
                    fake.release.wait(60)
                    self.close_connection = True
                    return
                time.sleep(fake.delay)
                with fake.lock:
                    fake.requests.append((self.path, dict(self.headers), body))
                    index = min(len(fake.requests), len(fake.answers)) - 1
                status, answer, headers = fake.answers[index]
                data = (json.dumps(answer) if isinstance(answer, dict) else answer).encode()
                self.send_response(status)
                kind = "application/json" if isinstance(answer, dict) else "text/html"
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def slack_hook(self) -> str:
        return f"{self.base}/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"

    @property
    def teams_hook(self) -> str:
        return f"{self.base}/webhookb2/00000000-0000@0000/IncomingWebhook/abc/def"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def posted_ok(channel: str = "C0123456789") -> dict:
    return {
        "ok": True,
        "channel": channel,
        "ts": "1764622800.000100",
        "message": {"type": "message", "subtype": "bot_message", "text": "…"},
    }
