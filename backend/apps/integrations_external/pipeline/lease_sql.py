"""The claim's statements in plain SQL: which offered deliveries are due (with their targets'
limits), the lease (returning the rows it took), the deliveries held back, the live leases per
target, and the won deliveries built with their targets.

Why not the ORM here: compiling a queryset (the due filter's ORs, an IN list, a join) took
about 0.5 ms per statement on this machine, and a claimed chunk runs five or six of them: some
30 µs per delivery, about what sending one costs (docs/delivery.md, "Cost per delivery"). These
statements are few and fixed, so each is written out once per table; values still go through
the backend's own adaptation (time zones, SQLite's text dates) and rows through the fields'
converters, as with the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import signals
from django.db.models.base import ModelState

from apps.integrations_external.pipeline.models import OPEN_STATUSES, DeliveryBase
from apps.integrations_external.pipeline.rows import among as _among
from apps.integrations_external.pipeline.rows import connection_for

Model = type[DeliveryBase]
_NOTHING = object()


def _names(model: type[Any]) -> tuple[str, str]:
    """The quoted table and target column of a delivery model."""
    quote = connection_for(model).ops.quote_name
    column = model._meta.get_field(model.target_field).column
    return quote(model._meta.db_table), quote(column)


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
    at = connection_for(model).ops.adapt_datetimefield_value(now)
    return [str(s) for s in OPEN_STATUSES] + [at, at]


def _target_columns(model: Model, limit_fields: tuple[str, str]) -> tuple[str, str, str, str]:
    """The quoted table of `model`'s targets, its key column and its two `limit_fields`."""
    link: Any = model._meta.get_field(model.target_field)
    meta = link.related_model._meta
    quote = connection_for(model).ops.quote_name
    most, rate = (quote(meta.get_field(name).column) for name in limit_fields)
    return quote(meta.db_table), quote(meta.pk.column), most, rate


def due_with_limits(
    model: Model, ids: Sequence[int], now: datetime, limit_fields: tuple[str, str]
) -> list[tuple[int, int, Any, Any]]:
    """(id, target id, the target's two `limit_fields`) of those of `ids` that are due and
    free, by id: in one statement, what the limited claim decides on."""
    if not ids:
        return []
    table, target = _names(model)
    targets, pk, most, rate = _target_columns(model, limit_fields)
    among, params = _among(model, "d.id", ids)
    sql = (
        f"SELECT d.id, d.{target}, t.{most}, t.{rate}"  # noqa: S608 - names from the models
        f" FROM {table} d JOIN {targets} t ON t.{pk} = d.{target}"
        f" WHERE {among} AND {_due('d')} ORDER BY d.id"
    )
    with connection_for(model).cursor() as cursor:
        cursor.execute(sql, [*params, *_due_params(model, now)])
        return cursor.fetchall()


def target_limits(
    model: Model, target_ids: Sequence[int], limit_fields: tuple[str, str]
) -> list[tuple[int, Any, Any]]:
    """(target id, its two `limit_fields`) of the targets `target_ids` of `model`'s deliveries."""
    if not target_ids:
        return []
    targets, pk, most, rate = _target_columns(model, limit_fields)
    link: Any = model._meta.get_field(model.target_field)
    among, params = _among(link.related_model, pk, target_ids)
    sql = f"SELECT {pk}, {most}, {rate} FROM {targets} WHERE {among}"  # noqa: S608
    with connection_for(model).cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


Rows = list[tuple[Any, ...]]


