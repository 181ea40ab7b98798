"""`make bench`: the delivery engine's figures, in one run, against receivers on loopback.

Prints
  1. the capacity of three receivers, measured by wrk (32 keep-alive connections; our own
     asyncio client where wrk is missing), with their CPU per request: the headline one, one
     uvicorn process running a minimal ASGI app (bench/asgi_receiver.py) as `pip install
     uvicorn` runs it; the same app on uvicorn[standard]'s C parser and loop (capacity only);
     and a raw asyncio server (bench/receiver.py); and what our sending path alone (the
     engine's HTTP client and signing, no database) achieves;
  2. deliveries/s end to end for 100 events × 100 endpoints (event recorded → signed request
     received → success recorded) through real Celery worker processes, against each receiver,
     with p50/p99 latency and the CPU time each party spent per delivery (this process
     publishing, the workers, the database server, the receiver), and the ceiling that cost
     puts on the machine's cores; against the headline receiver twice: published as the
     platform publishes (fan-out in a worker) and with fan-out inline (the events API's path);
  3. the time to record one event that fans out to 1,000 endpoints;
  4. the workflow-complete API call with 100 slow endpoints (2 s each) vs none;
  (`make bench-scale` measures the same with a long history in the tables: bench/scale.py)
and each target of issue 14 as met or MISSED.

Defaults: an on-disk SQLite database under var/bench/ and the embedded (filesystem) broker.
DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench (dropped and created) and
BENCH_BROKER_URL=redis://127.0.0.1:6379/3 switch to the servers. Everything stays on loopback;
every wait is bounded; the run stops by itself.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ROOT / "backend"
VAR = ROOT / "var" / "bench"
EVENTS = int(os.environ.get("BENCH_EVENTS", "100"))
ENDPOINTS = int(os.environ.get("BENCH_ENDPOINTS", "100"))
FANOUT = int(os.environ.get("BENCH_FANOUT", "1000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))
WORKER_CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "2"))
DEADLINE_SECONDS = 180
API_SAMPLES = 15


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_environment() -> dict[str, str]:
    VAR.mkdir(parents=True, exist_ok=True)
    from cryptography.fernet import Fernet

    env = {
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "PYTHONPATH": os.pathsep.join([str(BACKEND), str(ROOT / "bench")]),
        "SECRET_KEY": "bench-" + os.urandom(16).hex(),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "INTEGRATIONS_ALLOW_PRIVATE_TARGETS": "true",
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "PYTHONUNBUFFERED": "1",
    }
    db_url = os.environ.get("DATABASE_URL", "")
    if db_url.startswith("postgres"):
        ensure_postgres_database(db_url)
        env["DATABASE_URL"] = db_url
    else:
        db = VAR / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{db}"
    broker = os.environ.get("BENCH_BROKER_URL", "")
    if broker:
        import redis

        redis.Redis.from_url(broker).flushdb()
        env["CELERY_BROKER_URL"] = broker
    else:
        shutil.rmtree(VAR / "broker", ignore_errors=True)
    os.environ.update(env)
    sys.path[:0] = [str(BACKEND), str(ROOT / "bench")]
    return env


def ensure_postgres_database(url: str) -> None:
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# How uvicorn runs the receiver app. "uvicorn" is what `pip install uvicorn` runs, its pure-Python
# h11 parser on asyncio's loop: the receiver issue 14 measured (8,569 requests/s on this
# machine) and set the "half its capacity" target against. "uvicorn-standard" is the same app
# with the C parser and loop of `uvicorn[standard]` (httptools, uvloop), about five times as
# fast: its capacity is printed beside the headline, as a second yardstick, not a target.
UVICORN_OPTIONS = {
    "uvicorn": ["--loop", "asyncio", "--http", "h11"],
    "uvicorn-standard": ["--loop", "uvloop", "--http", "httptools"],
}


class Receiver:
    """`uvicorn` (the headline) and `uvicorn-standard`: one uvicorn process with a minimal ASGI
    app (bench/asgi_receiver.py), see UVICORN_OPTIONS; `raw`: the raw asyncio server
    (bench/receiver.py), a second figure."""

    def __init__(self, kind: str = "uvicorn") -> None:
        self.kind = kind
        self.port = free_port()
        if kind in UVICORN_OPTIONS:
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                "asgi_receiver:app",
                "--app-dir",
                str(ROOT / "bench"),
                "--port",
                str(self.port),
                *UVICORN_OPTIONS[kind],
                "--no-access-log",
                "--log-level",
                "warning",
                "--backlog",
                "4096",
            ]
        else:
            command = [sys.executable, str(ROOT / "bench" / "receiver.py"), str(self.port)]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.stats()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("receiver did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def slow_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slow"

    def stats(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=5) as r:
            return json.loads(r.read())

    def reset(self) -> None:
        urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{self.port}/reset", data=b"", method="POST"),
            timeout=5,
        ).read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)


class Worker:
    def __init__(self, env: dict[str, str], index: int) -> None:
        self.log_path = VAR / f"worker-{index}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - kept open for the child
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
                "--concurrency",
                str(WORKER_CONCURRENCY),
                "--without-mingle",
                "--without-gossip",
                "-n",
                f"bench-{index}-{os.getpid()}@%h",
            ],
            cwd=BACKEND,
            env={**os.environ, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log_path.read_bytes():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready; see {self.log_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stats() -> list[tuple[int, int, str, float]]:
    """(pid, process group, command, CPU seconds) of every process we may read (Linux /proc)."""
    stats = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        command = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        # after the command: state, ppid, pgrp, …; utime and stime are fields 14 and 15 of stat
        cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        if command == "postgres":
            # And cutime, cstime (16, 17): the backends the postmaster has reaped. A backend
            # that ends during the run (a connection closed) takes its CPU with it otherwise:
            # while workers reconnected for every task, most of the server's work went uncounted.
            cpu += (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
        stats.append((int(entry.name), int(fields[2]), command, cpu))
    return stats


def cpu_snapshot(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by: this process ("publisher"), each named list of process groups
    (a worker and its pool children, the receiver), and the PostgreSQL server's processes."""
    snapshot = dict.fromkeys([*groups, "database server"], 0.0)
    times = os.times()
    snapshot["publisher"] = times.user + times.system
    owner = {pgid: name for name, pgids in groups.items() for pgid in pgids}
    for pid, pgid, command, cpu in _proc_stats():
        if pgid in owner and pid != os.getpid():
            snapshot[owner[pgid]] += cpu
        elif command == "postgres":
            snapshot["database server"] += cpu
    return snapshot


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def make_owner(name: str, endpoints: int, url: str):
    from django.contrib.auth import get_user_model

    from apps.integrations_external.models import WebhookEndpoint
    from apps.projects.models import Project

    user = get_user_model().objects.create_user(name, "", "pass-word-123")  # no email channel
    project = Project.objects.create(owner=user, name=f"{name} project")
    WebhookEndpoint.objects.bulk_create(
        [WebhookEndpoint(owner=user, name=f"{name}-{i}", url=url) for i in range(endpoints)]
    )
    return user, project


