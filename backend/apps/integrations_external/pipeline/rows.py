"""Row writes on the delivery path, each batch as one prepared statement sent with executemany.

A single round of the driver per batch: psycopg pipelines it, sqlite3 loops in C. Django's
`bulk_create` and `bulk_update` compile SQL for every value of every row instead (a CASE WHEN
per field and row for updates), and on the delivery path that compiling cost more than
everything else in a batch (measured in docs/delivery.md). Values still go through each field's
`get_db_prep_save`, so encryption, JSON and time zones are handled as the ORM would.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models, router


def _connection(model: type[models.Model]):
    return connections[router.db_for_write(model)]


def _column(model: type[models.Model], name: str) -> models.Field:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):  # a reverse relation has no column to update
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


def insert_rows(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """INSERT `objs` (their primary keys are not read back). Fields' defaults and `auto_now*`
    apply as in `save()`; no signals are sent, as with `bulk_create`."""
    if not objs:
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if f is not meta.auto_field]
    connection = _connection(model)
    quote = connection.ops.quote_name
    # Table and column names come from the model, never from input.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    rows = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def update_rows(model: type[models.Model], objs: Sequence[models.Model], names: list[str]) -> None:
    """UPDATE the fields `names` of `objs`, one prepared statement per row keyed by pk."""
    if not objs:
        return
    meta = model._meta
    fields = [_column(model, name) for name in names]
    connection = _connection(model)
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608
        quote(meta.db_table),
        ", ".join(f"{quote(f.column)} = %s" for f in fields),
        quote(meta.pk.column),
    )
    columns = [_prepared(f, [getattr(obj, f.attname) for obj in objs], connection) for f in fields]
    rows = [[*values, obj.pk] for obj, *values in zip(objs, *columns, strict=True)]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _prepared(field: models.Field, values: list, connection) -> list:
    """`field.get_db_prep_save` of each value, computed once for a run of the very same
    object: a batch's rows share most of their values (its one `now`, the same status, empty
    texts), and preparing them was most of the cost of writing a batch."""
    out = []
    last: object = _UNSET
    prepared = None
    for value in values:
        if value is not last:
            last, prepared = value, field.get_db_prep_save(value, connection)
        out.append(prepared)
    return out


_UNSET = object()
