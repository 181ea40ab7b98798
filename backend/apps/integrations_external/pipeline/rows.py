"""Row writes on the delivery path, each batch as one prepared statement sent with executemany,
or on PostgreSQL inserts as one COPY.

A single round of the driver per batch: psycopg pipelines it, sqlite3 loops in C. Django's
`bulk_create` and `bulk_update` compile SQL for every value of every row instead (a CASE WHEN
per field and row for updates), and on the delivery path that compiling cost more than
everything else in a batch (measured in docs/delivery.md). Values still go through each field's
`get_db_prep_save`, so encryption, JSON and time zones are handled as the ORM would.

Inserts and updates prepare a value once per column when consecutive rows hold the very same
object: a fan-out's rows share their event, envelope, status and timestamps, a recorded batch
its one `now`, statuses and empty texts, and preparing them (JSON-dumping one envelope a
thousand times) cost more than the statement itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import connections, models, router
from psycopg.types.json import Jsonb

_UNSET = object()


def connection_for(model: type[models.Model]):
    """The connection a model's rows are written through (the claim's statements use it too)."""
    return connections[router.db_for_write(model)]


def _column(model: type[models.Model], name: str) -> models.Field:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):  # a reverse relation has no column to update
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


def _insert_fields(model: type[models.Model]) -> list[models.Field]:
    meta = model._meta
    return [f for f in meta.concrete_fields if f is not meta.auto_field]


def _stamped(field: models.Field) -> bool:
    """Whether an insert sets the field to the clock (`auto_now`, `auto_now_add`)."""
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


# pre_save implementations that read the attribute unless the field is `_stamped`.
_PLAIN_PRE_SAVE = (
    models.Field.pre_save,
    models.DateField.pre_save,
    models.DateTimeField.pre_save,
    models.TimeField.pre_save,
)


# Fields whose `get_db_prep_save` gives back an int or a str of its exact type unchanged (on
# every backend: `int()`/`str()` of itself, `adapt_integerfield_value` the identity), so such a
# value is passed as it is: a fan-out's per-row keys and message ids took a field method chain
# each. Exact classes only: a subclass (an encrypted text field) may prepare differently.
_VERBATIM_TYPES: dict[type[models.Field], type] = {
    models.CharField: str,
    models.TextField: str,
    models.SlugField: str,
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.SmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.AutoField: int,
    models.BigAutoField: int,
    models.SmallAutoField: int,
}


def _verbatim_type(field: models.Field) -> type | None:
    """The Python type whose values `field` stores as they are, if there is one."""
    if type(field) is models.ForeignKey:
        field = field.target_field
    return _VERBATIM_TYPES.get(type(field))


def _prepared(field: models.Field, values: Sequence[Any], connection) -> list[Any]:
    """`get_db_prep_save` of each value, called once per run of the same object (and not at
    all for a value the field stores verbatim)."""
    verbatim = _verbatim_type(field)
    # On PostgreSQL an aware datetime is its own prepared value (Django's DateTimeField checks
    # it is aware, then `adapt_datetimefield_value` returns it). Each attempt's start time is its
    # own object: with the method chain, inserting attempts took 7.5 µs of client CPU per row,
    # 6.2 without it.
    aware = connection.vendor == "postgresql" and type(field) is models.DateTimeField
    out: list[Any] = []
    last: Any = _UNSET
    prepared: Any = None
    for value in values:
        if value is not last:
            last = value
            if (verbatim is not None and type(value) is verbatim) or (
                aware and type(value) is datetime and value.tzinfo is not None
            ):
                prepared = value
            else:
                prepared = field.get_db_prep_save(value, connection)
        out.append(prepared)
    return out


def _copy_text(values: list[Any]) -> list[Any]:
    """psycopg dumps a `Jsonb` parameter on every row; COPY takes the JSON text, dumped here
    once per object."""
    out: list[Any] = []
    last: Any = _UNSET
    text: Any = None
    for value in values:
        if value is not last:
            last = value
            text = (value.dumps or json.dumps)(value.obj) if isinstance(value, Jsonb) else value
        out.append(text)
    return out


def _insert(
    model: type[models.Model], fields: list[models.Field], columns: list[list[Any]]
) -> None:
    """INSERT the rows whose raw values are `columns` (one list per field, aligned)."""
    connection = connection_for(model)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(f.column) for f in fields)
    prepared = [_prepared(f, values, connection) for f, values in zip(fields, columns, strict=True)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: one stream instead of one INSERT executed per row; a 1,000-row fan-out
            # took less than half the time and a third of the client CPU (docs/delivery.md).
            texts = [
                _copy_text(values) if isinstance(f, models.JSONField) else values
                for f, values in zip(fields, prepared, strict=True)
            ]
            rows = zip(*texts, strict=True)
            # Table and column names come from the model, never from input. Django's cursor
            # does not wrap `copy`: its errors are translated here, as for execute (a unique
            # violation is an IntegrityError to the callers, whichever way the rows went).
            with (
                connection.wrap_database_errors,
                cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
        cursor.executemany(sql, list(zip(*prepared, strict=True)))


def insert_rows(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """INSERT `objs` (their primary keys are not read back). Fields' defaults and `auto_now*`
    apply as in `save()`, with one reading of the clock for the batch (set on every object);
    no signals are sent, as with `bulk_create`."""
    if not objs:
        return
    fields = _insert_fields(model)
    columns: list[list[Any]] = []
    for field in fields:
        if _stamped(field):
            stamp = field.pre_save(objs[0], True)
            for obj in objs[1:]:
                setattr(obj, field.attname, stamp)
            columns.append([stamp] * len(objs))
        elif type(field).pre_save in _PLAIN_PRE_SAVE:
            attname = field.attname
            columns.append([getattr(obj, attname) for obj in objs])
        else:
            columns.append([field.pre_save(obj, True) for obj in objs])
    _insert(model, fields, columns)


def insert_values(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT one row per mapping of field attname → value, without building model instances
    (primary keys are not read back). A field a mapping leaves out takes its default as in
    `Model()`, `auto_now*` fields one reading of the clock for the batch; no signals are sent.
    Give rows the same object for a shared value (an envelope): it is prepared once."""
    if not rows:
        return
    fields = _insert_fields(model)
    supplied = set().union(*rows)
    unknown = supplied - {f.attname for f in fields}
    if unknown:
        raise TypeError(f"{model.__name__} has no column {sorted(unknown)}")
    probe = model()  # auto_now* fields read the clock through their pre_save
    columns: list[list[Any]] = []
    for field in fields:
        attname = field.attname
        if _stamped(field):
            columns.append([field.pre_save(probe, True)] * len(rows))
        elif field.has_default() and callable(field.default):
            # Callable defaults (ids, fresh dicts) are computed per row, as `Model()` would.
            columns.append([r[attname] if attname in r else field.get_default() for r in rows])
        elif attname in supplied:
            default = field.get_default()
            columns.append([r.get(attname, default) for r in rows])
        else:
            columns.append([field.get_default()] * len(rows))
    _insert(model, fields, columns)