def measure_sending_path(user, requests: int = 20_000) -> tuple[float, float]:
    """The engine's own sending path (same client and concurrency, signing included) on
    in-memory deliveries, no database, no broker: requests/s and our CPU seconds per request."""
    from django.utils import timezone

    from apps.integrations_external.models import Event, WebhookDelivery, WebhookEndpoint
    from apps.integrations_external.pipeline import channels, engine

    channel = channels.get("webhook")
    endpoints = list(WebhookEndpoint.objects.filter(owner=user))
    event = Event(type="workflow.completed", occurred_at=timezone.now(), data={"x": 1})
    batch = [
        WebhookDelivery(
            endpoint=endpoints[i % len(endpoints)], event=event, payload=event.envelope()
        )
        for i in range(settings_batch())
    ]
    engine.send_all(channel, batch)  # warm the connections
    cpu_before = sum(os.times()[:2])
    started = time.perf_counter()
    sent = 0
    while sent < requests:
        engine.send_all(channel, batch)
        sent += len(batch)
    elapsed = time.perf_counter() - started
    return sent / elapsed, (sum(os.times()[:2]) - cpu_before) / sent


def measure_receiver_raw_capacity(
    port: int, requests: int = 30_000, connections: int = 32
) -> float:
    """The receiver's own capacity: a minimal asyncio load generator (keep-alive, no signing,
    no database) on `connections` connections. This is the figure the targets compare with."""
    import asyncio

    body = json.dumps({"id": "evt_x", "type": "workflow.completed", "data": {"x": 1}}).encode()
    head = (
        f"POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"webhook-id: raw\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    request = head + body
    per_connection = requests // connections

    async def one_connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(per_connection):
            writer.write(request)
            status = await reader.readline()
            if b" 200 " not in status:
                raise RuntimeError(f"receiver answered {status!r}")
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
        writer.close()

    async def run() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(one_connection() for _ in range(connections)))
        return per_connection * connections / (time.perf_counter() - started)

    return asyncio.run(run())