def _update_due(
    model: Model, ids: Sequence[int], now: datetime, values: dict[str, Any], returning: str = ""
) -> Rows:
    """Set `values` (column: value) on those of `ids` still due and free; with `returning`
    (a column list), the rows it set, as the UPDATE left them."""
    if not ids:
        return []
    table, _ = _names(model)
    adapt = connection_for(model).ops.adapt_datetimefield_value
    columns = ", ".join(f"{column} = %s" for column in values)
    tail = f" RETURNING {returning}" if returning else ""
    among, id_params = _among(model, "id", ids)
    sql = (
        f"UPDATE {table} SET {columns}"  # noqa: S608 - names from the model and this module
        f" WHERE {among} AND {_DUE}{tail}"
    )
    params = [adapt(v) if isinstance(v, datetime) else v for v in values.values()]
    with connection_for(model).cursor() as cursor:
        cursor.execute(sql, [*params, *id_params, *_due_params(model, now)])
        return cursor.fetchall() if returning else []


def _column_list(model: type[Any], fields: Sequence[models.Field]) -> str:
    quote = connection_for(model).ops.quote_name
    return ", ".join(quote(f.column) for f in fields)


def lease(model: Model, ids: Sequence[int], now: datetime, until: datetime, token: str) -> Rows:
    """Lease those of `ids` still due and free to `token` until `until`; their rows as leased
    (every column, in the model's field order), for `leased_deliveries`. The UPDATE returns
    them (PostgreSQL; SQLite 3.35+): no second statement reads them back."""
    fields = model._meta.concrete_fields
    rows = _update_due(
        model,
        ids,
        now,
        {"locked_until": until, "lease_token": token},
        returning=_column_list(model, fields),
    )
    at = fields.index(model._meta.pk)
    return sorted(rows, key=lambda row: row[at])


def leased_to(model: Model, event_id: Any, token: str, now: datetime) -> Rows:
    """The rows of `event_id` still leased to `token` (a fan-out wrote them leased), every
    column in the model's field order, by id: what `lease` returns, for `leased_deliveries`.
    A lease that ran out is left to whoever claims the delivery next."""
    fields = model._meta.concrete_fields
    table, _ = _names(model)
    quote = connection_for(model).ops.quote_name
    event, pk = quote(model._meta.get_field("event").column), quote(model._meta.pk.column)
    at = connection_for(model).ops.adapt_datetimefield_value(now)
    sql = (
        f"SELECT {_column_list(model, fields)} FROM {table}"  # noqa: S608 - names from the model
        f" WHERE {event} = %s AND lease_token = %s AND locked_until > %s ORDER BY {pk}"
    )
    with connection_for(model).cursor() as cursor:
        cursor.execute(sql, [event_id, token, at])
        return cursor.fetchall()


def postpone(model: Model, ids: Sequence[int], now: datetime, at: datetime) -> None:
    """Make those of `ids` still due and free due again at `at` (no attempt spent)."""
    _update_due(model, ids, now, {"next_attempt_at": at, "updated_at": now})


def leases_by_target(model: Model, target_ids: Sequence[int], now: datetime) -> dict[int, int]:
    """Each target's deliveries holding a live lease (read along the partial index of leased
    rows, whatever the history's size)."""
    if not target_ids:
        return {}
    table, target = _names(model)
    at = connection_for(model).ops.adapt_datetimefield_value(now)
    among, params = _among(model, target, target_ids)
    sql = (
        f"SELECT {target}, COUNT(*) FROM {table}"  # noqa: S608
        f" WHERE {among} AND locked_until > %s GROUP BY {target}"
    )
    with connection_for(model).cursor() as cursor:
        cursor.execute(sql, [*params, at])
        return dict(cursor.fetchall())


def _sqlite_datetime(value: Any, expression: Any, connection: Any) -> datetime | None:
    """SQLite's text dates as the ORM reads them with USE_TZ and the connection in UTC (what
    `convert_datetimefield_value` does through `parse_datetime`, its regular expression and
    `make_aware`): `fromisoformat` parses Django's stored form in C, about a fifth of the CPU.
    Six date columns per claimed delivery made this a tenth of the claim."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _converters(connection: Any, field: models.Field, column: Any) -> list[Any]:
    """The functions the ORM applies to `field`'s values read through `connection`."""
    functions = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
    plain_sqlite_dates = (
        connection.vendor == "sqlite"
        and settings.USE_TZ
        and connection.timezone == UTC
        and field.get_internal_type() == "DateTimeField"
    )
    if plain_sqlite_dates:
        slow = connection.ops.convert_datetimefield_value
        functions = [_sqlite_datetime if f == slow else f for f in functions]
    return functions


