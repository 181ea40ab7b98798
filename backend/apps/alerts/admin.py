from django.contrib import admin

from apps.alerts.models import SystemAlert


@admin.register(SystemAlert)
class SystemAlertAdmin(admin.ModelAdmin):
    list_display = ["id", "severity", "title", "source", "created_at"]
    list_filter = ["severity"]
    search_fields = ["title", "message", "source"]
