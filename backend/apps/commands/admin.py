from django.contrib import admin

from apps.commands.models import Command, CommandExecution


@admin.register(Command)
class CommandAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "project", "created_at"]
    search_fields = ["name", "command_line"]
    raw_id_fields = ["project", "created_by"]


@admin.register(CommandExecution)
class CommandExecutionAdmin(admin.ModelAdmin):
    list_display = ["id", "command", "status", "exit_code", "started_at", "completed_at"]
    list_filter = ["status"]
    raw_id_fields = ["command", "executed_by"]
