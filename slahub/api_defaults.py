"""API defaults that DRF imports while defining its views: parsers that refuse an
oversized body with 413 before reading it, the pagination, and throttles that keep
answering when their counter store is down."""

from __future__ import annotations

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


class LimitedJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        _check_size(parser_context, json_body_limit())
        return super().parse(stream, media_type, parser_context)


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