WRK_SCRIPT = """wrk.method = "POST"
wrk.body = '{"id":"evt_x","type":"workflow.completed","data":{"x":1}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["webhook-id"] = "msg_wrk"
"""


def measure_capacity_with_wrk(port: int, seconds: int = 5, connections: int = 32) -> float:
    """wrk (C, two threads) at `connections` keep-alive connections: requests/s."""
    script = VAR / "post.lua"
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/hook",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"the receiver answered errors under wrk:\n{out}")
    line = next(line for line in out.splitlines() if line.startswith("Requests/sec:"))
    return float(line.split()[1])


def load_generator() -> str:
    return "wrk" if shutil.which("wrk") else "asyncio"


def receiver_cpu_per_request(receiver: Receiver) -> tuple[float, float]:
    """The receiver's capacity (requests/s) and its CPU seconds per request, measured together
    with wrk where installed (make bench installs it as root), else our asyncio generator."""
    groups = {"receiver": [receiver.proc.pid]}
    before = cpu_snapshot(groups)
    counted = receiver.stats()["count"]
    if load_generator() == "wrk":
        capacity = measure_capacity_with_wrk(receiver.port)
    else:
        capacity = measure_receiver_raw_capacity(receiver.port)
    requests = receiver.stats()["count"] - counted
    used = cpu_used(before, cpu_snapshot(groups))["receiver"]
    return capacity, used / requests


def settings_batch() -> int:
    from django.conf import settings

    return settings.DELIVERY_BATCH_SIZE


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def end_to_end(
    receiver: Receiver, workers: list[Worker], user, project, *, fan_out_later: bool = False
) -> dict:
    """Publish EVENTS events and wait until every delivery succeeded.

    `fan_out_later=True` publishes as the platform's own signal receivers do (an execution
    finishing publishes `workflow.completed` this way): the event row is written in the
    caller's transaction and routing and the delivery rows are left to a worker. False is the
    custom events API's path: routing and the rows in the publisher's transaction."""
    from django.db import transaction

    from apps.integrations_external.models import Event, WebhookDelivery
    from apps.integrations_external.pipeline.events import publish

    total = EVENTS * ENDPOINTS
    receiver.reset()
    groups = {"workers": [w.proc.pid for w in workers], "receiver": [receiver.proc.pid]}
    cpu_before = cpu_snapshot(groups)
    started = time.time()
    event_ids = []
    for i in range(EVENTS):
        with transaction.atomic():
            event = publish(
                "workflow.completed",
                {"execution": {"id": i, "status": "completed"}, "previous_status": None},
                project=project,
                actor=user,
                fan_out_later=fan_out_later,
            )
        event_ids.append(event.pk)
    published = time.time()
    publisher_times = os.times()
    # By event: the endpoints may also hold a history of past deliveries (bench/scale.py).
    qs = WebhookDelivery.objects.filter(event_id__in=event_ids)
    # Every 0.25 s: the rate is read from the rows' completion times, not from when this
    # loop notices, and each COUNT takes a share of the cores the run is measuring.
    wait_for(
        lambda: qs.filter(status="success").count() >= total,
        DEADLINE_SECONDS,
        "deliveries",
        interval=0.25,
    )
    cpu = cpu_used(cpu_before, cpu_snapshot(groups))
    # This process's CPU after publishing is the bench watching (a COUNT every 0.25 s), not the
    # pipeline's work: the publisher's share ends when its last event is published.
    publisher = publisher_times.user + publisher_times.system - cpu_before["publisher"]
    watching = cpu["publisher"] - publisher
    cpu["publisher"] = publisher
    rows = list(qs.values_list("event_id", "completed_at", "attempt_number", "status"))
    occurred = dict(Event.objects.filter(pk__in=event_ids).values_list("id", "occurred_at"))
    latencies = [(done - occurred[ev]).total_seconds() for ev, done, _, _ in rows]
    last = max(done for _, done, _, _ in rows).timestamp()
    stats = receiver.stats()
    return {
        "deliveries": len(rows),
        "succeeded": sum(1 for r in rows if r[3] == "success"),
        "attempts": sum(r[2] for r in rows),
        "received": stats["count"],
        "unique": stats["unique"],
        "seconds": last - started,
        "publish_seconds": published - started,
        "rate": len(rows) / (last - started),
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "cpu": cpu,
        "watching": watching,
    }


def fan_out_time(receiver: Receiver) -> tuple[float, int]:
    from django.db import transaction

    from apps.integrations_external.models import WebhookDelivery
    from apps.integrations_external.pipeline.events import publish

    user, project = make_owner("fanout", FANOUT, receiver.url)
    timings = []
    for i in range(3):
        started = time.perf_counter()
        with transaction.atomic():
            event = publish("workflow.completed", {"run": i}, project=project, actor=user)
        timings.append(time.perf_counter() - started)
    count = WebhookDelivery.objects.filter(event=event).count()
    # Let the workers send these before anything else is timed on the same two cores.
    done = WebhookDelivery.objects.filter(endpoint__owner=user, status="success")
    wait_for(lambda: done.count() >= 3 * count, DEADLINE_SECONDS, "fan-out deliveries")
    return statistics.median(timings), count


def api_call_times(slow_url: str) -> tuple[float, float]:
    from django.test import Client

    from apps.accounts.services import create_token
    from apps.workflows.models import Workflow, WorkflowExecution

    def timed(name: str, endpoints: int) -> float:
        user, project = make_owner(name, endpoints, slow_url)
        key = create_token(user=user, name="bench")[1]
        workflow = Workflow.objects.create(project=project, name="bench", created_by=user)
        client = Client(HTTP_AUTHORIZATION=f"Token {key}")
        times = []
        for _ in range(API_SAMPLES):
            execution = WorkflowExecution.objects.create(
                workflow=workflow, status="running", triggered_by=user
            )
            started = time.perf_counter()
            response = client.post(f"/api/v1/workflow-executions/{execution.pk}/complete/")
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content
        return statistics.median(times)

    none = timed("apinone", 0)
    slow = timed("apislow", 100)
    return none, slow


def contiguous_endpoint_ids(user) -> list[int]:
    """`user`'s endpoint ids, which the history generators spread rows over by arithmetic."""
    from apps.integrations_external.models import WebhookEndpoint

    ids = sorted(WebhookEndpoint.objects.filter(owner=user).values_list("pk", flat=True))
    assert ids == list(range(ids[0], ids[0] + len(ids))), "endpoint ids are not contiguous"
    return ids


