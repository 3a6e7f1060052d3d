"""Reading CRM CSV exports: column presets, custom mappings and value translation.

A mapping names, for each lead field, the CSV column (or columns, joined with a space) it
comes from. Presets cover a Salesforce Lead export and a HubSpot contacts export; a custom
mapping starts empty, and any mapping given with a preset extends or overrides it."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime

from django.core.exceptions import ValidationError

from leads.models import LEAD_DATA_FIELDS

MAPPABLE_FIELDS = [
    "external_id",
    *LEAD_DATA_FIELDS,
    "stage",
    "handed_off_at",
    "rejection_reason",
    "owner_email",
    "owner_name",  # a member of the sales team by full name (a CRM export's owner column)
    "created_at",  # not stored: the hand-off time of a row whose status means "with sales"
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
        "owner_name": "Lead Owner",
        "created_at": "Created Date",
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
        "owner_name": "Contact owner",
        "created_at": "Create Date",
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

# Names people and CRMs use that are not ISO 3166's own (pycountry knows those: names,
# official and common names, alpha-2 and alpha-3 codes). Keys are compared folded (see
# _fold): lower case, no dots, no leading "the".
# Per preset, the CRM statuses that mean the lead is already with sales: such a row without a
# hand-off time of its own is handed off at its created date (so its clocks start).
HANDOFF_STATUSES: dict[str, set[str]] = {
    "salesforce": {"open - not contacted", "working - contacted"},
    "hubspot": {"sales qualified lead", "salesqualifiedlead"},
}

# Dates as CRMs export them, tried in order after ISO 8601. A date with slashes is read
# month first (Salesforce's and HubSpot's US exports); a dotted one day first.
DATE_FORMATS = (
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
)
DATE_FIELDS = ("handed_off_at", "created_at")


def when(value: str) -> str:
    """A CRM's date or time as ISO 8601 ('11/25/2026 9:30 AM' → '2026-11-25T09:30:00');
    unchanged when it is none of DATE_FORMATS (the lead then refuses it, naming the column).
    A time without an offset is read in UTC."""
    text = value.strip()
    try:
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        pass
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).isoformat()
        except ValueError:
            continue
    return text


COUNTRY_ALIASES = {
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "us": "US",
    "usa": "US",
    "america": "US",
    "united states": "US",
    "russia": "RU",
    "turkey": "TR",
    "ivory coast": "CI",
    "swaziland": "SZ",
    "burma": "MM",
    "cape verde": "CV",
    "east timor": "TL",
    "dr congo": "CD",
    "democratic republic of the congo": "CD",
    "congo-kinshasa": "CD",
    "congo-brazzaville": "CG",
    "republic of korea": "KR",
    "korea": "KR",
    "macau": "MO",
    "macao": "MO",
    "kosovo": "XK",  # not in ISO 3166; XK is the code in common use
    "holland": "NL",
    "netherlands": "NL",
    "macedonia": "MK",
    "vatican": "VA",
    "palestine": "PS",
    "micronesia": "FM",
    "brunei": "BN",
    "uae": "AE",
    "deutschland": "DE",
    "österreich": "AT",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "españa": "ES",
    "italia": "IT",
    "nederland": "NL",
    "polska": "PL",
    "brasil": "BR",
    "méxico": "MX",
    "sverige": "SE",
    "norge": "NO",
    "danmark": "DK",
    "suomi": "FI",
    "belgië": "BE",
    "belgique": "BE",
    "česko": "CZ",
    "magyarország": "HU",
}


def _fold(value: str) -> str:
    folded = " ".join(value.replace(".", "").split()).casefold()
    return folded[4:] if folded.startswith("the ") else folded


def country_code(value: str) -> str | None:
    """The ISO 3166 alpha-2 code of a country given by name or code in any common form
    ('Norway', 'NOR', 'no', 'Deutschland', 'U.K.', 'Korea, Republic of'); None if unknown."""
    import pycountry

    text = (value or "").strip()
    if not text:
        return None
    if alias := COUNTRY_ALIASES.get(_fold(text)):
        return alias
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None


def decode(data: bytes) -> str:
    """The text of an uploaded file: UTF-8 (with or without a byte-order mark), UTF-16 (with
    a BOM, or without one when every other byte is zero, as Excel writes it) or, failing
    those, Windows-1252 (Excel's "CSV" on Western European Windows)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    sample = data[:4096]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return data.decode("utf-16-le", errors="replace")
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4:
        return data.decode("utf-16-be", errors="replace")
    return data.decode("cp1252", errors="replace")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def is_binary(content: str) -> bool:
    """A decoded file holding control characters no CSV has (NUL, ^Z…): an image, a
    spreadsheet or an archive uploaded by mistake."""
    return bool(_CONTROL.search(content[:65536]))


def _delimiter(header_line: str) -> str:
    """The header's separator: the one of , ; tab that occurs most outside quotes (a
    comma when none does). Only the separator is detected; quoting is RFC 4180's."""
    outside, quoted = [], False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted:
            outside.append(char)
    counts = {d: outside.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _reader(content: str) -> csv.reader:
    """RFC 4180 (Excel's dialect: doubled quotes inside a quoted field) with the file's
    separator."""
    first_line = content.lstrip("\ufeff").split("\n", 1)[0]
    return csv.reader(
        io.StringIO(content.lstrip("\ufeff"), newline=""),
        csv.excel,
        delimiter=_delimiter(first_line),
    )


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
        if field == "country":
            value = country_code(value) or value  # an unknown one is refused by the lead
        if field in DATE_FIELDS:
            value = when(value)
        values[field] = value
    created = values.pop("created_at", None)
    status = _cell(row, mapping.get("stage")).lower()
    if created and "handed_off_at" not in values and status in HANDOFF_STATUSES.get(preset, ()):
        values["handed_off_at"] = created
    return values


def _cell(row: dict[str, str], columns) -> str:
    cols = [columns] if isinstance(columns, str) else (columns or [])
    return " ".join(v for v in ((row.get(c) or "").strip() for c in cols) if v)


def column_of(mapping: dict, field: str) -> str:
    """The CSV column(s) a lead field was read from, for a row error the user can fix:
    'handed_off_at' → 'Created Date' when the hand-off came from the created date."""
    if field == "handed_off_at" and field not in mapping and "created_at" in mapping:
        field = "created_at"
    columns = mapping.get(field)
    if columns is None:
        return field
    return " + ".join([columns] if isinstance(columns, str) else columns)
