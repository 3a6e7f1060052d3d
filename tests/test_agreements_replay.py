"""The what-if replay of a draft (issue 15, item 2), on a hand-built history whose outcome
under the terms in force and under the draft is worked out by hand below.

Calendar: Mon–Fri 09:00–17:00 Berlin. The window is the last full quarter before 25 Nov
2026: 1 Jul – 1 Oct 2026.

Terms in force (v1): first touch within 4 business hours, 2 attempts 1 business day apart,
a decision within 2 business days, 2 SALs a month. The draft (v2): first touch within 1
hour, a decision within 1 business day, 3 SALs a month (the follow-up unchanged).

Lead A, handed off Mon 7 Sep 09:00; touched Mon 10:30; accepted Tue 10:00; touched Tue 11:00.
  v1: first touch due 13:00, met 10:30. Attempt 2 due Tue 10:30 (a day after the touch),
      touched 11:00: missed. Decision due Wed 09:00, made Tue 10:00: kept.
  v2: first touch due 10:00, touched 10:30: missed (it still counts as attempt 1, so attempt
      2 is due Tue 10:30: missed). Decision due Tue 09:00, made 10:00: missed.
Lead B, handed off Wed 9 Sep 14:00; connected Wed 14:20; accepted Wed 15:00.
  v1: first touch due Thu 10:00 (3 h Wed + 1 h Thu), met; connected: no attempt 2; decision
      kept. v2: first touch due 15:00, met; decision due Thu 14:00, kept. Unchanged.
Lead C, handed off Fri 11 Sep 16:30; never touched; rejected Mon 14 Sep 12:00.
  v1: first touch due Mon 12:30 (30 min Fri + 3 h 30 Mon): not yet due at the rejection, so
      cancelled (not counted). Decision due Tue 16:30, kept.
  v2: first touch due Mon 09:30: missed at 09:30. Decision due Mon 16:30, kept.
Lead D, handed off 5 Oct: outside the window.

So: first touch v1 2 of 2 kept (100 %), v2 1 of 3 (33.3 %); follow-up 0 of 1 on both;
decision v1 3 of 3 (100 %), v2 2 of 3 (66.7 %). Sales breaches: v1 1, v2 4.
SALs: none in July and August, 2 in September (A, B). v1: July and August missed, September
met (2 of 2, 100 %); v2: all three missed (September 2 of 3, 66.7 %). Marketing breaches:
v1 2, v2 3. Changed leads: A and C.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from agreements import replay
from agreements.errors import PermissionDenied, ValidationError
from agreements.models import Commitment, ReplayRun
from agreements.services import agreement_version_draft
from leads import checks, services
from leads import replay as lead_replay
from leads.models import Breach, Obligation
from tests.factories import LONG_AGO, activate, add_commitment, make_lead, make_user

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def touch(lead, at, user, outcome="attempted"):
    return services.activity_log(
        lead=lead, kind="call", occurred_at=at, now=at, user=user, outcome=outcome
    )


@pytest.fixture
def history(org):
    add_commitment(org.version, "first_touch", within="PT4H")
    add_commitment(org.version, "follow_up", attempts=2, every="P1D")
    add_commitment(org.version, "disposition", within="P2D")
    add_commitment(org.version, "lead_volume", target=2, stage="sal", period="month")
    activate(org, now=LONG_AGO)
    rep = org.rep
    a = make_lead(org, now=berlin(2026, 9, 7, 9), handed_off_at=berlin(2026, 9, 7, 9), name="A")
    touch(a, berlin(2026, 9, 7, 10, 30), rep)
    services.lead_accept(lead=a, now=berlin(2026, 9, 8, 10), user=rep)
    touch(a, berlin(2026, 9, 8, 11), rep)
    b = make_lead(org, now=berlin(2026, 9, 9, 14), handed_off_at=berlin(2026, 9, 9, 14), name="B")
    touch(b, berlin(2026, 9, 9, 14, 20), rep, outcome="connected")
    services.lead_accept(lead=b, now=berlin(2026, 9, 9, 15), user=rep)
    c = make_lead(
        org, now=berlin(2026, 9, 11, 16, 30), handed_off_at=berlin(2026, 9, 11, 16, 30), name="C"
    )
    services.lead_reject(lead=c, reason="Not a fit", now=berlin(2026, 9, 14, 12), user=rep)
    make_lead(org, now=berlin(2026, 10, 5, 9), handed_off_at=berlin(2026, 10, 5, 9), name="D")
    checks.run_all(now=NOW)  # the real clocks of all four, decided as the engine decides

    draft = agreement_version_draft(agreement=org.agreement, user=org.sales_manager)
    draft.commitments.filter(kind="first_touch").update(within="PT1H")
    draft.commitments.filter(kind="disposition").update(within="P1D")
    draft.commitments.filter(kind="lead_volume").update(target=3)
    return org, draft, {"A": a, "B": b, "C": c}


def _run(org, draft, user=None):
    run = replay.replay_request(version=draft, user=user or org.marketing_manager, now=NOW)
    assert replay.run_one(run.pk, now=NOW) == "done"
    run.refresh_from_db()
    return run


def _line(result, kind):
    [line] = [c for c in result["commitments"] if c["kind"] == kind]
    return line


def test_the_replay_of_the_hand_built_history_matches_the_hand_worked_outcome(history):
    org, draft, leads = history
    run = _run(org, draft)

    assert (run.status, run.progress, run.leads) == ("done", 100, 3)  # D is outside
    assert (run.window_start, run.window_end) == (berlin(2026, 7, 1), berlin(2026, 10, 1))
    result = run.result
    expected = {  # kind: (in force decided, met, pct), (draft decided, met, pct)
        "first_touch": ((2, 2, 100.0), (3, 1, 33.3)),
        "follow_up": ((1, 0, 0.0), (1, 0, 0.0)),
        "disposition": ((3, 3, 100.0), (3, 2, 66.7)),
    }
    for kind, (before, after) in expected.items():
        line = _line(result, kind)
        assert (line["in_force"]["decided"], line["in_force"]["met"], line["in_force"]["pct"]) == (
            before
        ), kind
        assert (line["draft"]["decided"], line["draft"]["met"], line["draft"]["pct"]) == after, kind
    assert result["breaches"] == {
        "in_force": {"sales": 1, "marketing": 2},
        "draft": {"sales": 4, "marketing": 3},
    }
    quota = {
        side: [
            (q["period"], q["actual"], q["target"], q["attainment_pct"], q["status"])
            for q in result["quota"][side]
        ]
        for side in ("in_force", "draft")
    }
    assert quota == {
        "in_force": [
            ("2026-07-01", 0, 2, 0.0, "missed"),
            ("2026-08-01", 0, 2, 0.0, "missed"),
            ("2026-09-01", 2, 2, 100.0, "met"),
        ],
        "draft": [
            ("2026-07-01", 0, 3, 0.0, "missed"),
            ("2026-08-01", 0, 3, 0.0, "missed"),
            ("2026-09-01", 2, 3, 66.7, "missed"),
        ],
    }
    assert result["changed_count"] == 2
    changed = {c["name"]: (c["in_force"], c["draft"]) for c in result["changed"]}
    assert changed == {
        "A": (
            "first touch kept; follow-ups 0 of 1 kept; decision kept",
            "first touch missed; follow-ups 0 of 1 kept; decision missed",
        ),
        "C": ("decision kept", "first touch missed; decision kept"),
    }


def test_under_the_terms_in_force_the_replay_finds_the_clocks_the_engine_recorded(history):
    org, _, leads = history
    histories = replay.lead_histories(org.agreement, berlin(2026, 7, 1), berlin(2026, 10, 1))
    replayed = set()
    for h in histories:
        for o in lead_replay.replay_lead(h, h.lead.agreement_version):
            status = "breached" if o.status == "open" and o.due_at <= NOW else o.status
            replayed.add((h.lead.name, o.kind, o.attempt, o.due_at, status))
    real = {
        (o.lead.name, o.kind, o.attempt, o.due_at, o.status)
        for o in Obligation.objects.filter(lead__in=leads.values()).select_related("lead")
    }
    assert replayed == real
    assert ("A", "follow_up", 2, berlin(2026, 9, 8, 10, 30), "breached") in real
    assert ("C", "first_touch", 1, berlin(2026, 9, 14, 12, 30), "cancelled") in real


def _snapshot():
    from alerts.models import Alert
    from integrations.models import WebhookDelivery
    from reports.models import ClockDay, DispositionDay, FunnelDay, FunnelLead, ReachDay, StaleLead

    models = [
        Obligation,
        Breach,
        Alert,
        WebhookDelivery,
        ClockDay,
        DispositionDay,
        FunnelDay,
        FunnelLead,
        ReachDay,
        StaleLead,
    ]
    return {m.__name__: sorted(map(repr, m.objects.values_list())) for m in models}


def test_a_replay_writes_nothing_into_real_clocks_breaches_alerts_or_figures(history):
    org, draft, _ = history
    before = _snapshot()
    assert len(before["Obligation"]) > 0 and len(before["Breach"]) > 0
    run = _run(org, draft)
    assert run.status == "done"
    assert _snapshot() == before


def test_who_replays_and_what(history):
    org, draft, _ = history
    for user in (org.sales_manager, org.marketing_manager):
        assert replay.can_replay(user, draft)
    for user in (org.rep, org.marketer, make_user("outsider")):
        with pytest.raises(PermissionDenied):
            replay.replay_request(version=draft, user=user, now=NOW)
    assert replay.can_replay(make_user("boss", is_staff=True), draft)
    with pytest.raises(ValidationError):
        replay.replay_request(version=org.version, user=org.sales_manager, now=NOW)  # in force
    with pytest.raises(ValidationError):
        replay.replay_request(
            version=draft,
            user=org.sales_manager,
            now=NOW,
            window_start=berlin(2026, 11, 1),
            window_end=berlin(2026, 12, 1),
        )  # not past yet
    assert ReplayRun.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_the_page_starts_a_replay_and_shows_the_last_result(
    history, client, django_assert_max_num_queries
):
    org, draft, leads = history
    client.force_login(org.sales_manager)
    detail = client.get(reverse("agreement-detail", args=[org.agreement.pk])).content.decode()
    url = reverse("version-replay", args=[org.agreement.pk, draft.number])
    assert url in detail
    page = client.get(url)
    assert page.status_code == 200
    assert "Replay last quarter" in page.content.decode()
    assert 'value="2026-07-01"' in page.content.decode()

    response = client.post(url, {"window_start": "2026-07-01", "window_end": "2026-09-30"})
    assert response.status_code == 302
    run = ReplayRun.objects.get()
    assert (run.window_start, run.window_end) == (berlin(2026, 7, 1), berlin(2026, 10, 1))
    replay.run_one(run.pk, now=NOW)

    with django_assert_max_num_queries(12):
        page = client.get(url)
    body = page.content.decode()
    assert "33.3" in body and "66.7" in body
    assert reverse("lead-detail", args=[leads["A"].pk]) in body
    assert reverse("lead-detail", args=[leads["C"].pk]) in body
    assert reverse("lead-detail", args=[leads["B"].pk]) not in body

    progress = client.get(reverse("version-replay-progress", args=[org.agreement.pk, draft.number]))
    assert progress.status_code == 200 and 'value="100"' in progress.content.decode()

    client.force_login(org.rep)
    assert client.get(url).status_code == 403
    assert client.post(url, {}).status_code == 403


def test_a_bad_window_is_a_clear_error_not_a_500(history, client):
    org, draft, _ = history
    client.force_login(org.sales_manager)
    url = reverse("version-replay", args=[org.agreement.pk, draft.number])
    page = client.post(url, {"window_start": "2026-10-01", "window_end": "2026-07-01"})
    assert page.status_code == 400
    assert "must end after it starts" in page.content.decode()
    assert ReplayRun.objects.count() == 0


def test_only_a_draft_or_proposal_is_replayed(history):
    org, draft, _ = history
    assert Commitment.objects.filter(version=draft).count() == 4
    draft.status = "active"
    with pytest.raises(ValidationError):
        replay.replay_request(version=draft, user=org.sales_manager, now=NOW)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_page_runs_the_replay_on_a_real_worker(history, client, require_postgres, tmp_path):
    from tests.celery_workers import Worker, drop_queues, new_queue, producer, wait_for
    from tests.conftest import redis_url

    org, draft, _ = history
    client.force_login(org.marketing_manager)
    url = reverse("version-replay", args=[org.agreement.pk, draft.number])
    broker, queue = redis_url(), new_queue("replay-worker")
    try:
        with producer(broker, queue), Worker(broker, queue, tmp_path):
            started = client.post(url, {"window_start": "2026-07-01", "window_end": "2026-09-30"})
            assert started.status_code == 302
            run = ReplayRun.objects.get()
            wait_for(lambda: ReplayRun.objects.get(pk=run.pk).ended, what="the replay")
    finally:
        drop_queues(broker)
    run.refresh_from_db()
    assert (run.status, run.leads) == ("done", 3)
    assert _line(run.result, "first_touch")["draft"]["pct"] == 33.3
    bar = client.get(reverse("version-replay-progress", args=[org.agreement.pk, draft.number]))
    assert 'value="100"' in bar.content.decode()
    assert "hx-trigger" not in bar.content.decode()  # done: the page stops polling


def test_a_replay_whose_message_was_lost_is_sent_again_a_minute_later(history):
    from datetime import timedelta

    from agreements import tasks
    from tests.celery_workers import drop_queues, new_queue, producer
    from tests.conftest import redis_url

    org, draft, _ = history
    broker, queue = redis_url(), new_queue("replay-resume")
    with producer("redis://127.0.0.1:1/0", new_queue("down")):  # the broker is down
        run = replay.replay_request(version=draft, user=org.sales_manager, now=NOW)
    try:
        with producer(broker, queue):
            assert tasks.sweep_replays(now=NOW + timedelta(seconds=59)) == 0
            assert tasks.sweep_replays(now=NOW + timedelta(minutes=1)) == 1
        replay.run_one(run.pk, now=NOW)
        assert tasks.sweep_replays(now=NOW + timedelta(minutes=5)) == 0  # done: not again
    finally:
        drop_queues(broker)
    assert ReplayRun.objects.get().status == "done"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_replay_whose_worker_dies_mid_run_is_run_again_after_its_lease_once(
    history, require_postgres, tmp_path
):
    """A real worker is killed (SIGKILL) while it holds the run: the run stays "running"
    only until its lease runs out; then the sweeper sends it again, another worker runs it
    and it ends once, with the hand-worked result above."""
    from datetime import timedelta

    import psycopg2
    from django.db import connection
    from django.utils import timezone

    from agreements import tasks
    from tests.celery_workers import Worker, drop_queues, new_queue, producer, wait_for
    from tests.conftest import redis_url

    org, draft, _ = history
    db = connection.settings_dict
    blocker = psycopg2.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"],
        port=db["PORT"],
    )
    broker, queue = redis_url(), new_queue("replay-crash")
    try:
        with producer(broker, queue):
            # The leads table is held, so the worker stops inside the run, having claimed it.
            with blocker.cursor() as cursor:
                cursor.execute("LOCK TABLE leads_lead IN ACCESS EXCLUSIVE MODE")
            with Worker(broker, queue, tmp_path) as worker:
                run = replay.replay_request(version=draft, user=org.sales_manager, now=NOW)
                wait_for(
                    lambda: ReplayRun.objects.get(pk=run.pk).status == "running",
                    what="the worker to claim the run",
                )
                assert worker.kill() == -9
            blocker.rollback()
            run.refresh_from_db()
            assert (run.status, run.attempts) == ("running", 1)
            assert run.lease_until > timezone.now() + replay.LEASE - timedelta(minutes=1)

            assert tasks.sweep_replays(now=timezone.now()) == 0  # the lease still holds
            assert ReplayRun.objects.get(pk=run.pk).status == "running"
            later = timezone.now() + replay.LEASE
            with Worker(broker, queue, tmp_path):
                assert tasks.sweep_replays(now=later) == 1
                wait_for(lambda: ReplayRun.objects.get(pk=run.pk).ended, what="the replay")
            assert tasks.sweep_replays(now=later + replay.LEASE) == 0  # done: not again
    finally:
        blocker.close()
        drop_queues(broker)
    run.refresh_from_db()
    assert (run.status, run.attempts, run.progress, run.leads) == ("done", 2, 100, 3)
    assert run.lease_until is None
    assert _line(run.result, "first_touch")["draft"]["pct"] == 33.3
    assert run.result["breaches"] == {
        "in_force": {"sales": 1, "marketing": 2},
        "draft": {"sales": 4, "marketing": 3},
    }
    assert ReplayRun.objects.count() == 1


def test_a_run_that_stops_its_worker_three_times_is_failed_not_sent_again(history):
    from datetime import timedelta

    org, draft, _ = history
    run = replay.replay_request(version=draft, user=org.sales_manager, now=NOW)
    ReplayRun.objects.filter(pk=run.pk).update(
        status="running", attempts=replay.MAX_ATTEMPTS, lease_until=NOW
    )
    assert replay.release_expired(now=NOW - timedelta(seconds=1)) == 0  # still held
    assert replay.release_expired(now=NOW) == 0
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error == "The worker stopped 3 times while running this replay."


def test_a_worker_overtaken_after_its_lease_stores_nothing(history):
    org, draft, _ = history
    run = replay.replay_request(version=draft, user=org.sales_manager, now=NOW)
    overtaken = []

    def clock():  # the first progress write: meanwhile the lease ran out and it was re-sent
        if not overtaken:
            assert replay.release_expired(now=NOW + replay.LEASE) == 1
            overtaken.append(replay.run_one(run.pk, now=NOW))
        return NOW

    assert replay.run_one(run.pk, now=NOW, clock=clock) == "overtaken"
    assert overtaken == ["done"]
    run.refresh_from_db()
    assert (run.status, run.attempts, run.progress) == ("done", 2, 100)