def _instances(model: type[Any], fields: Sequence[models.Field], rows: Rows) -> list[Any]:
    """Instances of `model` from rows of `fields` (in the model's field order), through the
    converters the ORM applies (SQLite's text dates, JSON, decryption); fields not read are
    deferred. What a queryset does per row, without compiling one.

    Instances are made as `Model.from_db` would, without `Model.__init__`: its signals and
    per-field `setattr` loop were half the cost of building a claimed delivery. That holds while
    nobody listens to the model's `pre_init`/`post_init` (ImageField, GenericForeignKey do):
    with a listener, `from_db` itself."""
    connection = connection_for(model)
    converters = []
    for i, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        functions = _converters(connection, field, column)
        if functions:
            converters.append((i, column, functions))
    names = [f.attname for f in fields]
    plain = not (signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model))
    alias = connection.alias
    out = []
    # Per converted column, the last raw value and what it became: consecutive rows holding
    # the same stored value (a claim's deliveries of one event: their payload, their dates)
    # share one converted object, decoded once. Read it; never change it in place.
    last: list[tuple[Any, Any]] = [(_NOTHING, None)] * len(converters)
    for row in rows:
        values = list(row)
        for n, (i, column, functions) in enumerate(converters):
            value = raw = values[i]
            seen, converted = last[n]
            if type(raw) is type(seen) and raw == seen:
                values[i] = converted
                continue
            for convert in functions:
                value = convert(value, column, connection)
            values[i] = value
            last[n] = (raw, value)
        if not plain:
            out.append(model.from_db(alias, names, values))
            continue
        instance = object.__new__(model)  # what Model.__new__ is (none of its own)
        state = ModelState()
        state.adding, state.db = False, alias
        # A field left out of `names` stays out of __dict__: deferred, loaded on first use.
        instance.__dict__.update(zip(names, values, strict=True), _state=state)
        out.append(instance)
    return out


def leased_deliveries(model: Model, rows: Rows, target_fields: Sequence[str] | None) -> list[Any]:
    """The deliveries of `lease`'s rows, by id, each with its target attached (every transport
    needs it), read once per distinct target. `target_fields`: the target's fields sending
    reads (None: all); the others load on first use, one query each."""
    if not rows:
        return []
    deliveries = _instances(model, model._meta.concrete_fields, rows)
    link = model._meta.get_field(model.target_field)
    if not isinstance(link, models.ForeignKey):
        raise TypeError(f"{model.__name__}.{model.target_field} is not a foreign key")
    target_model: Any = link.related_model
    meta = target_model._meta
    fields = [
        f
        for f in meta.concrete_fields
        if target_fields is None or f.primary_key or f.name in target_fields
    ]
    target_ids = sorted({getattr(d, link.attname) for d in deliveries})
    quote = connection_for(target_model).ops.quote_name
    among, params = _among(target_model, quote(meta.pk.column), target_ids)
    sql = (
        f"SELECT {_column_list(target_model, fields)} FROM {quote(meta.db_table)}"  # noqa: S608
        f" WHERE {among}"
    )
    with connection_for(target_model).cursor() as cursor:
        cursor.execute(sql, params)
        targets = {t.pk: t for t in _instances(target_model, fields, cursor.fetchall())}
    # A target deleted since the lease takes its deliveries with it (CASCADE): skip them, as
    # the join of the ORM's select_related did.
    found = [d for d in deliveries if getattr(d, link.attname) in targets]
    for delivery in found:
        link.set_cached_value(delivery, targets[getattr(delivery, link.attname)])
    return found