def update_rows(model: type[models.Model], objs: Sequence[models.Model], names: list[str]) -> None:
    """UPDATE the fields `names` of `objs`, each row to its own values, keyed by pk.

    PostgreSQL: one statement joining the table to the new values, sent as one JSON array of
    rows (parsed once, as jsonb), whose text is the same for any count. One UPDATE per row,
    even prepared and pipelined, paid the executor's start and end once per row: half of the
    server's CPU for the update (docs/delivery.md, "One UPDATE per recorded chunk"). JSON
    rather than an array per column: psycopg dumps a list item by item in Python, `json` in C.
    SQLite, in process and with its statement prepared once: one UPDATE per row."""
    if not objs:
        return
    meta = model._meta
    fields = [_column(model, name) for name in names]
    connection = connection_for(model)
    quote = connection.ops.quote_name
    columns = [_prepared(f, [getattr(obj, f.attname) for obj in objs], connection) for f in fields]
    if connection.vendor == "postgresql":
        _update_from_json(model, objs, fields, columns)
        return
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608
        quote(meta.db_table),
        ", ".join(f"{quote(f.column)} = %s" for f in fields),
        quote(meta.pk.column),
    )
    rows = [[*values, obj.pk] for obj, *values in zip(objs, *columns, strict=True)]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _update_from_json(
    model: type[models.Model],
    objs: Sequence[models.Model],
    fields: list[models.Field],
    columns: list[list[Any]],
) -> None:
    """update_rows on PostgreSQL: element 0 of each row is its pk, element i its field i's
    value, read back as text and cast to the column's type (a JSON field's as JSON)."""
    meta = model._meta
    connection = connection_for(model)
    quote = connection.ops.quote_name
    assignments = []
    sent: list[list[Any]] = []
    for i, (f, values) in enumerate(zip(fields, columns, strict=True), 1):
        if isinstance(f, models.JSONField):
            # A document (psycopg's Jsonb wrapper) goes as [document], SQL NULL as null: `-> 0`
            # then gives the document, JSON null included, or NULL.
            sent.append([[v.obj] if isinstance(v, Jsonb) else v for v in values])
            assignments.append(f"{quote(f.column)} = v.r -> {i} -> 0")
        else:
            sent.append(values)
            assignments.append(f"{quote(f.column)} = (v.r ->> {i})::{f.db_type(connection)}")
    pk, pk_type = quote(meta.pk.column), meta.pk.db_type(connection)
    # The keys bound the table's side too: the row count of jsonb_array_elements is unknown to
    # the planner, which on a small table would read all of it to hash-join the values.
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {', '.join(assignments)}"  # noqa: S608 - names from the model
        f" FROM jsonb_array_elements(%s::jsonb) AS v(r)"
        f" WHERE t.{pk} = ANY(%s::{pk_type}[]) AND t.{pk} = (v.r ->> 0)::{pk_type}"
    )
    pks = [o.pk for o in objs]
    # Times (and any other value json cannot encode) by str(): PostgreSQL's input forms.
    document = json.dumps(list(zip(pks, *sent, strict=True)), default=str)
    with connection.cursor() as cursor:
        cursor.execute(sql, [document, int_array(pks)])


