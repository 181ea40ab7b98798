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
    """A delivery's stored attempts, read-only, as they happened: its retries and failures. A
    success is kept on the delivery itself (its response fields above), not as a row here."""

    extra = 0
    verbose_name_plural = "retries and failures (a success is shown on the delivery)"
    can_delete = False
    fields = ATTEMPT_FIELDS
    readonly_fields = ATTEMPT_FIELDS

    def has_add_permission(self, request, obj=None) -> bool:
        return False
