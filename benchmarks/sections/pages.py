"""Pages under load: the role homes, the rep's queue and the compliance page served by
gunicorn (2 workers, production settings, DEBUG off) on loopback, each driven for
BENCH_PAGE_SECONDS (default 20) by 8 logged-in sessions requesting it back to back (locust,
headless), beside the floor: a logged-in page rendered with base.html whose view makes no
query (benchmarks/pages/urls.py), same server, same run. A row's ratio is seconds per
request against the floor's, so it reads "× slower than the floor".

Adds to the shared data (and leaves it): lead volume and quality terms on the active version,
a rep with 40 leads in the queue (10 past due), 30 acceptances and 15 rejections of the rep's
leads today, and the breaches of the past-due clocks (one deadline scan).
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

from benchmarks.context import Context
from benchmarks.table import Row, seconds

SESSIONS = 8
WORKERS = 2
ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "benchmarks" / "pages" / "locustfile.py"
TARGET = "≤ 2× the no-query page"


def _data(ctx: Context):
    from django.contrib.auth.models import User

    from agreements.models import Commitment, Membership, RejectionReason
    from leads import checks, services
    from leads.models import Lead, Obligation

    org, now = ctx.org, ctx.now
    version = org.version
    for kind, fields in {
        "lead_volume": {"target": 400, "stage": "sal", "period": "month"},
        "lead_quality": {"min_acceptance_pct": 60, "period": "month"},
    }.items():
        Commitment.objects.get_or_create(version=version, kind=kind, defaults=fields)
    RejectionReason.objects.get_or_create(code="no-budget", defaults={"label": "No budget"})
    RejectionReason.objects.get_or_create(code="wrong-fit", defaults={"label": "Not our fit"})
    first_touch = Commitment.objects.get(version=version, kind="first_touch")
    rep, created = User.objects.get_or_create(username="bench-queue-rep")
    if created:
        Membership.objects.create(team=org.sales, user=rep)
        leads = Lead.objects.bulk_create(
            Lead(
                source_system="bench-pages",
                external_id=f"queue-{i}",
                name=f"Queue lead {i}",
                stage="mql",
                owner=rep,
                sales_team=org.sales,
                marketing_team=org.marketing,
                handed_off_at=now,
                agreement_version=version,
            )
            for i in range(40)
        )
        Obligation.objects.bulk_create(
            Obligation(
                kind="first_touch",
                side="sales",
                commitment=first_touch,
                agreement_version=version,
                lead=lead,
                team=org.sales,
                user=rep,
                starts_at=now,
                warn_at=now + timedelta(days=30),
                due_at=now + timedelta(hours=i) if i >= 10 else now - timedelta(minutes=i + 1),
            )
            for i, lead in enumerate(leads)
        )
        undecided = list(
            Lead.objects.filter(owner=org.rep, accepted_at=None, rejected_at=None).order_by("-pk")[
                :45
            ]
        )
        for lead in undecided[:30]:
            services.lead_accept(lead=lead, now=now)
        for i, lead in enumerate(undecided[30:]):
            reason = "no-budget" if i % 3 else "wrong-fit"
            services.lead_reject(lead=lead, reason=reason, now=now)
        checks.deadline_scan(now=now + timedelta(seconds=1))
    return rep


def _sessions(user, n: int) -> list[str]:
    from django.test import Client

    keys = []
    for _ in range(n):
        client = Client()
        client.force_login(user)
        keys.append(client.cookies["sessionid"].value)
    return keys


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, cookie: str) -> int:
    request = urllib.request.Request(url, headers={"Cookie": f"sessionid={cookie}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _server(env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "slahub.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5)  # noqa: S310
            return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("gunicorn did not answer within 60 s")


def _drive(host: str, path: str, cookies: list[str], duration: int, env: dict) -> dict:
    """req/s, p95 (s) and failures of `path` under len(cookies) sessions for `duration` s."""
    for cookie in cookies[:2]:  # warm: templates compiled, connections open, cache filled
        for _ in range(2):
            status = _get(host + path, cookie)
            if status != 200:
                raise RuntimeError(f"{path} answered {status} before the run")
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "run")
        ran = subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(LOCUSTFILE),
                "--headless",
                "--users",
                str(len(cookies)),
                "--spawn-rate",
                str(len(cookies)),
                "--run-time",
                f"{duration}s",
                "--host",
                host,
                "--csv",
                prefix,
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--stop-timeout",
                "10",
            ],
            cwd=ROOT,
            env={**env, "BENCH_PAGE_PATH": path, "BENCH_PAGE_COOKIES": ",".join(cookies)},
            check=False,
            capture_output=True,
            text=True,
        )
        if not os.path.exists(f"{prefix}_stats.csv"):
            raise RuntimeError(f"locust wrote no stats for {path}: {ran.stderr[-2000:]}")
        with open(f"{prefix}_stats.csv", newline="") as fh:
            total = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    return {
        "rps": float(total["Requests/s"]),
        "p95": float(total["95%"]) / 1000,
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
    }


def run(ctx: Context) -> list[Row]:
    from django.conf import settings
    from django.db import connection

    org = ctx.org
    queue_rep = _data(ctx)
    duration = int(os.environ.get("BENCH_PAGE_SECONDS", "20"))
    db = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.pages.settings",
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        # The sessions are signed in this process: the server must share its key.
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
        "SECURE_COOKIES": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "AXES_ENABLED": "0",
        "BENCH_CACHE_PREFIX": f"slahub-bench-{os.getpid()}-{time.time_ns()}",
    }
    pages = [
        ("no-query page (floor)", "/bench/floor/", org.sales_manager),
        ("rep's queue (40 leads)", "/queue/", queue_rep),
        ("sales team page", "/team/", org.sales_manager),
        ("marketing home", "/marketing/", org.marketing_manager),
        ("compliance page", "/reports/compliance/", org.sales_manager),
    ]
    server = _server(env, port)
    results = {}
    try:
        for label, path, user in pages:
            results[label] = _drive(
                f"http://127.0.0.1:{port}", path, _sessions(user, SESSIONS), duration, env
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    floor_label = pages[0][0]
    floor = results[floor_label]
    rows = []
    for label, path, _ in pages:
        r = results[label]
        failed = f", {r['failures']} failed" if r["failures"] else ""
        ours = f"{r['rps']:.1f} req/s, p95 {seconds(r['p95'])}{failed}"
        if label == floor_label:
            rows.append(Row(f"page under {SESSIONS} sessions: {label}", ours, 1 / r["rps"]))
            continue
        rows.append(
            Row(
                f"page under {SESSIONS} sessions: {label} `{path}`",
                ours,
                1 / r["rps"] if r["rps"] else float("inf"),
                floor=f"no-query page, {floor['rps']:.1f} req/s",
                floor_s=1 / floor["rps"],
                target=TARGET,
            )
        )
    return rows
