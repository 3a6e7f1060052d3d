"""The one CSV writer of everything SLA Hub exports (report tables, the lead list, import row
reports): cells a spreadsheet would run as a formula are neutralised (OWASP, "CSV
injection"), and large exports stream row by row."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from io import StringIO
from typing import Any

from django.http import StreamingHttpResponse

# A cell starting with one of these is read as a formula by Excel, LibreOffice or Sheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d[\d,.]*(?:e[+-]?\d+)?%?", re.IGNORECASE)


def safe_cell(value: Any) -> str:
    """One cell as text: numbers as they are, datetimes in ISO 8601, None empty, booleans
    yes/no, and text that would start a formula with a leading apostrophe
    ('=HYPERLINK(…)' → "'=HYPERLINK(…)"); a plain number in text, such as -2.5, stays."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    out = StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(c) for c in header])
    writer.writerows([safe_cell(c) for c in row] for row in rows)
    return out.getvalue()


class _Line:
    """A file-like object whose write() returns the line, for streaming."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow([safe_cell(c) for c in header])
    for row in rows:
        yield writer.writerow([safe_cell(c) for c in row])


def csv_response(
    filename: str, header: Iterable[Any], rows: Iterable[Iterable[Any]]
) -> StreamingHttpResponse:
    """A streamed CSV download: rows are written as they are read (use `.iterator()`)."""
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
