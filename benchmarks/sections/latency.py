"""Detection and delivery with the real parts, default settings: a Celery worker (prefork,
default concurrency) and beat as subprocesses on Redis and the bench database, and an
aiosmtpd sink on loopback as the email server.

1. 200 clocks fall due spread over two minutes: due → breach recorded (seen committed by
   polling every 0.2 s) and due → email received by the SMTP server, p99 of each.
2. The Monday burst: 10,000 clocks due at one instant (2 recipients each): seconds until all
   are breached and until all 20,000 emails are received.
3. The worker's peak resident memory over both (main process and its children, summed).

Leaves the clocks it used breached and their alerts sent; any alert left pending by earlier
sections is marked skipped first, so that only this section's emails are counted.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.context import Context
from benchmarks.table import Row

ROOT = Path(__file__).resolve().parents[2]
SPREAD, SPREAD_SECONDS, BURST = 200, 120, 10_000
WAIT = 150  # seconds the burst is given before the section reports what it reached
KEY = re.compile(rb"^X-SLAHub-Alert: breach:(\d+)\r?$", re.MULTILINE)


class Sink:
    """Records when each email about a breach arrived: {breach id: [seconds since epoch]}."""

    def __init__(self) -> None:
        self.received: dict[int, list[float]] = {}
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        at = time.time()
        match = KEY.search(envelope.content)
        if match:
            self.received.setdefault(int(match.group(1)), []).append(at)
        self.count += 1
        return "250 Message accepted for delivery"


class Memory(threading.Thread):
    """Peak RSS of a process and its children, sampled every 0.5 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stopped = pid, 0, threading.Event()

    def run(self) -> None:
        import psutil

        process = psutil.Process(self.pid)
        while not self.stopped.wait(0.5):
            try:
                tree = [process, *process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                return


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "slahub", *args, "--loglevel=WARNING"]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan")


def _due_at(ids: list[int], times: list[datetime]) -> None:
    from leads.models import Obligation

    rows = [Obligation(pk=pk, due_at=at) for pk, at in zip(ids, times, strict=True)]
    Obligation.objects.bulk_update(rows, ["due_at"], batch_size=2000)


def _breached(ids: list[int]) -> dict[int, int]:
    """{obligation id: breach id} of these clocks breached so far (committed)."""
    from leads.models import Breach

    return dict(Breach.objects.filter(obligation_id__in=ids).values_list("obligation_id", "id"))


def run(ctx: Context) -> list[Row]:
    from aiosmtpd.controller import Controller
    from django.utils import timezone

    from alerts.models import Alert
    from leads import checks
    from leads.models import Obligation

    checks.deadline_scan(now=timezone.now())  # what earlier sections left due
    Alert.objects.filter(status="pending").update(status="skipped")
    spare = list(
        Obligation.objects.filter(status="open", lead__isnull=False, due_at__gt=ctx.now)
        .order_by("-due_at")
        .values_list("pk", flat=True)[: SPREAD + BURST]
    )
    spread_ids, burst_ids = spare[:SPREAD], spare[SPREAD:]

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    sink, port = Sink(), _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    queue = f"bench-latency-{uuid.uuid4().hex[:8]}"
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    var = tempfile.mkdtemp(prefix="slahub-bench-")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "slahub.settings",
        "SECRET_KEY": "bench",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "SLAHUB_VAR_DIR": var,
        "LOG_LEVEL": "WARNING",
    }
    worker = _start(["worker", "-Q", queue, "--without-mingle", "--without-gossip"], env)
    beat = _start(["beat", f"--schedule={var}/beat"], env)
    memory = Memory(worker.pid)
    memory.start()
    try:
        time.sleep(8)  # the worker and beat start

        # 1. Clocks due one by one over two minutes.
        start = timezone.now() + timedelta(seconds=5)
        step = SPREAD_SECONDS / SPREAD
        due = {pk: start + timedelta(seconds=i * step) for i, pk in enumerate(spread_ids)}
        _due_at(list(due), list(due.values()))
        seen: dict[int, float] = {}
        deadline = time.time() + 5 + SPREAD_SECONDS + 60
        while time.time() < deadline:
            for obligation_id in _breached(spread_ids).keys() - seen.keys():
                seen[obligation_id] = time.time()
            if len(seen) == SPREAD and sink.count >= 2 * SPREAD:
                break
            time.sleep(0.2)
        breach_of = _breached(spread_ids)
        to_breach = [seen[pk] - due[pk].timestamp() for pk in seen]
        to_email = [
            at - due[pk].timestamp()
            for pk, breach_id in breach_of.items()
            for at in sink.received.get(breach_id, [])
        ]
        emails = len(to_email)

        # 2. The burst: every clock due at one instant.
        before = sink.count
        instant = timezone.now() + timedelta(seconds=5)
        _due_at(burst_ids, [instant] * len(burst_ids))
        all_breached = all_sent = None
        deadline = instant.timestamp() + WAIT
        while time.time() < deadline:
            if all_breached is None and len(_breached(burst_ids)) == len(burst_ids):
                all_breached = time.time() - instant.timestamp()
            if sink.count - before >= 2 * len(burst_ids):
                all_sent = time.time() - instant.timestamp()
                break
            time.sleep(0.5)
        burst_emails = sink.count - before
    finally:
        memory.stopped.set()
        for process in (beat, worker):
            process.terminate()
        for process in (beat, worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        controller.stop()
        import redis

        redis.Redis.from_url(redis_url).delete(queue, f"_kombu.binding.{queue}")

    def took(value: float | None, limit: int) -> tuple[str, float]:
        if value is None:
            return f"not within {limit} s", float(limit)
        return f"{value:.1f} s", value

    n = len(burst_ids)
    breached_text, breached_s = took(all_breached, WAIT)
    sent_text, sent_s = took(all_sent, WAIT)
    return [
        Row(
            f"due → breach recorded, {len(seen)} of {SPREAD} clocks due over "
            f"{SPREAD_SECONDS} s, beat every 10 s (p99)",
            f"{_p99(to_breach):.1f} s (max {max(to_breach, default=0):.1f} s)",
            _p99(to_breach),
            target="≤ 15 s",
        ),
        Row(
            f"due → email received by SMTP, {emails} emails (p99)",
            f"{_p99(to_email):.1f} s (max {max(to_email, default=0):.1f} s)",
            _p99(to_email),
            target="≤ 30 s",
        ),
        Row(
            f"burst: {n:,} clocks due at one instant, all breached",
            breached_text,
            breached_s,
            target="≤ 30 s",
        ),
        Row(
            f"burst: all {2 * n:,} emails received ({burst_emails:,} by the end)",
            sent_text,
            sent_s,
            target="≤ 2 min",
        ),
        Row(
            "worker peak RSS (main process and children, summed)",
            f"{memory.peak / 2**20:.0f} MB",
            memory.peak / 2**20,
            target="≤ 300 MB",
        ),
    ]
