from __future__ import annotations

from rest_framework import serializers

from apps.commands.models import Command, CommandExecution
from apps.projects.serializers import HomeProjectField

# Output longer than this is refused (400) rather than silently cut at the API edge. It stays
# below Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), above which the whole body is refused (413).
MAX_SUBMITTED_OUTPUT = 2 * 1024 * 1024


class CommandSerializer(serializers.ModelSerializer):
    project = HomeProjectField()
    created_by = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Command
        fields = [
            "id",
            "project",
            "name",
            "command_line",
            "description",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class CommandExecutionSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="command.project_id", read_only=True)
    command_name = serializers.CharField(source="command.name", read_only=True)
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = CommandExecution
        fields = [
            "id",
            "command",
            "command_name",
            "project",
            "status",
            "exit_code",
            "output",
            "output_truncated",
            "started_at",
            "completed_at",
            "duration",
            "duration_seconds",
            "executed_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_duration_seconds(self, obj: CommandExecution) -> float | None:
        return None if obj.duration is None else round(obj.duration.total_seconds(), 3)


class CommandExecutionCompleteSerializer(serializers.Serializer):
    exit_code = serializers.IntegerField(min_value=-(2**31), max_value=2**31 - 1)
    output = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        max_length=MAX_SUBMITTED_OUTPUT,
    )
