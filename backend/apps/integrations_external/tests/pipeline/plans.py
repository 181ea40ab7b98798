"""Query plans for the plan tests (PostgreSQL): each taken with `enable_seqscan` off, so the
planner leaves a table or an index unbounded only where no index condition can serve the query."""

from __future__ import annotations

import json

from django.db import connection


def plan_nodes(sql: str) -> list[dict]:
    """Every node of `sql`'s plan, the root first."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the tests run in a transaction
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        (plan,) = cursor.fetchone()
        cursor.execute("SET LOCAL enable_seqscan = on")
    if isinstance(plan, str):
        plan = json.loads(plan)
    nodes, stack = [], [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    return nodes
