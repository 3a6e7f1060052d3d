"""What the clocks tell the rest of the system: called inside the transaction that made
the change, so that whatever is recorded here (alert outbox rows, webhook deliveries)
commits or rolls back with it. Each function is one explicit hook, called by the services
and checks; nothing here is a Django signal."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from alerts import services as alert_services
from integrations import deliveries as webhook_deliveries
from reports import rollups as report_rollups

if TYPE_CHECKING:
    from leads.models import Breach, Lead, Obligation


def leads_changed(lead_ids: Iterable[int | None], *, new: bool = False) -> None:
    """These leads' fields, stage history, touches or clocks changed (`new`: they were
    created in this transaction): the report rollups read them again at their next refresh
    (until then the funnel reads them live)."""
    report_rollups.mark_stale(lead_ids, new=new)


@contextmanager
def leads_deleting(lead_ids: list[int], *, now: datetime) -> Iterator[None]:
    """Wraps the deletion of these leads: the report rollups forget them."""
    from reports import refresh  # the reports read leads; import at use, not at load

    with refresh.forgetting(lead_ids, now=now):
        yield


def lead_handed_off(lead: Lead, *, now: datetime) -> None:
    """A lead reached sales; its clocks are open."""
    webhook_deliveries.on_lead_handed_off(lead, now=now)


def leads_handed_off(leads: list[Lead], *, now: datetime) -> None:
    """These leads reached sales together (a bulk upsert or an import); their clocks are
    open."""
    webhook_deliveries.on_leads_handed_off(leads, now=now)


def obligations_warned(obligations: list[Obligation], *, now: datetime) -> None:
    """These open obligations passed their `warn_at`."""
    webhook_deliveries.on_obligations(obligations, now=now, event="obligation.warning")
    alert_services.warnings_detected(obligations, now=now)


def breaches_created(breaches: list[Breach], *, now: datetime) -> None:
    """These breaches were recorded (once each)."""
    webhook_deliveries.on_breaches(breaches, now=now, event="breach.created")
    alert_services.breaches_detected(breaches, now=now)


def breach_resolved(breach: Breach, *, now: datetime) -> None:
    """A disputed or open breach was resolved (upheld or waived)."""
    webhook_deliveries.on_breaches([breach], now=now, event="breach.resolved")


def quota_at_risk(obligation: Obligation, *, now: datetime) -> None:
    """A period's pace says it will miss its target."""
    webhook_deliveries.on_obligations([obligation], now=now, event="quota.at_risk")
    alert_services.quota_at_risk_detected(obligation, now=now)
