"""New rows written with PostgreSQL `COPY … FROM STDIN` instead of `bulk_create`: the same
rows, without building an INSERT of thousands of parameters and preparing each value
through its field (most of `bulk_create`'s time; docs/performance.md).

Ids come from a sequence reservation (`reserve_ids`: one `nextval` per row, one query for
the batch) made before the COPY, so that child rows can name their parent in the same
batch; a table whose ids nobody reads is copied without its id column (the column's own
default). Values are written in COPY's text format: `\\N` for NULL, backslash, tab,
newline and carriage return escaped, times as UTC instants. A NUL character is refused as
psycopg2 refuses it in a query. Errors come out as Django's (`IntegrityError`, …), and
each COPY is counted and logged as a query where Django logs queries.

Elsewhere than PostgreSQL (SQLite, a developer's default) `insert` is `bulk_create`.
Like `bulk_create`: no `save()`, no signals; `auto_now`/`auto_now_add` fields get the one
time of the call. Call inside the transaction the rows belong to."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from django.db import connection, models

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"

TEXT_TYPES = {
    "CharField",
    "TextField",
    "EmailField",
    "SlugField",
    "URLField",
    "GenericIPAddressField",
}
INTEGER_TYPES = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
}


def text(value: str) -> str:
    """A string as a COPY text-format field."""
    # Spelled out: faster than a loop or a regex for the short strings of a lead.
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value or "\x00" in value:
        if "\x00" in value:
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")
        return value.translate(_ESCAPES)
    return value


def _instant(field: models.Field) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if isinstance(value, datetime) and value.utcoffset() is not None:
            return value.astimezone(UTC).isoformat()
        # Naive or not a datetime: Django's own preparation (a naive time is read in the
        # default time zone, with its warning).
        prepared = field.get_prep_value(value)
        return prepared.astimezone(UTC).isoformat()

    return convert


def _prepared(field: models.Field) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        prepared = field.get_db_prep_save(value, connection)
        if prepared is None:
            return NULL
        if isinstance(prepared, bool):
            return "t" if prepared else "f"
        if isinstance(prepared, str | int | float):
            return text(str(prepared))
        if hasattr(prepared, "isoformat"):
            return text(prepared.isoformat())
        return text(str(prepared))  # Decimal, UUID

    return convert


def converter(field: models.Field) -> Callable[[Any], str]:
    """How a (non-null) value of `field` is written in COPY's text format."""
    kind = field.get_internal_type()
    if field.is_relation:
        return converter(field.target_field)
    if kind in INTEGER_TYPES:
        return lambda value: str(int(value))
    if kind in TEXT_TYPES:
        return lambda value: text(value if type(value) is str else str(value))
    if kind == "DateTimeField":
        return _instant(field)
    if kind == "BooleanField":
        return lambda value: "t" if value else "f"
    if kind == "JSONField":
        return lambda value: text(json.dumps(value, cls=field.encoder))
    return _prepared(field)


_PLANS: dict[tuple[type[models.Model], bool], list] = {}


def _plan(model: type[models.Model], ids: bool) -> list:
    """(field, attname, column, convert, stamped, foreign key) per column written: an
    automatic id only when reserved, a given primary key (`StaleLead.lead_id`) always."""
    key = (model, ids)
    if key not in _PLANS:
        plan = []
        for field in model._meta.concrete_fields:
            if field.primary_key and not ids and isinstance(field, models.AutoField):
                continue
            if getattr(field, "generated", False):  # computed by the database
                continue
            stamped = bool(
                getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            )
            related = field.is_relation and field.many_to_one
            plan.append((field, field.attname, field.column, converter(field), stamped, related))
        _PLANS[key] = plan
    return _PLANS[key]


def _copy(model: type[models.Model], columns: list[str], buffer: io.StringIO, n: int) -> None:
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({names}) FROM STDIN"
    buffer.seek(0)
    started = time.monotonic()
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.cursor.copy_expert(sql, buffer)
    if connection.queries_logged:
        # Logged like Django logs a query, so that query counts and debug logs see it.
        took = time.monotonic() - started
        connection.queries_log.append({"sql": f"{sql} -- {n} rows", "time": f"{took:.3f}"})


def insert_ids(model: type[models.Model], column: str, ids: Sequence[int]) -> None:
    """Rows of one integer column (`StaleLead.lead_id`), copied without model instances."""
    if ids and connection.vendor != "postgresql":
        model.objects.bulk_create([model(**{column: pk}) for pk in ids])
    elif ids:
        _copy(model, [column], io.StringIO("".join(f"{int(pk)}\n" for pk in ids)), len(ids))


def reserve_ids(counts: Sequence[tuple[type[models.Model], int]]) -> list[list[int]]:
    """`n` new ids from each model's id sequence, one query for all: the ids the rows will
    be copied with (a rolled-back batch leaves a gap, as an INSERT would)."""
    parts, params = [], []
    for model, n in counts:
        table, pk = model._meta.db_table, model._meta.pk.column
        parts.append(
            "ARRAY(SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s))"
        )
        params += [connection.ops.quote_name(table), pk, n]
    sql = "SELECT " + ", ".join(parts)  # nosec B608 # only placeholders are joined
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return [list(ids) for ids in row]


def insert(model: type[models.Model], objs: Sequence[models.Model], *, ids: bool = False):
    """Write `objs` (unsaved instances of `model`) with one COPY. With `ids`, each gets its
    id from a reservation first (`obj.pk` set, as `bulk_create` sets it); without, the rows
    take the id column's default and the instances keep `pk` None. A foreign key whose
    value is unset is read from its related instance (a parent saved earlier in the batch).
    Returns `objs`."""
    if not objs:
        return objs
    if connection.vendor != "postgresql":  # SQLite, a developer's default: no COPY
        return model.objects.bulk_create(objs)
    if ids:
        (reserved,) = reserve_ids([(model, len(objs))])
        for obj, pk in zip(objs, reserved, strict=True):
            obj.pk = pk
    plan = _plan(model, ids)
    for field, attname, _, _, stamped, related in plan:
        if stamped:  # one time for the whole call
            value = field.pre_save(objs[0], add=True)
            for obj in objs:
                setattr(obj, attname, value)
        elif related:
            target = field.target_field.attname
            for obj in objs:
                if getattr(obj, attname) is None and field.is_cached(obj):
                    parent = field.get_cached_value(obj)
                    setattr(obj, attname, getattr(parent, target, None))
    values = attrgetter(*(attname for _, attname, *_ in plan))
    converts = [convert for _, _, _, convert, *_ in plan]
    if len(plan) == 1:
        one = values
        values = lambda obj: (one(obj),)  # noqa: E731 - attrgetter of one name is no tuple
    lines = [
        "\t".join([NULL if v is None else c(v) for v, c in zip(values(obj), converts, strict=True)])
        for obj in objs
    ]
    buffer = io.StringIO("\n".join(lines) + "\n")
    _copy(model, [column for _, _, column, *_ in plan], buffer, len(objs))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs
