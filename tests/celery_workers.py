"""Real Celery workers for the fault tests (not a test module): subprocesses on the test's
PostgreSQL database and Redis, each test on a queue of its own, and the test process's
producer pointed at that queue (or at a closed port: "Redis down")."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from tests.test_alerts_crash import database_url

ROOT = Path(__file__).resolve().parent.parent


def configure_producer(broker_url: str, queue: str) -> None:
    """Point this process's Celery app at `broker_url` and `queue`, dropping cached pools."""
    from slahub.celery import app

    app.conf.update(broker_url=broker_url, broker_transport_options={}, task_default_queue=queue)
    app._pool = None  # (not closed: kombu shares pools per URL with the rest of the process)
    amqp = app.amqp
    amqp._producer_pool = None
    for name in ("queues", "default_queue", "router", "producer_pool"):
        amqp.__dict__.pop(name, None)


@contextmanager
def producer(broker_url: str, queue: str):
    from slahub.celery import app

    saved = (app.conf.broker_url, app.conf.task_default_queue)
    configure_producer(broker_url, queue)
    try:
        yield
    finally:
        configure_producer(*saved)


QUEUES: list[str] = []


def new_queue(name: str) -> str:
    queue = f"faults-{name}-{uuid.uuid4().hex[:8]}"
    QUEUES.append(queue)
    return queue


def drop_queues(broker_url: str) -> None:
    """Delete the test queues' leftovers (messages, kombu bindings) from this Redis DB."""
    import redis

    client = redis.Redis.from_url(broker_url)
    for queue in QUEUES:
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    QUEUES.clear()


class Worker:
    """`celery worker --pool=solo` on `queue`, with extra environment `env`."""

    def __init__(self, broker_url: str, queue: str, tmp_path, **env: str) -> None:
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "slahub.settings",
            "SECRET_KEY": "fault-test",
            "DATABASE_URL": database_url(),
            "REDIS_URL": broker_url,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "SLAHUB_VAR_DIR": str(tmp_path),
            "LOG_LEVEL": "ERROR",
            "SLAHUB_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
            **env,
        }
        self.queue = queue
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        command = [sys.executable, "-m", "celery", "-A", "slahub", "worker", "--pool=solo"]
        command += ["-Q", self.queue, "--without-mingle", "--without-gossip"]
        command += ["--without-heartbeat", "--loglevel=ERROR", f"-n{uuid.uuid4().hex[:8]}@%h"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)
        return self

    def kill(self) -> int:
        if self.process and self.process.poll() is None:
            self.process.kill()
        return self.process.wait(timeout=30) if self.process else 0

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()


class Beat(Worker):
    """`celery beat` with its own schedule file, sending to `queue` (same environment)."""

    def start(self) -> Beat:
        schedule = Path(self.env["SLAHUB_VAR_DIR"]) / f"beat-{uuid.uuid4().hex[:8]}"
        command = [sys.executable, "-m", "celery", "-A", "slahub", "beat"]
        command += ["--loglevel=ERROR", f"--schedule={schedule}", "--max-interval=1"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)
        return self


def wait_for(condition, *, timeout: float = 60, what: str = "the workers") -> None:
    """Poll `condition()` (a database read) until true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
