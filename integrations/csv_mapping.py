"""Reading CRM CSV exports: column presets, custom mappings and value translation.

A mapping names, for each lead field, the CSV column (or columns, joined with a space) it
comes from. Presets cover a Salesforce Lead export and a HubSpot contacts export; a custom
mapping starts empty, and any mapping given with a preset extends or overrides it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.core.exceptions import ValidationError

from leads.models import LEAD_DATA_FIELDS

MAPPABLE_FIELDS = [
    "external_id",
    *LEAD_DATA_FIELDS,
    "stage",
    "handed_off_at",
    "rejection_reason",
    "owner_email",
]

PRESETS: dict[str, dict[str, str | list[str]]] = {
    "salesforce": {
        "external_id": "Lead ID",
        "name": ["First Name", "Last Name"],
        "email": "Email",
        "company": "Company",
        "title": "Title",
        "phone": "Phone",
        "country": "Country",
        "lead_source": "Lead Source",
        "tier": "Rating",
        "stage": "Lead Status",
    },
    "hubspot": {
        "external_id": "Record ID",
        "name": ["First Name", "Last Name"],
        "email": "Email",
        "company": "Company Name",
        "title": "Job Title",
        "phone": "Phone Number",
        "country": "Country/Region",
        "lead_source": "Original Source",
        "score": "HubSpot Score",
        "stage": "Lifecycle Stage",
    },
    "custom": {},
}

# CRM values → SLA Hub values (matched case-insensitively); unknown values pass through.
VALUE_MAPS: dict[str, dict[str, dict[str, str]]] = {
    "salesforce": {
        "stage": {
            "open - not contacted": "mql",
            "working - contacted": "sal",
            "closed - converted": "sql",
            "closed - not converted": "lost",
        }
    },
    "hubspot": {
        "stage": {
            "subscriber": "new",
            "lead": "new",
            "marketing qualified lead": "mql",
            "marketingqualifiedlead": "mql",
            "sales qualified lead": "sql",
            "salesqualifiedlead": "sql",
            "opportunity": "opportunity",
            "customer": "won",
            "evangelist": "won",
        }
    },
}

COUNTRY_NAMES = {
    "germany": "DE",
    "deutschland": "DE",
    "austria": "AT",
    "switzerland": "CH",
    "france": "FR",
    "spain": "ES",
    "italy": "IT",
    "netherlands": "NL",
    "united kingdom": "GB",
    "uk": "GB",
    "united states": "US",
    "usa": "US",
    "united states of america": "US",
    "canada": "CA",
    "australia": "AU",
    "india": "IN",
}


def _reader(content: str) -> csv.reader:
    sample = content[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample.splitlines()[0] if sample else ",", ",;\t")
    except csv.Error:
        dialect = csv.excel
    return csv.reader(io.StringIO(content), dialect)


def header_of(content: str) -> list[str]:
    try:
        header = next(_reader(content))
    except StopIteration:
        raise ValidationError({"file": "The file is empty."}) from None
    except csv.Error as exc:
        raise ValidationError({"file": f"Not a readable CSV file: {exc}"}) from None
    return [h.strip() for h in header]


def count_rows(content: str) -> int:
    try:
        return sum(1 for row in _reader(content) if any(cell.strip() for cell in row)) - 1
    except csv.Error as exc:
        raise ValidationError({"file": f"Not a readable CSV file: {exc}"}) from None


def rows(content: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: value}) for each non-empty data row; the header is line 1."""
    reader = _reader(content)
    header = [h.strip() for h in next(reader)]
    for number, row in enumerate(reader, start=2):
        if any(cell.strip() for cell in row):
            yield number, dict(zip(header, row, strict=False))


def resolve_mapping(preset: str, mapping: dict | None) -> dict[str, str | list[str]]:
    if preset not in PRESETS:
        raise ValidationError({"preset": f"Choose one of: {', '.join(PRESETS)}."})
    resolved = {**PRESETS[preset], **(mapping or {})}
    errors = []
    for field, columns in resolved.items():
        if field not in MAPPABLE_FIELDS:
            choices = ", ".join(MAPPABLE_FIELDS)
            errors.append(f"{field!r} is not a lead field (choose from {choices}).")
        elif not (
            isinstance(columns, str)
            or (isinstance(columns, list) and columns and all(isinstance(c, str) for c in columns))
        ):
            errors.append(f"{field!r} must map to a column name or a list of column names.")
    if "external_id" not in resolved:
        errors.append("Map a column to external_id (the record's id in the CRM).")
    if errors:
        raise ValidationError({"mapping": errors})
    return resolved


def fit_to_header(preset_mapping: dict, explicit: dict, header: list[str]) -> dict:
    """The mapping to use for this file: columns named explicitly must exist; a preset's
    columns that the file lacks are dropped (a CRM export need not have every column)."""
    missing = sorted(
        {c for cols in explicit.values() for c in ([cols] if isinstance(cols, str) else cols)}
        - set(header)
    )
    if missing:
        raise ValidationError({"mapping": [f"The file has no column {c!r}." for c in missing]})
    fitted: dict[str, str | list[str]] = {}
    for field, columns in preset_mapping.items():
        if field in explicit:
            fitted[field] = columns
            continue
        present = [c for c in ([columns] if isinstance(columns, str) else columns) if c in header]
        if present:
            fitted[field] = present[0] if isinstance(columns, str) else present
    if "external_id" not in fitted:
        column = preset_mapping.get("external_id")
        raise ValidationError({"mapping": [f"The file has no column {column!r} (external_id)."]})
    return fitted


def apply_mapping(preset: str, mapping: dict, row: dict[str, str]) -> dict[str, str]:
    """Lead field values of one CSV row; empty cells are left out (they change nothing)."""
    values: dict[str, str] = {}
    translate = VALUE_MAPS.get(preset, {})
    for field, columns in mapping.items():
        cols = [columns] if isinstance(columns, str) else columns
        value = " ".join(v for v in ((row.get(c) or "").strip() for c in cols) if v)
        if not value:
            continue
        if field in translate:
            value = translate[field].get(value.lower(), value.lower())
        elif field == "stage":
            value = value.lower()
        if field == "country" and len(value) != 2:
            value = COUNTRY_NAMES.get(value.lower(), value)
        if field == "country":
            value = value.upper()
        values[field] = value
    return values
