"""The API's pages: `{"count", "next", "previous", "results"}`, `?page=` and `?page_size=`; long
histories page by cursor instead (`NewestFirstCursorPagination`)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request


class StandardPagination(PageNumberPagination):
    """`?page_size=` is a whole number from 1 to 200; anything else is a 400 naming it (a
    client that asked for 500 per page must learn it did not get them), as the schema says."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"Enter a whole number from 1 to {self.max_page_size}."
                    ]
                }
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


class NewestFirstCursorPagination(CursorPagination):
    """Long histories (delivery logs): `{"next", "previous", "results"}`, newest first, with an
    opaque `?cursor=` instead of page numbers. No COUNT and no OFFSET: a page of a million rows
    costs what the first costs (a COUNT of them took 0.5 s; bench/scale.py), as Svix's API does.
    `?ordering=created_at` reverses the order; nothing else orders it (the cursor needs a
    column that is never NULL)."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = StandardPagination.max_page_size

    def get_page_size(self, request: Request) -> int | None:
        return StandardPagination().get_page_size(request)

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        if request.query_params.get("ordering") == "created_at":
            return ("created_at", "id")
        return self.ordering
