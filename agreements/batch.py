"""Terms and calendars looked up once per batch of writes.

A bulk upsert or a CSV import hands off hundreds of leads under the same agreement version
and calendar. Inside `batch()` the read-only lookups that go through `once` (the active
version of a sales team, a version's commitments, a clock calendar) are done once and shared
by every item; outside a batch every call reads afresh. Lead writes never change terms or
calendars, so nothing a batch writes makes what it remembered wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_remembered: ContextVar[dict | None] = ContextVar("slahub_batch", default=None)


@contextmanager
def batch() -> Iterator[None]:
    """Remember lookups until the block ends; inside an outer batch, share the outer one."""
    if _remembered.get() is not None:
        yield
        return
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


def once(key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, remembered under `key` for the rest of the batch (if in one)."""
    remembered = _remembered.get()
    if remembered is None:
        return compute()
    if key not in remembered:
        remembered[key] = compute()
    return remembered[key]
