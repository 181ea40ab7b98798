"""Serializers of the Teams integration. The webhook URL is write-only: no response shows it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from rest_framework import serializers

from apps.integrations_external.fields import IntegrationProjectField, check_still_acting
from apps.integrations_external.http import ssrf
from apps.integrations_external.http.errors import TargetRefused
from apps.integrations_external.teams.models import (
    TeamsDelivery,
    TeamsDeliveryAttempt,
    TeamsIntegration,
)

URL_MAX = 2000


def check_webhook_url(value: str) -> str:
    """An https URL on a public address (the SSRF guard); the message never repeats the URL,
    which is a secret."""
    parts = urlsplit(value)
    allowed = ("https", "http") if ssrf.private_targets_allowed() else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise serializers.ValidationError(
            "Paste the https:// URL Teams' Workflows app shows for 'When a Teams webhook request "
            "is received'."
        )
    try:
        ssrf.validate_url(value)
    except TargetRefused as exc:
        raise serializers.ValidationError(str(exc)) from exc
    return value


class TeamsIntegrationSerializer(serializers.ModelSerializer):
    webhook_url = serializers.CharField(
        write_only=True,
        required=False,
        max_length=URL_MAX,
        trim_whitespace=True,
        style={"input_type": "password"},
        help_text="The Workflows webhook URL. Write-only: it is never returned.",
    )
    has_webhook_url = serializers.SerializerMethodField()
    project = IntegrationProjectField()

    class Meta:
        model = TeamsIntegration
        fields = [
            "id",
            "project",
            "channel_name",
            "webhook_url",
            "has_webhook_url",
            "notify_workflow_completion",
            "notify_command_execution",
            "notify_system_alerts",
            "notify_project_updates",
            "notify_only_failures",
            "notify_back_to_normal",
            "is_active",
            *TeamsIntegration.STATE_FIELDS,
        ]
        read_only_fields = list(TeamsIntegration.STATE_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is None:  # required to create, optional (kept) on updates
            self.fields["webhook_url"].required = True

    def get_has_webhook_url(self, obj: TeamsIntegration) -> bool:
        return bool(obj.webhook_url)

    def validate_webhook_url(self, value: str) -> str:
        return check_webhook_url(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        check_still_acting(self.instance, attrs)
        return attrs


class TeamsDeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = TeamsDeliveryAttempt
        fields = [
            "attempt_number",
            "started_at",
            "duration_ms",
            "outcome",
            "response_status",
            "response_body",
            "error_message",
        ]


class TeamsDeliverySerializer(serializers.ModelSerializer):
    attempts = TeamsDeliveryAttemptSerializer(source="attempt_history", many=True, read_only=True)
    event_id = serializers.CharField(read_only=True)

    class Meta:
        model = TeamsDelivery
        fields = [
            "id",
            "integration",
            "event_id",
            "event_type",
            "status",
            "attempt_number",
            "next_attempt_at",
            "response_status",
            "response_body",
            "error_message",
            "duration_ms",
            "created_at",
            "completed_at",
            "attempts",
        ]
        read_only_fields = fields


class TeamsVerificationSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    detail = serializers.CharField()
    problem = serializers.CharField()
    checked_at = serializers.DateTimeField()
    integration = TeamsIntegrationSerializer()
