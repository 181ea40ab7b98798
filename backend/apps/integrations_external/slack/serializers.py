"""Serializers of the Slack integration. The bot token is write-only: no response shows it."""

from __future__ import annotations

import re

from rest_framework import serializers

from apps.integrations_external.fields import IntegrationProjectField, check_still_acting
from apps.integrations_external.slack.models import (
    SlackDelivery,
    SlackDeliveryAttempt,
    SlackIntegration,
)

BOT_TOKEN_RE = re.compile(r"^xoxb-[A-Za-z0-9-]{6,}$")


class SlackIntegrationSerializer(serializers.ModelSerializer):
    bot_token = serializers.CharField(
        write_only=True,
        required=False,
        trim_whitespace=True,
        style={"input_type": "password"},
        help_text="The bot's token (xoxb-…). Write-only: it is never returned.",
    )
    has_bot_token = serializers.SerializerMethodField()
    project = IntegrationProjectField(required=False, allow_null=True)

    class Meta:
        model = SlackIntegration
        fields = [
            "id",
            "project",
            "workspace_name",
            "channel_id",
            "channel_name",
            "bot_token",
            "has_bot_token",
            "notify_workflow_completion",
            "notify_command_execution",
            "notify_system_alerts",
            "notify_project_updates",
            "notify_only_failures",
            "is_active",
            *SlackIntegration.STATE_FIELDS,
        ]
        read_only_fields = list(SlackIntegration.STATE_FIELDS)

    def get_has_bot_token(self, obj: SlackIntegration) -> bool:
        return bool(obj.bot_token)

    def validate_bot_token(self, value: str) -> str:
        if not BOT_TOKEN_RE.match(value):
            # Never echo the value: it may be a real secret pasted in the wrong field.
            raise serializers.ValidationError("Expected a Slack bot token starting with xoxb-.")
        return value

    def validate(self, attrs: dict) -> dict:
        if self.instance is None and not attrs.get("bot_token"):
            raise serializers.ValidationError({"bot_token": ["This field is required."]})
        check_still_acting(self.instance, attrs)
        return attrs


class SlackDeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = SlackDeliveryAttempt
        fields = [
            "attempt_number",
            "started_at",
            "duration_ms",
            "outcome",
            "response_status",
            "response_body",
            "error_message",
        ]


class SlackDeliverySerializer(serializers.ModelSerializer):
    attempts = SlackDeliveryAttemptSerializer(source="attempt_history", many=True, read_only=True)
    event_id = serializers.CharField(read_only=True)

    class Meta:
        model = SlackDelivery
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
            "message_ts",
            "duration_ms",
            "created_at",
            "completed_at",
            "attempts",
        ]
        read_only_fields = fields


class SlackVerificationSerializer(serializers.Serializer):
    """A VerificationResult (http/verification.py) of Slack: its facts beside the verdict."""

    ok = serializers.BooleanField()
    detail = serializers.CharField()
    problem = serializers.CharField()
    checked_at = serializers.DateTimeField()
    team = serializers.CharField()
    team_id = serializers.CharField()
    bot_user_id = serializers.CharField()
    bot_user_name = serializers.CharField()
    channel = serializers.DictField()
    integration = SlackIntegrationSerializer()
