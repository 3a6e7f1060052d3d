"""Connector credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) with a key derived
from SECRET_KEY, so a database dump alone does not reveal the CRM tokens. Rotating
SECRET_KEY makes stored credentials unreadable: the connector then asks for them again."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"slahub.connectors.credentials:" + settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def seal(values: dict[str, str]) -> str:
    return _fernet().encrypt(json.dumps(values).encode()).decode()


def unseal(token: str) -> dict[str, str]:
    """The stored credentials; {} when there are none or the key has changed."""
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except (InvalidToken, ValueError):
        return {}