def add_history(rows: int, user) -> float:
    """Insert `rows` delivered deliveries of `user`'s endpoints (a success is kept on its row,
    with no attempt row), in the database itself (a series, no Python per row); returns the
    seconds it took."""
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.integrations_external.models import Event, WebhookDelivery

    ids = contiguous_endpoint_ids(user)
    started = time.perf_counter()
    with transaction.atomic():
        event = Event.objects.create(type="history", occurred_at=timezone.now(), actor=user)
        if connection.vendor == "postgresql":
            series = "SELECT g FROM generate_series(1, %s) AS g"
            ago = "now() - (g || ' seconds')::interval"
        else:
            series = (
                "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < %s) "
                "SELECT g FROM s"
            )
            ago = "datetime('now', '-' || g || ' seconds')"
        deliveries = WebhookDelivery._meta.db_table
        with connection.cursor() as cursor:
            # Table names come from the models; the rest are literals and parameters.
            cursor.execute(
                f"INSERT INTO {deliveries} (event_id, event_type, payload, status, "
                "attempt_number, next_attempt_at, locked_until, lease_token, response_status, "
                "response_body, error_message, duration_ms, created_at, updated_at, completed_at, "
                "endpoint_id, webhook_id, redelivery_of_id, request_headers) "
                f"SELECT %s, 'history', '{{}}', 'success', 1, NULL, NULL, '', 200, '', '', 5, "
                f"{ago}, {ago}, {ago}, %s + g %% %s, 'msg_hist_' || g, NULL, '{{}}' "
                f"FROM ({series}) AS t",
                [event.pk, ids[0], len(ids), rows],
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def print_run(name: str, e2e: dict, capacity: float) -> float:
    """Print one end-to-end run; return the pipeline's CPU seconds per delivery."""
    total = EVENTS * ENDPOINTS
    print(
        f"end to end, {name}: {e2e['deliveries']:,} deliveries ({EVENTS} events × {ENDPOINTS} "
        f"endpoints) in {e2e['seconds']:.2f} s = {e2e['rate']:,.0f} deliveries/s "
        f"({e2e['rate'] / capacity:.0%} of its capacity); events published in "
        f"{e2e['publish_seconds']:.2f} s"
    )
    print(
        f"  succeeded {e2e['succeeded']:,}/{total:,}, attempts {e2e['attempts']:,}, "
        f"requests received {e2e['received']:,} ({e2e['unique']:,} distinct webhook-ids); "
        f"event-to-delivery latency p50 {e2e['p50'] * 1000:.0f} ms, p99 {e2e['p99'] * 1000:.0f} ms"
    )
    cores = os.cpu_count() or 1
    ours = {k: v for k, v in e2e["cpu"].items() if k != "receiver"}
    per_delivery = sum(ours.values()) / total
    receiver_per_request = e2e["cpu"]["receiver"] / max(e2e["received"], 1)
    ceiling = cores / (per_delivery + receiver_per_request)
    budget = cores / (capacity / 2) - receiver_per_request
    print(
        f"  CPU per delivery: {per_delivery * 1e6:.0f} µs in the pipeline ("
        + ", ".join(f"{k} {v / total * 1e6:.0f}" for k, v in ours.items())
        + f") + {receiver_per_request * 1e6:.0f} µs in the receiver; at that cost {cores} cores "
        f"carry at most {ceiling:,.0f} deliveries/s ({ceiling / capacity:.0%} of its capacity); "
        f"half its capacity needs at most {budget * 1e6:.0f} µs of pipeline CPU per delivery"
    )
    print(
        f"  (not counted: the bench's own polling for completion every 0.25 s, "
        f"{e2e['watching'] / total * 1e6:.0f} µs per delivery in this process)"
    )
    return per_delivery


def main() -> None:
    env = prepare_environment()
    setup_django()
    from django.db import connection

    receiver = Receiver("uvicorn")
    raw = Receiver("raw")
    workers: list[Worker] = []
    try:
        user, project = make_owner("bench", ENDPOINTS, receiver.url)
        raw_user, raw_project = make_owner("benchraw", ENDPOINTS, raw.url)
        capacity, receiver_cpu = receiver_cpu_per_request(receiver)
        standard = Receiver("uvicorn-standard")
        try:
            standard_capacity, standard_cpu = receiver_cpu_per_request(standard)
        finally:
            standard.stop()
        raw_capacity, raw_cpu = receiver_cpu_per_request(raw)
        sending_rate, sending_cpu = measure_sending_path(raw_user)
        receiver.reset()
        raw.reset()
        workers = [Worker(env, i) for i in range(WORKERS)]
        for w in workers:
            w.wait_ready()
        e2e = end_to_end(receiver, workers, user, project, fan_out_later=True)
        e2e_inline = end_to_end(receiver, workers, user, project)
        e2e_raw = end_to_end(raw, workers, raw_user, raw_project, fan_out_later=True)
        fanout_seconds, fanout_count = fan_out_time(raw)
        api_none, api_slow = api_call_times(raw.slow_url)
    finally:
        for w in workers:
            w.stop()
        receiver.stop()
        raw.stop()

    total = EVENTS * ENDPOINTS
    postgres = connection.vendor == "postgresql"
    print(
        f"machine: {os.cpu_count()} CPUs; database: {connection.vendor}; broker: "
        f"{'redis' if env.get('CELERY_BROKER_URL') else 'filesystem (embedded)'}; "
        f"workers: {WORKERS} × concurrency {WORKER_CONCURRENCY}; load generator: "
        f"{load_generator()}, 32 keep-alive connections"
    )
    print(
        f"receiver capacity: uvicorn + minimal ASGI app (h11, asyncio: `pip install uvicorn`) "
        f"{capacity:,.0f} requests/s ({receiver_cpu * 1e6:.1f} µs of its CPU per request); "
        f"the same with uvicorn[standard] (httptools, uvloop) {standard_capacity:,.0f} "
        f"requests/s ({standard_cpu * 1e6:.1f} µs); raw asyncio server "
        f"{raw_capacity:,.0f} requests/s ({raw_cpu * 1e6:.1f} µs)"
    )
    print(
        f"our sending path alone (libcurl multi + signing, no database): "
        f"{sending_rate:,.0f} requests/s, {sending_cpu * 1e6:.1f} µs of our CPU per request"
    )
    per_delivery = print_run(
        "uvicorn receiver, published as the platform publishes (fan-out in a worker)",
        e2e,
        capacity,
    )
    print(
        f"  (that rate is {e2e['rate'] / standard_capacity:.0%} of uvicorn[standard]'s "
        f"capacity, the faster yardstick, not a target)"
    )
    inline_per_delivery = print_run(
        "uvicorn receiver, fan-out inline (the custom events API's path)", e2e_inline, capacity
    )
    print_run("raw asyncio receiver, fan-out in a worker", e2e_raw, raw_capacity)
    print(
        f"fan-out: one event to {fanout_count:,} endpoints recorded in "
        f"{fanout_seconds * 1000:.0f} ms (median of 3)"
    )
    print(
        f"workflow-complete API call: {api_none * 1000:.1f} ms with no endpoints, "
        f"{api_slow * 1000:.1f} ms with 100 slow (2 s) endpoints (median of {API_SAMPLES})"
    )
    cpu_target = 200e-6 if postgres else 150e-6
    checks = {
        ">= 50 % of the uvicorn receiver's capacity, fan-out in a worker": e2e["rate"]
        >= capacity / 2,
        ">= 50 % of the uvicorn receiver's capacity, fan-out inline": e2e_inline["rate"]
        >= capacity / 2,
        f"CPU per delivery <= {cpu_target * 1e6:.0f} µs, both paths": max(
            per_delivery, inline_per_delivery
        )
        <= cpu_target,
        "every delivery succeeded once": all(
            r["succeeded"] == total and r["unique"] == total for r in (e2e, e2e_inline, e2e_raw)
        ),
        "API no slower with slow endpoints": api_slow <= api_none * 1.5 + 0.005,
    }
    if postgres:
        checks["fan-out of 1,000 <= 100 ms"] = fanout_seconds <= 0.1
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'MISSED'}] {name}")


if __name__ == "__main__":
    main()
