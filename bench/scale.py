"""`make bench-scale`: what a delivery costs once the tables are full (issue 14, "Cost as the
tables grow"), on PostgreSQL.

Seeds, in SQL (generate_series, no Python per row), 1,000,000 finished deliveries with their
attempts and 100,000 due ones (BENCH_FINISHED, BENCH_DUE), then prints each figure with its
target and met/MISSED, and the key lines of `EXPLAIN (ANALYZE, BUFFERS)` of every timed query:

  1. end to end: 10,000 deliveries (100 events × 100 endpoints) through real Celery workers to
     the uvicorn receiver, on empty tables and again on the full ones (≥ 90 % of the empty rate).
     The 100,000 due deliveries sit in the tables during the run but are not sent: the bench runs
     no beat, so no sweeper hands them to the workers, exactly as between two sweeps. Sending them
     would make the run measure a 110,000-delivery backlog instead of the same 10,000 deliveries,
     and the ratio would compare different work; what they cost the run is their rows and index
     entries, which are there.
  2. a claim of 100 due deliveries (median of several, ≤ 10 ms);
  3. the sweeper's scan, `engine.overdue_ids` (≤ 50 ms), over the 100,000 overdue deliveries;
  4. every delivery-log list the portal and the API offer (≤ 100 ms, server time of the request);
  5. retention pruning with the retention set so that most of the history is old: every batch's
     time and the longest lock hold (≈ 1 s at most), measured around each batch's transaction.

DATABASE_URL must be PostgreSQL (the database is dropped and created); BENCH_BROKER_URL names a
Redis database for the broker (flushed). Everything stays on loopback and stops by itself.
"""

from __future__ import annotations

import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import run  # bench/run.py: environment, receivers, workers, the end-to-end run

FINISHED = int(os.environ.get("BENCH_FINISHED", "1000000"))
DUE = int(os.environ.get("BENCH_DUE", "100000"))
# The finished history spans FINISHED × HISTORY_STEP seconds (1 M × 3 s ≈ 35 days); pruning
# keeps PRUNE_KEEP_DAYS of it, so more than half of it is old.
HISTORY_STEP_SECONDS = 3
PRUNE_KEEP_DAYS = int(os.environ.get("BENCH_PRUNE_KEEP_DAYS", "15"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "7"))
# Rare on purpose: a status filter that matches few rows is the one that scans (SQLite: 558 ms).
FAILED_EVERY = 1000
# Half the history goes to one endpoint: its log is the longest a page has to look through.
EVENTS_PER_DELIVERIES = 100


def prefix_count(prefix: str) -> str:
    return "finished" if prefix == "hist" else "due"


def seed(user, *, finished: int, due: int) -> float:
    """`finished` delivered (or, one in FAILED_EVERY, failed) deliveries of `user`'s endpoints
    over the last weeks (the failed ones with their attempt row; a success is kept on its
    delivery's row alone), and `due` open ones (pending or retrying, due for a while and not
    leased), with their events; returns the seconds it took."""
    from django.db import connection, transaction

    from apps.integrations_external.models import (
        Event,
        WebhookDelivery,
        WebhookDeliveryAttempt,
    )

    ids = run.contiguous_endpoint_ids(user)
    first, others = ids[0], len(ids) - 1
    events = Event._meta.db_table
    deliveries = WebhookDelivery._meta.db_table
    attempts = WebhookDeliveryAttempt._meta.db_table
    started = time.perf_counter()
    # Half the rows to the first endpoint, the rest spread over the others.
    endpoint = f"CASE WHEN g %% 2 = 0 THEN {first} ELSE {first + 1} + (g / 2) %% {others} END"
    event_type = "CASE WHEN g %% 10 = 0 THEN 'command.executed' ELSE 'workflow.completed' END"
    columns = (
        "event_id, event_type, payload, status, attempt_number, next_attempt_at, locked_until, "
        "lease_token, response_status, response_body, error_message, duration_ms, created_at, "
        "updated_at, completed_at, endpoint_id, webhook_id, redelivery_of_id, request_headers"
    )
    # Oldest first, as a table fills: ids grow with time (prune's scan meets the old rows first).
    finished_at = f"now() - (%(finished)s + 1 - g) * interval '{HISTORY_STEP_SECONDS} seconds'"
    due_at = "now() - (%(due)s + 1 - g) * interval '500 milliseconds'"
    payload = (
        "json_build_object('id', 'evt_' || g, 'type', 'workflow.completed', 'data', "
        "json_build_object('execution', json_build_object('id', g)))::jsonb"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # Consistent by construction: no per-row foreign-key triggers at commit (they took
        # minutes for 2 M rows). Superuser only, as the bench's database owner is.
        cursor.execute("SET LOCAL session_replication_role = replica")
        # Table names and fragments come from this module; the numbers are parameters.
        for prefix, at in (("hist", finished_at), ("due", due_at)):
            # One event per EVENTS_PER_DELIVERIES deliveries, as old as the first of them.
            cursor.execute(
                f"INSERT INTO {events} (id, type, occurred_at, project_id, actor_id, data, "
                f"created_at, fanned_out_at) SELECT 'evt_{prefix}_' || (g / %(per)s), "
                "'workflow.completed', t, NULL, %(actor)s, '{}', t, t FROM (SELECT g, "
                f"{at} AS t FROM generate_series(1, %({prefix_count(prefix)})s) AS g "
                "WHERE g = 1 OR g %% %(per)s = 0) AS s",
                {"per": EVENTS_PER_DELIVERIES, "actor": user.pk, "finished": finished, "due": due},
            )
        cursor.execute(
            f"INSERT INTO {deliveries} ({columns}) SELECT "
            "'evt_hist_' || (g / %(per)s), " + event_type + f", {payload}, "
            f"CASE WHEN g %% {FAILED_EVERY} = 0 THEN 'failed' ELSE 'success' END, 1, NULL, NULL, "
            f"'', CASE WHEN g %% {FAILED_EVERY} = 0 THEN 500 ELSE 200 END, 'ok', '', 5, t, t, t, "
            f"{endpoint}, 'msg_hist_' || g, NULL, '{{}}' "
            f"FROM (SELECT g, {finished_at} AS t FROM generate_series(1, %(finished)s) AS g) AS s",
            {"per": EVENTS_PER_DELIVERIES, "finished": finished},
        )
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {deliveries}")
        (last_finished,) = cursor.fetchone()
        # Due: created in the last hours, half never tried (pending), half waiting for their
        # retry; every one due for longer than the sweeper's grace, none leased.
        cursor.execute(
            f"INSERT INTO {deliveries} ({columns}) SELECT "
            f"'evt_due_' || (g / %(per)s), 'workflow.completed', {payload}, "
            "CASE WHEN g %% 2 = 0 THEN 'pending' ELSE 'retrying' END, g %% 2, "
            "t + interval '1 second', NULL, '', CASE WHEN g %% 2 = 0 THEN NULL ELSE 503 END, "
            f"'', '', NULL, t, t, NULL, {endpoint}, 'msg_due_' || g, NULL, '{{}}' "
            f"FROM (SELECT g, {due_at} - interval '60 seconds' AS t "
            "FROM generate_series(1, %(due)s) AS g) AS s",
            {"per": EVENTS_PER_DELIVERIES, "due": due},
        )
        cursor.execute(
            f"INSERT INTO {attempts} (delivery_id, attempt_number, started_at, duration_ms, "
            "outcome, response_status, response_body, error_message, request_headers) "
            "SELECT id, attempt_number, created_at, 5, CASE status WHEN 'failed' THEN 'failed' "
            "ELSE 'retry' END, response_status, response_body, '', "
            f"'{{}}' FROM {deliveries} WHERE endpoint_id BETWEEN %s AND %s AND attempt_number > 0 "
            "AND status <> 'success'",
            [ids[0], ids[-1]],
        )
    assert last_finished
    # A table that has been live for weeks is vacuumed (autovacuum): visibility map and
    # statistics as in production, not as right after one huge insert.
    with connection.cursor() as cursor:
        for table in (events, deliveries, attempts):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


# --- plans ------------------------------------------------------------------------------------
def _plan_lines(node: dict[str, Any], depth: int = 0) -> list[str]:
    kind = node["Node Type"]
    if node.get("Operation") and kind == "ModifyTable":
        kind = node["Operation"]
    where = ""
    if node.get("Index Name"):
        where += f" using {node['Index Name']}"
    if node.get("Relation Name"):
        where += f" on {node['Relation Name']}"
    details = []
    for key in ("Index Cond", "Recheck Cond", "Filter", "Sort Key", "Join Filter"):
        if node.get(key):
            value = node[key]
            value = ", ".join(value) if isinstance(value, list) else value
            details.append(f"{key.lower()}: {value[:110]}")
    removed = node.get("Rows Removed by Filter")
    if removed:
        details.append(f"removed by filter {removed:,}")
    buffers = node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0)
    line = (
        f"{'  ' * depth}{kind}{where}: rows {node.get('Actual Rows', 0):,}"
        f"{' × ' + str(node['Actual Loops']) + ' loops' if node.get('Actual Loops', 1) > 1 else ''}"
        f", {node.get('Actual Total Time', 0):.2f} ms, {buffers:,} buffers"
    )
    lines = [line] + [f"{'  ' * depth}  ({d})" for d in details]
    for child in node.get("Plans", []):
        lines += _plan_lines(child, depth + 1)
    return lines


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back():
    """A transaction that is always rolled back: what runs in it changes nothing."""
    from django.db import transaction

    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def explain(statements: list[str]) -> list[list[str]]:
    """Key lines of EXPLAIN (ANALYZE, BUFFERS) of each statement, run one after the other in
    one transaction that is rolled back (an UPDATE or DELETE changes nothing)."""
    import json

    from django.db import connection

    plans = []
    with rolled_back(), connection.cursor() as cursor:
        for sql in statements:
            # The statements come from Django's own log of this run, parameters inlined.
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql.replace("%", "%%"))
            (plan,) = cursor.fetchone()
            if isinstance(plan, str):
                plan = json.loads(plan)
            lines = _plan_lines(plan[0]["Plan"])
            lines.append(f"execution {plan[0]['Execution Time']:.2f} ms")
            plans.append(lines)
    return plans


@contextmanager
def captured():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        yield context


def history_statements(context, tables: set[str]) -> list[str]:
    """The single statements of a captured call that read or change a history table."""
    found = []
    for query in context.captured_queries:
        sql = query["sql"]
        if sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")) and any(
            f'"{t}"' in sql for t in tables
        ):
            found.append(sql)
    return found


def median_ms(call: Callable[[int], Any], samples: int = SAMPLES) -> tuple[float, list[float]]:
    times = []
    for i in range(samples):
        started = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), times


def print_plans(statements: list[str], indent: str = "    ") -> None:
    for sql, lines in zip(statements, explain(statements), strict=True):
        print(f"{indent}plan of {sql[:100]}…")
        for line in lines:
            print(f"{indent}  {line}")


# --- the measurements -------------------------------------------------------------------------
class Checks:
    def __init__(self) -> None:
        self.rows: list[tuple[str, bool]] = []

    def add(self, name: str, ok: bool) -> str:
        self.rows.append((name, ok))
        return "met" if ok else "MISSED"


def measure_claim(checks: Checks, tables: set[str]) -> None:
    from django.db import connection

    from apps.integrations_external.models import WebhookDelivery, WebhookEndpoint
    from apps.integrations_external.pipeline import channels, engine

    channel = channels.get("webhook")
    due = list(
        WebhookDelivery.objects.filter(webhook_id__startswith="msg_due_")
        .order_by("pk")
        .values_list("pk", flat=True)[: 100 * (SAMPLES + 1)]
    )
    chunks = [due[i * 100 : (i + 1) * 100] for i in range(SAMPLES + 1)]
    claimed = []
    # Half of each chunk goes to one endpoint: with its default limit (10 in flight) a claim
    # would take 60 of 100. The figure is the claim of 100, so the endpoints get room for all
    # of them for this measure, and each sample's leases are released after it.
    limits = dict(WebhookEndpoint.objects.values_list("pk", "max_in_flight"))
    WebhookEndpoint.objects.update(max_in_flight=100)

    # Per claim: {statement kind: ms}, seen from the client.
    statements: list[dict[str, float]] = []

    def hook(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            kind = sql.lstrip()[:6].upper()
            spent = statements[-1]
            spent[kind] = spent.get(kind, 0.0) + (time.perf_counter() - started) * 1000

    def claim(i: int) -> None:
        statements.append({})
        with connection.execute_wrapper(hook):
            claimed.append(len(engine.claim(channel, chunks[i])))

    def release(i: int) -> None:
        WebhookDelivery.objects.filter(pk__in=chunks[i]).update(locked_until=None, lease_token="")

    times = []
    for i in range(SAMPLES):
        started = time.perf_counter()
        claim(i)
        times.append((time.perf_counter() - started) * 1000)
        release(i)
    median = statistics.median(times)
    update, select = (
        statistics.median(s.get(k, 0.0) for s in statements) for k in ("UPDATE", "SELECT")
    )
    ok = median <= 10 and all(n == 100 for n in claimed)
    print(
        f"claim of 100 due deliveries: median {median:.1f} ms of {SAMPLES} "
        f"({', '.join(f'{t:.1f}' for t in times)}), claimed {claimed[0]} each; target ≤ 10 ms: "
        f"{checks.add('claim of 100 ≤ 10 ms', ok)}"
    )
    print(
        f"  of which, seen from the client (medians): the UPDATE taking the lease and returning "
        f"the rows {update:.1f} ms, the SELECTs (due rows with their limits, the target locks, "
        f"live leases, the endpoints) {select:.1f} ms; the rest "
        f"({median - update - select:.1f} ms) is the transaction and Python (deciding, building "
        "100 deliveries and their endpoints)"
    )
    # The plans, on a chunk nobody claimed (EXPLAIN ANALYZE runs it, then it is rolled back).
    with rolled_back(), captured() as context:
        engine.claim(channel, chunks[-1])
    print_plans(history_statements(context, tables))
    for pk, most in limits.items():
        WebhookEndpoint.objects.filter(pk=pk).update(max_in_flight=most)


def measure_sweep(checks: Checks, tables: set[str]) -> None:
    from django.conf import settings

    from apps.integrations_external.pipeline import channels, engine

    channel = channels.get("webhook")
    grace = settings.DELIVERY_SWEEP_INTERVAL_SECONDS
    found = []
    median, times = median_ms(lambda _: found.append(len(engine.overdue_ids(channel, grace))))
    print(
        f"sweeper's scan (overdue_ids, webhook): median {median:.1f} ms of {SAMPLES} "
        f"({', '.join(f'{t:.1f}' for t in times)}), {found[0]:,} ids (its limit) of {DUE:,} "
        f"overdue; target ≤ 50 ms: {checks.add('sweeper scan ≤ 50 ms', median <= 50)}"
    )
    with captured() as context:
        engine.overdue_ids(channel, grace)
    print_plans(history_statements(context, tables))
    # The sweep looks at every channel: the others' tables are empty here, so their scans
    # cost nothing; the events' scan (fan-outs lost) is the same index range as ever.


def measure_lists(checks: Checks, tables: set[str], user, project) -> None:
    from django.test import Client

    from apps.integrations_external.models import WebhookDelivery, WebhookEndpoint
    from apps.integrations_external.pipeline import channels
    from apps.integrations_external.pipeline.delivery_log import deliveries_of, page_before

    big = WebhookEndpoint.objects.filter(owner=user).order_by("pk").first()
    assert big is not None
    portal = f"/projects/{project.pk}/integrations/webhook/{big.pk}/deliveries/"
    api = "/api/v1/integrations-external/"
    client = Client()
    client.force_login(user)
    second = page_before(deliveries_of(channels.get("webhook"), big), None).next_before
    failed = WebhookDelivery.objects.filter(endpoint=big, status="failed").first()
    assert failed is not None
    empty = WebhookEndpoint.objects.filter(owner=user).order_by("-pk").first()
    assert empty is not None
    WebhookDelivery.objects.filter(endpoint=empty).delete()

    def next_page(path: str) -> str:
        link = client.get(path).json()["next"]
        return link.replace("http://testserver", "")

    lists = [
        (
            "portal: an endpoint with no deliveries (the page's own cost)",
            f"/projects/{project.pk}/integrations/webhook/{empty.pk}/deliveries/",
        ),
        ("portal: log, first page", portal),
        ("portal: page 2 (?before= cursor)", f"{portal}?before={second}"),
        ("portal: status success", f"{portal}?status=success"),
        ("portal: status failed (rare, 0.1 %)", f"{portal}?status=failed"),
        ("portal: status pending (open)", f"{portal}?status=pending"),
        ("portal: status retrying (open)", f"{portal}?status=retrying"),
        ("portal: event type command.executed (10 %)", f"{portal}?event_type=command.executed"),
        ("portal: event type that matches none", f"{portal}?event_type=webhook.test"),
        (
            "portal: failed, page 2",
            f"{portal}?status=failed&before={failed.pk}",
        ),
        ("portal: the 24-hour chart (htmx)", f"{portal}chart/"),
        ("API: webhook-deliveries, all", f"{api}webhook-deliveries/"),
        ("API: webhook-deliveries, page 2 (?cursor=)", next_page(f"{api}webhook-deliveries/")),
        ("API: webhook-deliveries, status failed", f"{api}webhook-deliveries/?status=failed"),
        (
            "API: webhook-deliveries, status retrying",
            f"{api}webhook-deliveries/?status=retrying",
        ),
        (
            "API: webhook-deliveries, event type command.executed",
            f"{api}webhook-deliveries/?event_type=command.executed",
        ),
        ("API: webhook-deliveries, by endpoint", f"{api}webhook-deliveries/?endpoint={big.pk}"),
        (
            "API: webhook-deliveries, by endpoint and status failed",
            f"{api}webhook-deliveries/?endpoint={big.pk}&status=failed",
        ),
        ("API: webhook-deliveries, by event", f"{api}webhook-deliveries/?event=evt_hist_7"),
        (
            "API: webhook-deliveries, by webhook_id",
            f"{api}webhook-deliveries/?webhook_id=msg_hist_8",
        ),
        ("API: webhooks/{id}/deliveries/", f"{api}webhooks/{big.pk}/deliveries/"),
        (
            "API: webhooks/{id}/deliveries/?status=failed",
            f"{api}webhooks/{big.pk}/deliveries/?status=failed",
        ),
        (
            "API: webhooks/{id}/deliveries/?event_type=command.executed",
            f"{api}webhooks/{big.pk}/deliveries/?event_type=command.executed",
        ),
    ]
    print(
        f"delivery-log lists (server time of the request, median of {SAMPLES}; the endpoint "
        f"holds {WebhookDelivery.objects.filter(endpoint=big).count():,} deliveries, its owner "
        f"{WebhookDelivery.objects.filter(endpoint__owner=user).count():,}):"
    )
    plans = os.environ.get("BENCH_LIST_PLANS", "slow")  # "all", "slow" (2 per list) or "none"
    for name, path in lists:
        headers = {"HX-Request": "true"} if "chart" in path else {}

        def get(_: int, path: str = path, headers: dict = headers) -> None:
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.status_code)

        median, _ = median_ms(get)
        verdict = checks.add(f"{name} ≤ 100 ms", median <= 100)
        with captured() as context:
            get(0)
        sql_ms = sum(float(q["time"]) for q in context.captured_queries) * 1000
        print(
            f"  {name}: {median:.1f} ms; target ≤ 100 ms: {verdict} (one more request: "
            f"{len(context.captured_queries)} queries, {sql_ms:.1f} ms in SQL)"
        )
        if plans != "none":
            # The slowest two statements that touch the history (all of them with "all").
            found = sorted(
                (
                    q
                    for q in context.captured_queries
                    if q["sql"] in history_statements(context, tables)
                ),
                key=lambda q: -float(q["time"]),
            )
            print_plans([q["sql"] for q in found[: None if plans == "all" else 2]], "      ")


