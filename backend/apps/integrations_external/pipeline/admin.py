"""What every channel's admin shares."""

from __future__ import annotations

from django.contrib import admin

ATTEMPT_FIELDS: tuple[str, ...] = (
    "attempt_number",
    "started_at",
    "duration_ms",
    "outcome",
    "response_status",
    "error_message",
)


class AttemptInline(admin.TabularInline):
    """A delivery's attempt history: read-only, as it happened."""

    extra = 0
    can_delete = False
    fields = ATTEMPT_FIELDS
    readonly_fields = ATTEMPT_FIELDS

    def has_add_permission(self, request, obj=None) -> bool:
        return False
