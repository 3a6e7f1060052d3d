"""HMAC-SHA256 signatures of webhook bodies, in and out (pure functions).

The signed message is ``<timestamp>.<raw body>``; the signature header carries
``sha256=<hex digest>``. A timestamp older (or newer) than the tolerance is refused, so a
captured request cannot be replayed later; within the tolerance, the receiver remembers
signatures it has seen."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

SIGNATURE_HEADER = "X-SLAHub-Signature"
TIMESTAMP_HEADER = "X-SLAHub-Timestamp"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The request is not signed by the expected sender, or not recently."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    *,
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: datetime,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> str:
    """Check a signed request; returns the hex digest (to remember against replays)."""
    if not timestamp or not signature:
        raise SignatureError(
            "missing_signature", f"Send the {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers."
        )
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise SignatureError("bad_timestamp", "The timestamp must be Unix seconds.")
    sent_at = int(timestamp)
    if abs(now.timestamp() - sent_at) > tolerance:
        raise SignatureError(
            "stale_timestamp", f"The timestamp is more than {tolerance} seconds from now."
        )
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected, signature.strip()):
        raise SignatureError("bad_signature", "The signature does not match the body.")
    return expected.removeprefix("sha256=")
