"""The portal's delivery log over a long history (issue 14 asks ≤100 ms for delivery-log lists
at a million rows): each page's server time, median of a few requests, against what plain
page-number pagination (a COUNT and an OFFSET, as Django's Paginator does) costs on the same
rows.

    .venv/bin/python bench/delivery_log.py            # SQLite under var/; DATABASE_URL for PG
    LOG_ROWS=200000 .venv/bin/python bench/delivery_log.py
"""

from __future__ import annotations

import os
import statistics
import time

import run  # bench/run.py: environment, set-up and the history filler

ROWS = int(os.environ.get("LOG_ROWS", "1000000"))
SAMPLES = 5


def timed(call) -> float:
    times = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    run.prepare_environment()
    run.setup_django()
    from django.core.paginator import Paginator
    from django.db import connection
    from django.test import Client

    from apps.integrations_external.models import WebhookDelivery, WebhookEndpoint

    user, project = run.make_owner("log", 1, "https://hooks.example.com/in")
    WebhookEndpoint.objects.filter(owner=user).update(project=project)
    endpoint = WebhookEndpoint.objects.get(owner=user)
    fill = run.add_history(ROWS, user)
    client = Client()
    client.force_login(user)
    base = f"/projects/{project.pk}/integrations/webhook/{endpoint.pk}/deliveries/"
    rows = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")
    middle = rows.values_list("pk", flat=True)[ROWS // 2]
    one = rows.values_list("pk", flat=True)[10]

    def get(path: str):
        def call():
            response = client.get(path, headers={"HX-Request": "true"} if "chart" in path else {})
            assert response.status_code == 200, (path, response.status_code)

        return call

    print(
        f"database: {connection.vendor}; {ROWS:,} deliveries to one endpoint "
        f"(filled in {fill:.1f} s)"
    )
    for name, path in [
        ("log, first page", base),
        ("the 24-hour chart (its own request, htmx)", f"{base}chart/"),
        ("log, a page half-way down (?before=)", f"{base}?before={middle}"),
        ("log, filtered by event type", f"{base}?event_type=history"),
        ("log, filtered by status that matches none", f"{base}?status=failed"),
        ("a delivery's page", f"{base}{one}/"),
    ]:
        print(f"  {name}: {timed(get(path)):.1f} ms")
    if os.environ.get("LOG_PROFILE"):
        import cProfile
        import pstats

        for path in (base, f"{base}{one}/"):
            profile = cProfile.Profile()
            profile.runcall(get(path))
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    paginator = Paginator(rows, 25)
    print(
        "  before (page numbers): COUNT + first page "
        f"{timed(lambda: list(Paginator(rows, 25).page(1).object_list)):.1f} ms; page half-way "
        f"{timed(lambda: list(paginator.page(ROWS // 50).object_list)):.1f} ms (count cached)"
    )


if __name__ == "__main__":
    main()
