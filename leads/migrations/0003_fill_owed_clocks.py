"""Existing clocks learn whether they are still owed, and waived misses their status."""

from django.db import migrations
from django.db.models import F, OuterRef, Q, Subquery

TOUCH_KINDS = ("first_touch", "follow_up")
STOPPED_STAGES = ("sql", "opportunity", "won", "lost", "rejected", "recycled")


def fill_done_at(apps, schema_editor):
    """Existing clocks: met or cancelled ones are done; a missed one is done once the lead
    was touched (touch clocks) or decided (disposition) after it started, or stopped."""
    Obligation = apps.get_model("leads", "Obligation")
    Activity = apps.get_model("leads", "Activity")
    StageEvent = apps.get_model("leads", "StageEvent")
    Obligation.objects.filter(status="met").update(done_at=F("met_at"), done_by=F("met_by"))
    Obligation.objects.filter(Q(status="cancelled") | Q(lead__isnull=True)).update(
        done_at=F("closed_at")
    )
    missed = Obligation.objects.filter(status="breached", lead__isnull=False, done_at__isnull=True)
    first_touch = Activity.objects.filter(
        lead_id=OuterRef("lead_id"), occurred_at__gte=OuterRef("starts_at")
    ).order_by("occurred_at")
    missed.filter(kind="first_touch").update(
        done_at=Subquery(first_touch.values("occurred_at")[:1]),
        done_by=Subquery(first_touch.values("pk")[:1]),
    )
    next_touch = Activity.objects.filter(
        lead_id=OuterRef("lead_id"), occurred_at__gt=OuterRef("starts_at")
    ).order_by("occurred_at")
    missed.filter(kind="follow_up").update(
        done_at=Subquery(next_touch.values("occurred_at")[:1]),
        done_by=Subquery(next_touch.values("pk")[:1]),
    )
    decided = StageEvent.objects.filter(
        lead_id=OuterRef("lead_id"),
        to_stage__in=("sal", "rejected", "sql", "opportunity", "won"),
        occurred_at__gte=OuterRef("starts_at"),
    ).order_by("occurred_at")
    missed.filter(kind="disposition").update(
        done_at=Subquery(decided.values("occurred_at")[:1])
    )
    Obligation.objects.filter(
        status="breached", breach__status="resolved", breach__resolution="waived"
    ).update(status="waived")
    missed.filter(
        Q(lead__stage__in=STOPPED_STAGES) | Q(lead__handed_off_at__gt=F("starts_at"))
    ).filter(done_at__isnull=True).update(done_at=F("closed_at"))


class Migration(migrations.Migration):
    dependencies = [("leads", "0002_owed_clocks_and_undo")]

    operations = [migrations.RunPython(fill_done_at, migrations.RunPython.noop)]
