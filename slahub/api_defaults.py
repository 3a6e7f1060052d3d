"""API defaults that DRF imports while defining its views: parsers that refuse an
oversized body with 413 before reading it, and the pagination."""

from __future__ import annotations

from django.conf import settings
from rest_framework import exceptions, parsers, status
from rest_framework.pagination import PageNumberPagination


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
