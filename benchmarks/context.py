"""What every bench section is given: the time, the size and the organisation loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Context:
    now: datetime
    n_leads: int
    org: Any  # tests.factories.Org: teams, rep, manager, active version
    database_url: str
    extra: dict[str, Any] = field(default_factory=dict)
