from __future__ import annotations

from rest_framework import serializers

from apps.projects.serializers import HomeProjectField
from apps.workflows.models import Workflow, WorkflowExecution


class WorkflowSerializer(serializers.ModelSerializer):
    project = HomeProjectField()
    created_by = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Workflow
        fields = [
            "id",
            "project",
            "name",
            "description",
            "definition",
            "is_active",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_definition(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("The definition must be a JSON object.")
        return value


class WorkflowExecutionSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="workflow.project_id", read_only=True)
    workflow_name = serializers.CharField(source="workflow.name", read_only=True)
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowExecution
        fields = [
            "id",
            "workflow",
            "workflow_name",
            "project",
            "status",
            "triggered_by",
            "started_at",
            "completed_at",
            "duration",
            "duration_seconds",
            "result",
            "error_message",
            "created_at",
        ]
        read_only_fields = fields

    def get_duration_seconds(self, obj: WorkflowExecution) -> float | None:
        return None if obj.duration is None else round(obj.duration.total_seconds(), 3)


class WorkflowExecutionCompleteSerializer(serializers.Serializer):
    result = serializers.JSONField(required=False, allow_null=True, default=None)


class WorkflowExecutionFailSerializer(serializers.Serializer):
    error_message = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=10_000
    )
