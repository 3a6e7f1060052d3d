"""Reads for the imports pages: which imports a user sees, and the preview of a CSV file
mapped exactly as the import will read it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from agreements import access
from integrations import csv_mapping, services
from integrations.models import Import, ImportRow

PREVIEW_ROWS = 10


def imports_visible_to(user) -> QuerySet[Import]:
    """A user's own imports; staff see everyone's (as the API: agreements.access)."""
    return access.imports_visible_to(user).select_related("user", "sales_team", "marketing_team")


@dataclass
class PreviewCell:
    value: str
    errors: list[str] = field(default_factory=list)


@dataclass
class PreviewRow:
    number: int
    cells: list[PreviewCell]
    errors: list[str] = field(default_factory=list)  # the row's, not one field's
    result: str = ""  # what the import would do: created, updated, unchanged or error

    @property
    def ok(self) -> bool:
        return not self.errors and not any(c.errors for c in self.cells)


@dataclass
class Preview:
    mapping: dict
    fields: list[str]
    rows: list[PreviewRow]
    total_rows: int


def _messages(errors) -> list[str]:
    if isinstance(errors, dict):
        return [f"{k}: {m}" for k, v in errors.items() for m in _messages(v)]
    if isinstance(errors, list | tuple):
        return [m for e in errors for m in _messages(e)]
    return [str(errors)]


def import_preview(
    *,
    user,
    content: str,
    preset: str,
    mapping: dict,
    source_system: str = "",
    sales_team=None,
    marketing_team=None,
    now: datetime,
    limit: int = PREVIEW_ROWS,
) -> Preview:
    """The first `limit` rows as the import will read them: the same mapping fitted to the
    file's header (integrations.csv_mapping), the upload's teams as defaults, each row
    checked by the import's own serializer and upsert (rolled back), its errors placed on
    the field they belong to. Raises ValidationError (`file`, `preset`, `mapping`) as
    `import_create` would. Writes nothing."""
    from integrations.serializers import LeadUpsertSerializer

    header = csv_mapping.header_of(content)
    fitted = csv_mapping.fit_to_header(
        csv_mapping.resolve_mapping(preset, mapping), mapping, header
    )
    defaults: dict = {"source_system": source_system or preset}
    if sales_team is not None:
        defaults["sales_team"] = sales_team.pk
    if marketing_team is not None:
        defaults["marketing_team"] = marketing_team.pk
    numbered, items = [], []
    for number, raw in itertools.islice(csv_mapping.rows(content), limit):
        values = csv_mapping.apply_mapping(preset, fitted, raw)
        serializer = LeadUpsertSerializer(data={**defaults, **values}, context={"user": user})
        if serializer.is_valid():
            items.append({"data": serializer.validated_data})
        else:
            items.append({"errors": serializer.errors})
        numbered.append((number, values))
    # A dry run of the rows through the import's own upsert, rolled back: the model's and
    # the rules' refusals show too, and whether each row would create or update a lead.
    with transaction.atomic():
        results = services.lead_upsert_many(items, now=now, user=user)
        transaction.set_rollback(True)
    fields = list(fitted)
    rows = []
    for (number, values), result in zip(numbered, results, strict=True):
        errors = dict(result["errors"] or {})
        cells = [
            PreviewCell(values.get(name, ""), _messages(errors.pop(name, []))) for name in fields
        ]
        rows.append(PreviewRow(number, cells, _messages(errors), result["result"]))
    return Preview(fitted, fields, rows, csv_mapping.count_rows(content))


def import_report_rows(record: Import):
    """The per-row report of an import, in file order, read in chunks."""
    return (
        ImportRow.objects.filter(import_run=record)
        .order_by("number")
        .values_list("number", "result", "external_id", "lead_id", "errors")
        .iterator(chunk_size=2000)
    )
