"""Errors raised by services: a refused action, with a message for the user."""

from django.core.exceptions import PermissionDenied, ValidationError

__all__ = ["PermissionDenied", "ValidationError"]
