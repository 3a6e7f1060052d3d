"""The rollups' array column: PostgreSQL's array, and on SQLite (`make run`'s embedded
default, where the rollups are off and every report reads live: `reports.rollups.enabled`)
a JSON text column, so the same migrations apply to both."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.postgres.fields import ArrayField as PostgresArrayField


class ArrayField(PostgresArrayField):
    def db_type(self, connection) -> str | None:
        if connection.vendor != "postgresql":
            return "text"
        return super().db_type(connection)

    def cast_db_type(self, connection) -> str | None:
        if connection.vendor != "postgresql":
            return "text"
        return super().cast_db_type(connection)

    def get_db_prep_value(self, value: Any, connection, prepared: bool = False) -> Any:
        if connection.vendor != "postgresql":
            return None if value is None else json.dumps(list(value))
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value: Any, expression, connection) -> Any:
        if isinstance(value, str):
            return json.loads(value)
        if hasattr(super(), "from_db_value"):
            return super().from_db_value(value, expression, connection)
        return value
