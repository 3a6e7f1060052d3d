"""How long a free-text answer may be: one limit for every note, reason and comment, kept
by the model (validators), the forms and the serializers alike."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

TEXT_MAX = 2000


def too_long_message(length: int) -> str:
    return f"Keep it to {TEXT_MAX:,} characters or fewer (this one has {length:,})."


class TextLimit(MaxLengthValidator):
    """MaxLengthValidator with the project's message (the same words on every path)."""

    def __init__(self, limit_value: int = TEXT_MAX) -> None:
        super().__init__(limit_value)

    def __call__(self, value) -> None:
        if value is not None and len(value) > self.limit_value:
            raise ValidationError(too_long_message(len(value)), code="max_length")


def text_validators() -> list:
    return [TextLimit()]


def check_text(field: str, value: str | None) -> str:
    """`value` stripped, or a ValidationError on `field` when longer than the limit (for
    services that save without `full_clean`)."""
    value = (value or "").strip()
    if len(value) > TEXT_MAX:
        raise ValidationError({field: too_long_message(len(value))})
    return value
