"""Email delivery beside its floor: the alert emails of the past-due clocks (BENCH_DUE, two
recipients each) delivered by `alerts.delivery.deliver_pending` to an SMTP sink on loopback
(aiosmtpd's `Sink` handler in its own process, so that it takes no CPU from this one), and
the floor: the same number of messages, rendered and serialized beforehand, sent over one
SMTP connection (`smtplib`) to the same sink in the same run.

Each is timed by wall clock and by this process's CPU time (all threads), so the cost per
email can be read on a machine that other work keeps busy. Ours runs twice: with one
deliverer and with settings.ALERTS_DELIVERERS.

Leaves the clocks breached and their alerts sent.
"""

from __future__ import annotations

import smtplib
import socket
import subprocess
import sys
import time

from benchmarks.context import Context
from benchmarks.table import Row


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the SMTP sink did not start")


def _timed(fn) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def _reset(ids: list[int]) -> None:
    """The alerts back in the queue, not rendered yet, as the scan left them."""
    from alerts.models import Alert

    Alert.objects.filter(pk__in=ids).update(
        status="pending",
        subject="",
        body_text="",
        body_html="",
        attempts=0,
        claim_token="",
        lease_until=None,
        sent_at=None,
    )


def run(ctx: Context) -> list[Row]:
    from django.conf import settings
    from django.test import override_settings

    from alerts import delivery
    from alerts.channels import email as email_channel
    from alerts.models import Alert
    from leads import checks

    checks.deadline_scan(now=ctx.now)
    ids = list(Alert.objects.filter(status="pending").values_list("pk", flat=True))
    n = len(ids)
    port = _free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"]
        + ["-c", "aiosmtpd.handlers.Sink"]
    )
    smtp = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": port,
    }
    rows = []
    try:
        _wait_for(port)
        results = {}
        for deliverers in (1, settings.ALERTS_DELIVERERS):
            _reset(ids)
            with override_settings(**smtp, ALERTS_DELIVERERS=deliverers):
                wall, cpu, result = _timed(
                    lambda: delivery.deliver_pending(now=ctx.now, budget_seconds=600)
                )
            results[deliverers] = (wall, cpu, result.sent)

        # The floor: the same emails, already rendered and serialized, over one connection.
        payloads = []
        for alert in Alert.objects.filter(pk__in=ids).order_by("pk"):
            message = email_channel.message_for(alert)
            payloads.append((message.from_email, message.recipients(), message.message()))
        payloads = [(sender, to, m.as_bytes(linesep="\r\n")) for sender, to, m in payloads]

        def floor() -> int:
            with smtplib.SMTP("127.0.0.1", port) as server:
                for sender, to, data in payloads:
                    server.sendmail(sender, to, data)
            return len(payloads)

        floor_wall, floor_cpu, _ = _timed(floor)
    finally:
        sink.terminate()
        sink.wait(timeout=10)

    def per_email(seconds: float, count: int) -> str:
        return f"{seconds / max(count, 1) * 1000:.2f} ms"

    for deliverers, (wall, cpu, sent) in results.items():
        rows.append(
            Row(
                f"email delivery, {n:,} alert emails, {deliverers} deliverer(s): {sent:,} sent",
                f"{wall:.2f} s ({sent / wall:,.0f}/s), CPU {per_email(cpu, sent)} per email",
                wall,
                floor=(
                    f"pre-rendered over one SMTP connection ({n / floor_wall:,.0f}/s, CPU "
                    f"{per_email(floor_cpu, n)} per email)"
                ),
                floor_s=floor_wall,
                target="20,000 in ≤ 2 min (≥ 167/s)",
            )
        )
        rows.append(
            Row(
                f"email delivery CPU per email, {deliverers} deliverer(s)",
                per_email(cpu, sent),
                cpu / max(sent, 1),
                floor="pre-rendered over one SMTP connection",
                floor_s=floor_cpu / max(n, 1),
            )
        )
    return rows
