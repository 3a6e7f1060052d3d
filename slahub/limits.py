"""How long a free-text answer may be: one limit for every note, reason and comment, kept
by the model (validators), the forms and the serializers alike."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

TEXT_MAX = 2000
TOO_LONG = "Keep it to 2,000 characters or fewer (this one has %(show_value)d)."


class TextLimit(MaxLengthValidator):
    """MaxLengthValidator with the project's message (the same words on every path)."""

    message = TOO_LONG

    def __init__(self, limit_value: int = TEXT_MAX) -> None:
        super().__init__(limit_value)


def text_validators() -> list:
    return [TextLimit()]


def text_field(**kwargs) -> forms.CharField:
    """A form's free-text field: the limit, its message and the browser's maxlength."""
    kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2}))
    return forms.CharField(max_length=TEXT_MAX, error_messages={"max_length": TOO_LONG}, **kwargs)


def check_text(field: str, value: str | None) -> str:
    """`value` stripped, or a ValidationError on `field` when longer than the limit (for
    services that save without `full_clean`)."""
    value = (value or "").strip()
    if len(value) > TEXT_MAX:
        raise ValidationError({field: TOO_LONG % {"show_value": len(value)}})
    return value