def among(model: type[models.Model], column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """SQL for "`column` is one of `values`", and its parameters. PostgreSQL takes one array
    (`= ANY(%s)`): the statement's text stays the same whatever the count, so psycopg converts
    it once instead of parsing a new IN list every time. Elsewhere an IN list."""
    if connection_for(model).vendor == "postgresql":
        if all(type(v) is int for v in values):
            return f"{column} = ANY(%s::bigint[])", [int_array(values)]
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def int_array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers, for a `%s::bigint[]` parameter: psycopg dumps a
    list item by item in Python (a statement with 100 keys: 61 µs of client CPU as a list, 25 µs
    as this text, round trip included)."""
    return "{" + ",".join(map(str, map(int, values))) + "}"


def update_by_pk(
    model: type[models.Model],
    pks: Sequence[Any],
    *,
    values: Mapping[str, Any] | None = None,
    add: Mapping[str, int] | None = None,
) -> None:
    """One UPDATE of the rows `pks`: fields set to `values` (through their `get_db_prep_save`)
    and integer fields increased by `add`, atomically in the statement (as F() + n would), in
    primary key order. What `filter(pk__in=…).update(…)` does, without compiling a queryset
    (about 1 ms with F() expressions and a list of a hundred keys, per recorded batch)."""
    if not pks:
        return
    connection = connection_for(model)
    quote = connection.ops.quote_name
    assignments: list[str] = []
    params: list[Any] = []
    for name, value in (values or {}).items():
        field = _column(model, name)
        assignments.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    for name, amount in (add or {}).items():
        column = quote(_column(model, name).column)
        assignments.append(f"{column} = {column} + %s")
        params.append(int(amount))
    where, keys = among(model, quote(model._meta.pk.column), sorted(pks))
    sql = f"UPDATE {quote(model._meta.db_table)} SET {', '.join(assignments)} WHERE {where}"  # noqa: S608 - names from the model
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *keys])
