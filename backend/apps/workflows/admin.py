from django.contrib import admin

from apps.workflows.models import Workflow, WorkflowExecution


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "project", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    raw_id_fields = ["project", "created_by"]


@admin.register(WorkflowExecution)
class WorkflowExecutionAdmin(admin.ModelAdmin):
    list_display = ["id", "workflow", "status", "started_at", "completed_at", "duration"]
    list_filter = ["status"]
    raw_id_fields = ["workflow", "triggered_by"]
