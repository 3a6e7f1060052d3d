"""Figures shared by everyone who sees the same team or filter, kept in the cache for
`SLAHUB_SHARED_FIGURES_SECONDS` (docs/performance.md, docs/dashboard.md).

Only what no user owes goes through here: compliance, quota pace, acceptance and the report
tables. A rep's queue, the breaches a manager must acknowledge and the leads nobody owes are
read on every request, so they are current right after the user's own action. The key is
built from what the figure was counted over (teams, agreement, resolved filter), never from
the user, so two people see the same cached figure only when they may see the same figure.
The report filter's lists of agreements, teams and reps (`reports.forms`) are kept the same
way but per user: they are what he may choose.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

T = TypeVar("T")
log = logging.getLogger(__name__)


def shared_key(name: str, parts: tuple) -> str:
    """The cache key of a shared figure (or fragment): `name` and a digest of `parts`."""
    return f"shared:{name}:{hashlib.sha256(repr(parts).encode()).hexdigest()[:32]}"


def shared(name: str, parts: tuple, compute: Callable[[], T]) -> T:
    """`compute()`, or its value cached under `name` and `parts` in the last few seconds.
    With the cache unreachable the figure is counted (the page is slower, not wrong)."""
    seconds = settings.SLAHUB_SHARED_FIGURES_SECONDS
    if seconds <= 0:
        return compute()
    key = shared_key(name, parts)
    try:
        hit = cache.get(key)
    except Exception:  # noqa: BLE001 (a cache outage must not take the page down)
        log.warning("shared figures: %s not read from the cache", name, exc_info=True)
        return compute()
    if hit is not None:
        return hit
    value = compute()
    try:
        cache.set(key, value, seconds)
    except Exception:  # noqa: BLE001
        log.warning("shared figures: %s not kept in the cache", name, exc_info=True)
    return value


class _PageRows(Sequence):
    """One cached page of rows standing in for the whole list: its length is the list's
    count, and the page's slice is those rows (Paginator asks for nothing else)."""

    def __init__(self, count: int, rows: list) -> None:
        self._count, self._rows = count, rows

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._rows
        raise TypeError("a cached page is read as a slice")


def shared_page(name: str, parts: tuple, rows: QuerySet, per_page: int, number) -> Page:
    """Page `number` of `rows` (and their count) as `shared` keeps figures."""

    def compute() -> tuple[int, int, list]:
        page = Paginator(rows, per_page).get_page(number)
        return page.paginator.count, page.number, list(page.object_list)

    count, n, items = shared(name, (*parts, per_page, str(number)), compute)
    return Paginator(_PageRows(count, items), per_page).page(n)
