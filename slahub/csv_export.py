"""CSV downloads that a spreadsheet cannot be tricked by, streamed row by row."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.http import StreamingHttpResponse

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
# (OWASP "CSV Injection"): such cells are prefixed with a single quote, which shows as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """One cell as text: numbers as they are, datetimes in ISO 8601, None empty, and text
    that would start a formula prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose write() hands the line back (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def csv_rows(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterable[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row])


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]]):
    """A streamed CSV download: the rows are read while the answer is being sent."""
    response = StreamingHttpResponse(csv_rows(header, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
