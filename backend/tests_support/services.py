"""Real PostgreSQL / Redis / Celery workers for tests.

A test that needs a real service skips when it is unreachable, except under
REQUIRE_SERVICES=1 (CI's second pass), where an unreachable service fails the run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest
from django.db import connection

BACKEND_DIR = Path(__file__).resolve().parent.parent


def services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    if services_required():
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis URL on a database of its own (15 by default) so tests never touch real data."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    if not _reachable(url):
        skip_or_fail(f"Redis is not reachable at {url}")
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture
def require_postgres(db) -> None:
    if connection.vendor != "postgresql":
        skip_or_fail("the test database is not PostgreSQL (set DATABASE_URL)")


def test_database_url() -> str:
    """The URL of the database pytest-django created, for a worker in another process."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    if connection.vendor == "postgresql":
        auth = quote(s.get("USER") or "")
        if s.get("PASSWORD"):
            auth += ":" + quote(s["PASSWORD"])
        host = s.get("HOST") or "127.0.0.1"
        port = s.get("PORT") or 5432
        return f"postgres://{auth}@{host}:{port}/{s['NAME']}"
    raise RuntimeError(f"no URL for {connection.vendor}")


class CeleryWorkerProcess:
    """A real `celery worker` in a subprocess, on the test database and a given broker."""

    def __init__(
        self, broker_url: str, extra_env: dict[str, str] | None = None, concurrency: int = 2
    ):
        self.broker_url = broker_url
        self.extra_env = extra_env or {}
        self.concurrency = concurrency
        self.proc: subprocess.Popen | None = None
        self.log_path = BACKEND_DIR.parent / "var" / f"test-worker-{os.getpid()}.log"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="core.settings.test",
            DATABASE_URL=test_database_url(),
            CELERY_BROKER_URL=self.broker_url,
            CELERY_TASK_ALWAYS_EAGER="false",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self) -> CeleryWorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "core",
                "worker",
                "--loglevel",
                "INFO",
                "--pool",
                "prefork",
                "--concurrency",
                str(self.concurrency),
                "--without-mingle",
                "--without-gossip",
                "-n",
                f"test-{os.getpid()}-{time.time_ns()}@%h",
            ],
            cwd=BACKEND_DIR,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def ready_lines(self) -> int:
        """How many "ready" lines the log holds (workers of one test process share it)."""
        return self.log().count(" ready.")

    def wait_ready(self, ready_before: int, timeout: float = 60) -> None:
        def ready() -> bool:
            assert self.proc, "the worker was not started"
            assert self.proc.poll() is None, f"the worker exited:\n{self.log()[-3000:]}"
            return self.ready_lines() > ready_before

        wait_until(ready, timeout=timeout, message="the worker to start consuming")

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, not a clean shutdown."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def celery_worker_process(transactional_db):
    """Factory: `celery_worker_process(broker_url)` starts a worker and returns once it consumes
    (on Redis a message sent to a queue nobody declared yet is dropped, and a test would wait
    for the sweeper); stopped after the test."""
    workers: list[CeleryWorkerProcess] = []

    def start(broker_url: str, **kwargs) -> CeleryWorkerProcess:
        worker = CeleryWorkerProcess(broker_url, **kwargs)
        ready_before = worker.ready_lines()
        workers.append(worker.start())
        worker.wait_ready(ready_before)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def tasks_through_redis(redis_url, monkeypatch) -> str:
    """This test process enqueues to the real Redis (as a web process would) instead of running
    tasks in-process; pair it with `celery_worker_process(redis_url)`."""
    from core.celery import app as celery_app

    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    # Celery prefers the CELERY_BROKER_URL environment variable over its configuration (CI's
    # services pass sets it to another Redis database), so both must point at the test's.
    monkeypatch.setenv("CELERY_BROKER_URL", redis_url)
    monkeypatch.setitem(celery_app.conf, "broker_url", redis_url)
    monkeypatch.setitem(celery_app.conf, "broker_transport_options", {"visibility_timeout": 3600})
    # Connections opened earlier in this process may point at another broker: start afresh.
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
    return redis_url


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.1, message: str = "condition"):
    """Poll `predicate` until truthy; fail the test with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message}")
