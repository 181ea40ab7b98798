"""The claim's statements in plain SQL: which offered deliveries are due, the lease, the
deliveries held back, the live leases per target, and the winners read back with their targets.

Why not the ORM here: compiling a queryset (the due filter's ORs, an IN list, a join) took
about 0.5 ms per statement on this machine, and a claimed chunk runs five or six of them: some
30 µs per delivery, about what sending one costs (docs/delivery.md, "Cost per delivery"). These
statements are few and fixed, so each is written out once per table; values still go through
the backend's own adaptation (time zones, SQLite's text dates) and rows through the fields'
converters (`Manager.raw`), as with the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connections, models, router

from apps.integrations_external.pipeline.models import OPEN_STATUSES, DeliveryBase

Model = type[DeliveryBase]


def _connection(model: type[Any]):
    return connections[router.db_for_write(model)]


def _names(model: type[Any]) -> tuple[str, str]:
    """The quoted table and target column of a delivery model."""
    quote = _connection(model).ops.quote_name
    column = model._meta.get_field(model.target_field).column
    return quote(model._meta.db_table), quote(column)


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _due(table: str = "") -> str:
    """The engine's `due_q` as SQL: open, due, and not leased (or the lease ran out). Its
    parameters (`_due_params`): the statuses, then `now` twice."""
    at = f"{table}." if table else ""
    statuses = ", ".join(["%s"] * len(OPEN_STATUSES))
    return (
        f"{at}status IN ({statuses})"
        f" AND ({at}next_attempt_at IS NULL OR {at}next_attempt_at <= %s)"
        f" AND ({at}locked_until IS NULL OR {at}locked_until < %s)"
    )


_DUE = _due()


def _due_params(model: type[Any], now: datetime) -> list[Any]:
    at = _connection(model).ops.adapt_datetimefield_value(now)
    return [str(s) for s in OPEN_STATUSES] + [at, at]


def due_with_limits(
    model: Model, ids: Sequence[int], now: datetime, limit_fields: tuple[str, str]
) -> list[tuple[int, int, Any, Any]]:
    """(id, target id, the target's two `limit_fields`) of those of `ids` that are due and
    free, by id: in one statement, what the limited claim decides on."""
    if not ids:
        return []
    table, target = _names(model)
    link: Any = model._meta.get_field(model.target_field)
    meta = link.related_model._meta
    quote = _connection(model).ops.quote_name
    most, rate = (quote(meta.get_field(name).column) for name in limit_fields)
    sql = (
        f"SELECT d.id, d.{target}, t.{most}, t.{rate}"  # noqa: S608 - names from the models
        f" FROM {table} d JOIN {quote(meta.db_table)} t ON t.{quote(meta.pk.column)} = d.{target}"
        f" WHERE d.id IN ({_placeholders(ids)}) AND {_due('d')} ORDER BY d.id"
    )
    with _connection(model).cursor() as cursor:
        cursor.execute(sql, [*ids, *_due_params(model, now)])
        return [
            (pk, target_id, most_value, rate_value)
            for pk, target_id, most_value, rate_value in cursor.fetchall()
        ]


def _update_due(model: Model, ids: Sequence[int], now: datetime, values: dict[str, Any]) -> int:
    """Set `values` (column: value) on those of `ids` still due and free; how many it set."""
    if not ids:
        return 0
    table, _ = _names(model)
    adapt = _connection(model).ops.adapt_datetimefield_value
    columns = ", ".join(f"{column} = %s" for column in values)
    sql = (
        f"UPDATE {table} SET {columns}"  # noqa: S608 - names from the model and this module
        f" WHERE id IN ({_placeholders(ids)}) AND {_DUE}"
    )
    params = [adapt(v) if isinstance(v, datetime) else v for v in values.values()]
    with _connection(model).cursor() as cursor:
        cursor.execute(sql, [*params, *ids, *_due_params(model, now)])
        return cursor.rowcount


def lease(model: Model, ids: Sequence[int], now: datetime, until: datetime, token: str) -> int:
    """Lease those of `ids` still due and free to `token` until `until`; how many it took."""
    return _update_due(model, ids, now, {"locked_until": until, "lease_token": token})


def postpone(model: Model, ids: Sequence[int], now: datetime, at: datetime) -> None:
    """Make those of `ids` still due and free due again at `at` (no attempt spent)."""
    _update_due(model, ids, now, {"next_attempt_at": at, "updated_at": now})


def leases_by_target(model: Model, target_ids: Sequence[int], now: datetime) -> dict[int, int]:
    """Each target's deliveries holding a live lease (read along the partial index of leased
    rows, whatever the history's size)."""
    if not target_ids:
        return {}
    table, target = _names(model)
    at = _connection(model).ops.adapt_datetimefield_value(now)
    sql = (
        f"SELECT {target}, COUNT(*) FROM {table}"  # noqa: S608
        f" WHERE {target} IN ({_placeholders(target_ids)}) AND locked_until > %s"
        f" GROUP BY {target}"
    )
    with _connection(model).cursor() as cursor:
        cursor.execute(sql, [*target_ids, at])
        return dict(cursor.fetchall())


def read_leased(
    model: Model, ids: Sequence[int], token: str, target_fields: Sequence[str] | None
) -> list[Any]:
    """Those of `ids` the claim with `token` won, by id, each with its target attached (every
    transport needs it), read once per distinct target. `target_fields`: the target's fields
    sending reads (None: all); the others load on first use, one query each.

    By primary key, the token picking the winners: `lease_token` has no index, and a scan of
    it grows with the whole history (issue 10)."""
    if not ids:
        return []
    table, _ = _names(model)
    sql = (
        f"SELECT * FROM {table}"  # noqa: S608
        f" WHERE id IN ({_placeholders(ids)}) AND lease_token = %s ORDER BY id"
    )
    deliveries = list(model.objects.raw(sql, [*ids, token]))
    if not deliveries:
        return []
    link = model._meta.get_field(model.target_field)
    if not isinstance(link, models.ForeignKey):
        raise TypeError(f"{model.__name__}.{model.target_field} is not a foreign key")
    target_model: Any = link.related_model
    quote = _connection(target_model).ops.quote_name
    target_ids = sorted({getattr(d, link.attname) for d in deliveries})
    meta = target_model._meta
    columns = "*"
    if target_fields is not None:
        wanted = [meta.pk.name, *target_fields]
        columns = ", ".join(quote(meta.get_field(name).column) for name in wanted)
    target_sql = (
        f"SELECT {columns} FROM {quote(meta.db_table)}"  # noqa: S608
        f" WHERE {quote(meta.pk.column)} IN ({_placeholders(target_ids)})"
    )
    targets = {t.pk: t for t in target_model.objects.raw(target_sql, target_ids)}
    # A target deleted since the lease takes its deliveries with it (CASCADE): skip them, as
    # the join of the ORM's select_related did.
    found = [d for d in deliveries if getattr(d, link.attname) in targets]
    for delivery in found:
        link.set_cached_value(delivery, targets[getattr(delivery, link.attname)])
    return found
