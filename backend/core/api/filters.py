"""The API's query filters (django-filter): integer filters refuse values out of range.

django-filter's NumberFilter parses `?project=99999999999999999999999` or `?endpoint=-6.9e192`
into a Decimal that Django passes to the database as is: SQLite raises OverflowError, other
databases a data error, both a 500. Every filterset of the API is a `FilterSet` below, which
answers those with a 400 naming the filter: the filter backend makes the filtersets it builds
from `filterset_fields` one, and wraps any other filterset class a view names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import django_filters
from django import forms
from django.db import connections, models
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import get_model_field


def integer_range(model: type[models.Model], field_path: str, using: str) -> tuple[int, int] | None:
    """The database's range for the integer column `field_path` of `model` (a relation: its
    target's column), or None if it is not an integer column."""
    field = get_model_field(model, field_path)
    if field is None:
        return None
    if field.is_relation:
        field = field.target_field
    if not isinstance(field, models.IntegerField):  # AutoFields and foreign keys included
        return None
    low, high = connections[using].ops.integer_field_range(field.get_internal_type())
    # Every backend stores at most 64-bit integers, whatever it reports (SQLite: None).
    return (low if low is not None else -(2**63), high if high is not None else 2**63 - 1)


def _numbers(value: Any) -> list[Any]:
    """The numbers inside a cleaned filter value (a number, a list of them, a range)."""
    if isinstance(value, slice):
        value = [value.start, value.stop]
    if not isinstance(value, list | tuple):
        value = [value]
    return [v for v in value if isinstance(v, int | float | Decimal) and not isinstance(v, bool)]


def range_error(value: Any, bounds: tuple[int, int]) -> str | None:
    low, high = bounds
    for number in _numbers(value):
        if number != number or number in (Decimal("Infinity"), Decimal("-Infinity")):
            return "Enter a number."
        if number != int(number):
            return "Enter a whole number."
        if not low <= number <= high:
            return f"Ensure this value is between {low} and {high}."
    return None


def _to_utc(data: dict[str, Any], name: str, value: datetime) -> str | None:
    """Put `data[name]` in UTC (an error message if it cannot be). PostgreSQL refuses offsets
    past ±15:59 (`…-23:13`, valid ISO 8601) with a data error, a 500: in UTC none is left."""
    if value.tzinfo is None:
        return None
    try:
        data[name] = value.astimezone(UTC)
    except OverflowError:
        return "Enter a date and time between the years 1 and 9999 (in UTC)."
    return None


class StrictBooleanField(forms.NullBooleanField):
    """`true`/`false` (or `True`/`False`, `1`/`0`); absent or empty means no filter. Anything
    else (`null`, `maybe`) is an error: django-filter would ignore it and answer everything,
    which the schema (a boolean) does not allow."""

    widget = forms.TextInput  # the raw text: Django's select widget maps unknowns to None

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if value in (True, "true", "True", "1"):
            return True
        if value in (False, "false", "False", "0"):
            return False
        raise forms.ValidationError("Enter true or false.", code="invalid")


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class FilterSet(django_filters.FilterSet):
    """A filterset whose filters on integer columns refuse numbers out of the column's range
        (and fractions) as form errors, so the API answers 400 instead of failing in the database,
        whose boolean filters refuse anything but true and false, and whose date-time filters
    compare in UTC."""

    FILTER_DEFAULTS = {
        **django_filters.filterset.FILTER_FOR_DBFIELD_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
    }

    def get_form_class(self) -> type[forms.Form]:
        form_class = super().get_form_class()
        model = self._meta.model or self.queryset.model
        using = self.queryset.db if self.queryset is not None else "default"
        bounds = {
            name: found
            for name, filter_ in self.filters.items()
            if (found := integer_range(model, filter_.field_name, using))
        }

        def clean(form: forms.Form) -> dict[str, Any]:
            cleaned = form_class.clean(form)
            for name, limits in bounds.items():
                if name in form.cleaned_data:
                    error = range_error(form.cleaned_data[name], limits)
                    if error:
                        form.add_error(name, error)
            for name, value in list(form.cleaned_data.items()):
                if isinstance(value, datetime):
                    error = _to_utc(form.cleaned_data, name, value)
                    if error:
                        form.add_error(name, error)
            return cleaned

        return type(form_class.__name__, (form_class,), {"clean": clean})


@cache
def _range_checked(filterset_class: type[django_filters.FilterSet]) -> type[FilterSet]:
    return type(filterset_class.__name__, (FilterSet, filterset_class), {})


class FilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend whose every filterset is a range-checked `FilterSet`."""

    filterset_base = FilterSet

    def get_filterset_class(self, view: Any, queryset: Any = None) -> Any:
        filterset_class = super().get_filterset_class(view, queryset)
        if filterset_class is None or issubclass(filterset_class, FilterSet):
            return filterset_class
        return _range_checked(filterset_class)
