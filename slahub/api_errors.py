"""One error shape for the whole API, pagination, size-limited parsers and the schema class
that documents the error responses on every operation.

Every 4xx answer is::

    {"status": 400, "code": "invalid", "detail": "…", "fields": {"name": ["…"]}}

`fields` holds field-level messages (nested fields as dotted paths, e.g. "items.3.email");
it is empty when the error is about the request as a whole.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status

from slahub.api_defaults import RequestTooLarge, json_body_limit, upload_limit

__all__ = ["RequestTooLarge", "exception_handler", "json_body_limit", "upload_limit"]


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state; reload and try again."
    default_code = "conflict"


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "non_field_errors" if key in ("__all__",) else str(key)
            out.update(_flatten(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in detail)
        else:
            for index, value in enumerate(detail):
                out.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def _django_validation_detail(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if k == "__all__" else k): [m for e in v for m in e.messages]
            for k, v in exc.error_dict.items()
        }
    return {"non_field_errors": list(exc.messages)}


def error_body(status_code: int, code: str, detail: str, fields: dict | None = None) -> dict:
    return {"status": status_code, "code": code, "detail": detail, "fields": fields or {}}


def exception_handler(exc, context):
    """DRF's handler, plus the services' Django errors, answered in the one shape."""
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        exc = RequestTooLarge()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_detail(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, IntegrityError):
        exc = Conflict()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        only_general = set(fields) == {"non_field_errors"}
        detail = (
            " ".join(fields["non_field_errors"])
            if only_general
            else "Some fields are not valid: " + ", ".join(sorted(fields)) + "."
        )
        body = error_body(response.status_code, "invalid", detail, {} if only_general else fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        if isinstance(detail, dict | list):
            fields = _flatten(detail)
            body = error_body(response.status_code, "invalid", "The request is not valid.", fields)
        else:
            body = error_body(response.status_code, str(code), str(detail))
    response.data = body
    return response


class ErrorSerializer(serializers.Serializer):
    """The shape of every 4xx answer."""

    status = serializers.IntegerField(help_text="The HTTP status code.")
    code = serializers.CharField(help_text="A machine-readable code, e.g. invalid, not_found.")
    detail = serializers.CharField(help_text="What went wrong, in words.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field (dotted paths for nested fields); empty if none.",
    )


# Schema: the error responses, documented on every operation -----------------------------

_ERRORS = {
    "400": "The input is not valid (see `fields`).",
    "401": "Not authenticated: send `Authorization: Token <key>` or log in.",
    "403": "Authenticated, but not allowed to do this.",
    "404": "Not found, or not visible to you.",
    "409": "Conflicts with a concurrent change; try again.",
    "413": "The request body is too large.",
    "415": "The body's content type is not accepted (send JSON).",
    "429": "Too many requests; slow down.",
}


class SchemaWithErrors(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in _ERRORS.items():
            if code in ("413", "415") and self.method in ("GET", "DELETE"):
                continue
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), code
                )
        return responses
