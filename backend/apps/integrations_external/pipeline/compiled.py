"""Querysets compiled once per shape, then run again with other values.

Routing runs the same few querysets for every event, differing only in ids: the project, its
people, the actor. Building and compiling one cost about 0.5 ms of CPU on this machine, and
routing one event ran eight of them: 9.6 ms per event, most of it compiling (docs/delivery.md).
Here a queryset is built once per shape with stand-in values, compiled, and its SQL kept; a
later call of that shape puts the real values where the stand-ins were and builds the rows as
Django's own iterables do (the fields' converters, `Model.from_db`, select_related).

A shape is the caller's key plus the length of every list value: what else decides the SQL
(a branch on a value, a channel's own filters) belongs in the key. A queryset this module
cannot replay faithfully (annotations, prefetching, extra select, a stand-in that did not
reach the parameters or that Django refused as out of its column's range) runs through the
ORM every time: slower, never different.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)

Values = Mapping[str, Any]
Build = Callable[[Values], QuerySet[Any]]

# Stand-ins count down from here: below any key, count or flag a routing query holds, and
# inside a 32-bit column's range (Django answers a value out of the column's range with
# EmptyResultSet: PostgreSQL's auth_user.id is an int4).
_FIRST_STAND_IN = -2_000_000_000
# Shapes kept (a project's head count is part of its shape); least recently used go first.
MAX_SHAPES = 1024


@dataclass(frozen=True)
class _Plan:
    alias: str
    sql: str
    params: tuple[Any, ...]
    # (parameter index, value name, index in a list value or None)
    slots: tuple[tuple[int, str, int | None], ...]
    converters: Any
    # Model rows: (model, init list, start, end, related populators); None: value rows.
    model_rows: tuple[Any, list[str], int, int, list[Any]] | None
    columns: int
    flat: bool


_EMPTY = "empty"  # the shape matches no row whatever the values (an empty IN list)
_UNCACHED = "uncached"
_plans: OrderedDict[Hashable, _Plan | str] = OrderedDict()
_lock = threading.Lock()


def _shape(key: Hashable, values: Values) -> Hashable:
    return (
        key,
        tuple(
            (name, len(v) if isinstance(v, list | tuple) else type(v).__name__)
            for name, v in sorted(values.items())
        ),
    )


def _stand_ins(values: Values) -> tuple[dict[str, Any], dict[Any, tuple[str, int | None]]]:
    """Values of the same shape, each a distinct stand-in of the real value's type (an int or
    a str), and where each stands."""
    fake: dict[str, Any] = {}
    where: dict[Any, tuple[str, int | None]] = {}

    def stand_in(name: str, index: int | None, like: Any) -> Any:
        count = len(where)
        value: Any
        if type(like) is int:
            value = _FIRST_STAND_IN - count
        elif type(like) is str:
            value = f"\x00stand-in {count}"
        else:
            raise TypeError(f"compiled.fetch takes ints and strs, not {type(like).__name__}")
        where[value] = (name, index)
        return value

    for name, value in values.items():
        if isinstance(value, list | tuple):
            fake[name] = [stand_in(name, i, v) for i, v in enumerate(value)]
        else:
            fake[name] = stand_in(name, None, value)
    return fake, where


def _replayable(qs: QuerySet[Any]) -> bool:
    """Whether Django's iterable would do nothing more than `fetch` does (a private attribute
    gone in another Django version counts as something more)."""
    query = qs.query
    return (
        qs._iterable_class in (ModelIterable, ValuesListIterable, FlatValuesListIterable)
        and not getattr(qs, "_prefetch_related_lookups", ("?",))
        and not getattr(qs, "_known_related_objects", {"?": "?"})
        and not query.annotation_select
        and not query.extra_select
        and not query.combinator
    )


def _compile(build: Build, values: Values) -> _Plan | str:
    fake, where = _stand_ins(values)
    qs = build(fake)
    if not _replayable(qs):
        return _UNCACHED
    compiler = qs.query.get_compiler(using=qs.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return _empty_or_uncached(build, values)
    if compiler.has_extra_select:
        return _UNCACHED
    slots = []
    for i, param in enumerate(params):
        # Exact types: a bool is an int, and True or False is never a stand-in.
        if type(param) in (int, str) and param in where:
            slots.append((i, *where[param]))
    if {where[p] for p in where} != {(name, index) for _, name, index in slots}:
        return _UNCACHED  # a stand-in was dropped or rewritten: replaying could differ
    columns = compiler.col_count
    fields = [s[0] for s in compiler.select[:columns]]
    model_rows = None
    if qs._iterable_class is ModelIterable:
        info = compiler.klass_info
        start, end = info["select_fields"][0], info["select_fields"][-1] + 1
        init_list = [f[0].target.attname for f in compiler.select[start:end]]
        # Django 5.2's signature (the stubs describe 6.0's, with a fetch mode).
        populators = get_related_populators(info, compiler.select, qs.db)  # type: ignore[call-arg]
        model_rows = (info["model"], init_list, start, end, populators)
    return _Plan(
        alias=qs.db,
        sql=sql,
        params=tuple(params),
        slots=tuple(slots),
        converters=(compiler, compiler.get_converters(fields)),
        model_rows=model_rows,
        columns=columns,
        flat=qs._iterable_class is FlatValuesListIterable,
    )


def _empty_or_uncached(build: Build, values: Values) -> str:
    """Empty for every value of the shape only when the shape holds an empty list and the real
    values are empty too; otherwise a stand-in was out of its column's range (a positive or
    small integer field), and the ORM answers each time."""
    if not any(isinstance(v, list | tuple) and not v for v in values.values()):
        return _UNCACHED
    qs = build(values)
    try:
        qs.query.get_compiler(using=qs.db).as_sql()
    except EmptyResultSet:
        return _EMPTY
    return _UNCACHED


def _plan(key: Hashable, build: Build, values: Values) -> _Plan | str:
    shape = _shape(key, values)
    with _lock:
        plan = _plans.get(shape)
        if plan is not None:
            _plans.move_to_end(shape)
            return plan
    plan = _compile(build, values)
    with _lock:
        _plans[shape] = plan
        while len(_plans) > MAX_SHAPES:
            _plans.popitem(last=False)
    return plan


def _rows(plan: _Plan, values: Values) -> list[Sequence[Any]]:
    params = list(plan.params)
    for i, name, index in plan.slots:
        value = values[name]
        params[i] = value if index is None else value[index]
    with connections[plan.alias].cursor() as cursor:
        cursor.execute(plan.sql, params)
        rows: list[Sequence[Any]] = [row[: plan.columns] for row in cursor.fetchall()]
    compiler, converters = plan.converters
    if converters:
        rows = list(compiler.apply_converters(rows, converters))
    return rows


def fetch(key: Hashable, build: Build, values: Values) -> list[Any]:
    """What `list(build(values))` gives (model instances, or value-list rows as tuples, or
    values for a flat list), compiled once per shape of `key` and `values`.

    `build` must read every variable part of its filters from `values` (ints, strs, or lists
    of them), everything else from what `key` names."""
    plan = _plan(key, build, values)
    if plan == _EMPTY:
        return []
    if plan == _UNCACHED:
        return list(build(values))
    assert isinstance(plan, _Plan)
    rows = _rows(plan, values)
    if plan.model_rows is None:
        if plan.flat:
            return [row[0] for row in rows]
        return [tuple(row) for row in rows]
    model, init_list, start, end, populators = plan.model_rows
    out = []
    for row in rows:
        obj = model.from_db(plan.alias, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        out.append(obj)
    return out