def measure_prune(checks: Checks) -> None:
    """The real task with the retention shortened; each batch's transaction timed through the
    connection's statement hook: the rows a batch deletes are locked from its first write
    until its commit, and each batch commits on its own."""
    from django.db import connection
    from django.test import override_settings

    from apps.integrations_external.models import WebhookDelivery
    from apps.integrations_external.pipeline import tasks

    spans: list[list[float]] = []  # per batch: [first write started, last statement ended]
    batch_starts: list[float] = []

    def hook(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            ended = time.perf_counter()
            head = sql.lstrip()[:6].upper()
            if head == "SELECT" and "LIMIT" in sql.upper() and "ORDER BY" in sql.upper():
                batch_starts.append(started)  # the next batch's ids
                spans.append([0.0, 0.0])
            elif head in ("DELETE", "UPDATE") and spans:
                if not spans[-1][0]:
                    spans[-1][0] = started
                spans[-1][1] = ended

    old = WebhookDelivery.objects.filter(
        status__in=("success", "failed"),
        created_at__lt=time_ago(days=PRUNE_KEEP_DAYS),
    ).count()
    started = time.perf_counter()
    with (
        override_settings(WEBHOOK_DELIVERY_RETENTION_DAYS=PRUNE_KEEP_DAYS),
        connection.execute_wrapper(hook),
    ):
        removed = tasks.prune_deliveries()
    total = time.perf_counter() - started
    batch_starts.append(started + total)
    batches = [b - a for a, b in itertools.pairwise(batch_starts)]
    holds = [(end - start) * 1000 for start, end in spans if start]
    longest = max(holds, default=0.0)
    print(
        f"retention pruning (prune_deliveries, retention {PRUNE_KEEP_DAYS} days: {old:,} "
        f"finished deliveries old): removed {removed:,} rows (deliveries + events; attempts "
        f"cascade) in {total:.1f} s, {len(holds)} batches of ≤ {tasks.PRUNE_BATCH:,}; "
        f"batch median {statistics.median(batches) * 1000:.0f} ms, longest "
        f"{max(batches) * 1000:.0f} ms; lock hold (first write to last statement of a batch) "
        f"median {statistics.median(holds or [0]):.0f} ms, longest {longest:.0f} ms; "
        f"target ≤ ~1 s: {checks.add('longest prune lock hold ≤ 1 s', longest <= 1000)}"
    )


def time_ago(*, days: float):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() - timedelta(days=days)


def prune_plans() -> None:
    """The statements of one pruning batch, planned on rows that are still old (rolled back)."""
    from apps.integrations_external.models import WebhookDelivery
    from apps.integrations_external.pipeline import tasks

    rows = WebhookDelivery.objects.filter(
        status__in=("success", "failed"), created_at__lt=time_ago(days=PRUNE_KEEP_DAYS)
    )
    with captured() as context:
        ids = list(rows.order_by("created_at").values_list("pk", flat=True)[: tasks.PRUNE_BATCH])
    print("  one batch's statements:")
    print_plans([q["sql"] for q in context.captured_queries], indent="    ")
    with rolled_back(), captured() as context:
        rows.filter(pk__in=ids).delete()
    statements = [
        q["sql"]
        for q in context.captured_queries
        if q["sql"].lstrip()[:6].upper() in ("SELECT", "DELETE", "UPDATE")
    ]
    print_plans(statements, indent="    ")


def main() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("bench/scale.py measures PostgreSQL: set DATABASE_URL (make bench-scale does)")
    env = run.prepare_environment()
    run.setup_django()
    from django.db import connection

    from apps.integrations_external.models import WebhookEndpoint
    from apps.integrations_external.pipeline import channels

    tables = set()
    for channel in channels.all_channels():
        tables.add(channel.delivery_model._meta.db_table)
        tables.add(channel.delivery_model.attempt_model()._meta.db_table)
    tables.add("integrations_external_event")

    began = time.perf_counter()
    checks = Checks()
    receiver = run.Receiver("uvicorn")
    workers: list[run.Worker] = []
    try:
        user, project = run.make_owner("bench", run.ENDPOINTS, receiver.url)
        history_user, history_project = run.make_owner("history", run.ENDPOINTS, receiver.url)
        # Project-scoped, as the portal's log pages are.
        WebhookEndpoint.objects.filter(owner=history_user).update(project=history_project)
        workers = [run.Worker(env, i) for i in range(run.WORKERS)]
        for w in workers:
            w.wait_ready()
        empty = run.end_to_end(receiver, workers, user, project)
        fill = seed(history_user, finished=FINISHED, due=DUE)
        loaded = run.end_to_end(receiver, workers, history_user, history_project)
    finally:
        for w in workers:
            w.stop()
        receiver.stop()

    total = run.EVENTS * run.ENDPOINTS
    print(
        f"machine: {os.cpu_count()} CPUs, shared (load average now "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}); PostgreSQL "
        f"{connection.cursor().connection.info.server_version}; broker: "
        f"{'redis' if env.get('CELERY_BROKER_URL') else 'filesystem'}; workers: "
        f"{run.WORKERS} × concurrency {run.WORKER_CONCURRENCY}"
    )
    print(
        f"seeded {FINISHED:,} finished deliveries (1 in {FAILED_EVERY} failed, with its "
        f"attempt row; a success is kept on its delivery) over "
        f"{FINISHED * HISTORY_STEP_SECONDS / 86400:.0f} days and {DUE:,} due ones "
        f"(pending/retrying, overdue, not leased), half of each on one endpoint, in {fill:.0f} s "
        "(VACUUM ANALYZE included)"
    )
    ratio = loaded["rate"] / empty["rate"]
    ok = ratio >= 0.9 and loaded["succeeded"] == total and empty["succeeded"] == total
    print(
        f"end to end ({total:,} deliveries, uvicorn receiver): empty tables "
        f"{empty['rate']:,.0f}/s (p50 {empty['p50'] * 1000:.0f} ms); full tables "
        f"{loaded['rate']:,.0f}/s (p50 {loaded['p50'] * 1000:.0f} ms), succeeded "
        f"{loaded['succeeded']:,}/{total:,}: {ratio:.0%} of the empty rate; target ≥ 90 %: "
        f"{checks.add('end to end with full tables ≥ 90 % of empty', ok)}"
    )
    measure_claim(checks, tables)
    measure_sweep(checks, tables)
    measure_lists(checks, tables, history_user, history_project)
    prune_plans()
    measure_prune(checks)
    print(
        f"bench-scale took {time.perf_counter() - began:.0f} s after set-up; load average now "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    for name, ok in checks.rows:
        print(f"  [{'ok' if ok else 'MISSED'}] {name}")


if __name__ == "__main__":
    main()
