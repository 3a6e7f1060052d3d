"""Outbound HTTP for webhooks, safe against server-side request forgery.

A subscription's URL may only be http(s) to a *public* address (not loopback, private,
link-local — e.g. the cloud metadata address 169.254.169.254 —, multicast, reserved or
unspecified), unless settings.SLAHUB_WEBHOOK_ALLOW_HOSTS names its host name or a network
(CIDR) containing its address. The rule is checked when the URL is saved and again at every
delivery: the host name is resolved once, each address is checked, and the request is sent
to that checked address (with the original Host header and, for https, the host name for
SNI and the certificate), so a DNS answer that changes in between (rebinding) cannot
redirect it. Redirects are not followed. Connection failures are reported with one generic
message, so the delivery log cannot be used to scan the network.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

UNREACHABLE = "The receiver could not be reached (connection failed or timed out)."
NOT_PUBLIC = "The receiver's address is not public (set SLAHUB_WEBHOOK_ALLOW_HOSTS to allow it)."


class Refused(Exception):
    """The URL breaks the outbound rules; the message says which, for the user."""


def _allow_list() -> tuple[set[str], list]:
    hosts, networks = set(), []
    for entry in getattr(settings, "SLAHUB_WEBHOOK_ALLOW_HOSTS", []) or []:
        entry = entry.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            hosts.add(entry)
    return hosts, networks


def _parts(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an http(s) URL, or Refused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused("Enter a valid URL.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused("Use an http:// or https:// URL.")
    host = (parts.hostname or "").lower()
    if not host:
        raise Refused("Enter a valid URL.")
    if parts.username or parts.password:
        raise Refused("A webhook URL cannot carry a user name or password.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port or (443 if scheme == "https" else 80), path


def address_allowed(address: str, host: str = "") -> bool:
    """Whether a request may go to `address` (resolved from `host`)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    hosts, networks = _allow_list()
    if host in hosts or any(ip in network for network in networks):
        return True
    return ip.is_global and not ip.is_multicast


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def resolve(host: str, port: int) -> str:
    """The one address the request goes to: the first that resolves, all of them checked.
    Refused if any address is not allowed (a name that resolves to a mix is suspect)."""
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise OSError("name not resolved") from exc
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses or not all(address_allowed(a, host) for a in addresses):
        raise Refused(NOT_PUBLIC)
    return addresses[0]


def validate_url(url: str) -> None:
    """Refused when the URL breaks the rules. A name that does not resolve now is accepted
    (it is resolved and checked again at every delivery); one that resolves must be public."""
    _scheme, host, port, _path = _parts(url)
    local_name = host == "localhost" or host.endswith((".localhost", ".local", ".internal"))
    if local_name and host not in _allow_list()[0]:
        raise Refused(NOT_PUBLIC)
    with contextlib.suppress(OSError):  # not resolvable now: checked at every delivery
        resolve(host, port)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class Answer:
    """What the receiver said: `code` None when it could not be reached (`error` says so)."""

    code: int | None
    text: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""


def exchange(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` and read the start of the answer (chat services explain an error in the
    body). Never raises for network trouble, never follows a redirect."""
    try:
        scheme, host, port, path = _parts(url)
        address = resolve(host, port)
    except Refused as exc:
        return Answer(None, error=str(exc))
    except OSError:
        return Answer(None, error=UNREACHABLE)
    timeout = getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10)
    kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = kind(host, port, address=address, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        code = response.status
        text = response.read(64 * 1024).decode("utf-8", "replace")  # read a little, politely
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
    except (OSError, http.client.HTTPException, ValueError):
        return Answer(None, error=UNREACHABLE)
    finally:
        connection.close()
    return Answer(code, text[:2000], answer_headers)


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST `body`; (status code, "") when the receiver answered 2xx, (code or None, error)
    otherwise. Never raises for network trouble, never follows a redirect."""
    answer = exchange(url, body, headers)
    code = answer.code
    if code is None:
        return None, answer.error
    if 200 <= code < 300:
        return code, ""
    if 300 <= code < 400:
        return code, f"HTTP {code} (redirects are not followed)"
    return code, f"HTTP {code}"


def url_validator(value: str) -> None:
    """The model field's validator (admin and services): Django's ValidationError."""
    from django.core.exceptions import ValidationError

    try:
        validate_url(value)
    except Refused as exc:
        raise ValidationError(str(exc), code="webhook_url") from exc
