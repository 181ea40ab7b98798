from django.contrib import admin

from core.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "last_seen_at", "last_ping_requested_at"]
    readonly_fields = ["hostname", "last_seen_at", "last_ping_requested_at"]

    def has_add_permission(self, request) -> bool:
        return False
