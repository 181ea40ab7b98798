"""A model's own field by name, for forms that read its default or help text."""

from __future__ import annotations

from typing import Any

from django.db import models


def concrete_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """`model._meta.get_field(name)` when it names a field of the model's own table (not the
    far side of a relation, which has no default or help text)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is not a field of its own table.")
    return field
