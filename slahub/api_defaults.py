"""API defaults that DRF imports while defining its views: parsers that refuse an
oversized body with 413 before reading it, and a JSON body nested too deep, holding a NUL
character or an integer beyond 64 bits with 400 (`parse_error`), the pagination, and
throttles that keep answering when their counter store is down."""

from __future__ import annotations

import codecs
import json
import logging

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework import exceptions, parsers, status, throttling
from rest_framework.pagination import PageNumberPagination

log = logging.getLogger("slahub.api")


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


# Parsers that refuse oversized bodies with 413 before reading them ----------------------


def _check_size(parser_context, limit: int) -> None:
    request = (parser_context or {}).get("request")
    if request is None:
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise RequestTooLarge(f"The request body is larger than {limit} bytes.")


def json_body_limit() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 5 * 1024 * 1024


def upload_limit() -> int:
    return getattr(settings, "API_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)


# JSON bodies the models and the database can take ------------------------------------

JSON_MAX_DEPTH = 32  # the deepest real body (a bulk item's fields) is 3
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def _parse_int(text: str) -> int:
    if len(text) > 20:  # never parse a 400-digit number
        raise ValueError(f"The integer {text[:20]}… is beyond 64 bits.")
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise ValueError(f"The integer {text} is beyond 64 bits.")
    return value


def _parse_constant(text: str):
    raise ValueError(f"{text} is not a JSON value.")


def _check_values(data) -> None:
    """No container deeper than JSON_MAX_DEPTH, no NUL in any key or string (PostgreSQL
    refuses them in text and jsonb). Iterative: bounded by the body's size."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = list(value.values())
            if any("\x00" in key for key in value):
                raise exceptions.ParseError("JSON parse error - NUL characters are not allowed.")
        elif isinstance(value, list):
            children = value
        else:
            if isinstance(value, str) and "\x00" in value:
                raise exceptions.ParseError("JSON parse error - NUL characters are not allowed.")
            continue
        if depth > JSON_MAX_DEPTH:
            raise exceptions.ParseError(
                f"JSON parse error - nested deeper than {JSON_MAX_DEPTH} levels."
            )
        stack.extend((child, depth + 1) for child in children)


def loads_checked(raw: bytes | str):
    """Parse a JSON body strictly: ParseError (400) for anything the API cannot take."""
    try:
        data = json.loads(raw, parse_int=_parse_int, parse_constant=_parse_constant)
    except RecursionError:
        raise exceptions.ParseError(
            f"JSON parse error - nested deeper than {JSON_MAX_DEPTH} levels."
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise exceptions.ParseError(f"JSON parse error - {exc}") from None
    _check_values(data)
    return data


class LimitedJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        _check_size(parser_context, json_body_limit())
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            raw = codecs.getreader(encoding)(stream).read() if stream is not None else ""
        except (ValueError, UnicodeDecodeError, LookupError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        return loads_checked(raw)


class LimitedFormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        _check_size(parser_context, json_body_limit())
        return super().parse(stream, media_type, parser_context)


class LimitedMultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        _check_size(parser_context, upload_limit())
        return super().parse(stream, media_type, parser_context)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


# Throttles ---------------------------------------------------------------------------------


class _FailOpen:
    """Counts in the shared cache (Redis in production); if the cache cannot be reached the
    request goes through and the outage is logged: no API call fails because of it."""

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError):
            log.warning("API throttle: cache unreachable, request let through", exc_info=True)
            return True


class UserRateThrottle(_FailOpen, throttling.UserRateThrottle):
    pass


class AnonRateThrottle(_FailOpen, throttling.AnonRateThrottle):
    pass
