"""Serializers of the events part of the integrations."""

from __future__ import annotations

import json

from rest_framework import serializers

from apps.integrations_external import catalog
from apps.integrations_external.pipeline.models import Event
from apps.projects.serializers import VisibleProjectField

MAX_DATA_BYTES = 64 * 1024


class EventCreateSerializer(serializers.Serializer):
    # A regex field, so that the schema states the pattern too.
    type = serializers.RegexField(
        catalog.CUSTOM_TYPE_RE.pattern,
        max_length=200,
        error_messages={
            "invalid": "A custom event type is lowercase dotted words, e.g. 'deploy.finished'."
        },
    )
    # DRF's metaclass moves declared fields off the class, so `.data` stays the property.
    data = serializers.JSONField(required=False)  # type: ignore[assignment]
    project = VisibleProjectField(required=False, allow_null=True)

    def validate_type(self, value: str) -> str:
        if value in catalog.EVENT_TYPES or value.startswith(catalog.RESERVED_PREFIXES):
            raise serializers.ValidationError(
                "Platform event types are published by the platform only; pick a type of your own."
            )
        if not catalog.is_valid_custom_type(value):
            raise serializers.ValidationError(
                "A custom event type is lowercase dotted words, e.g. 'deploy.finished'."
            )
        return value

    def validate_data(self, value) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise serializers.ValidationError("data must be a JSON object.")
        if len(json.dumps(value, separators=(",", ":")).encode()) > MAX_DATA_BYTES:
            raise serializers.ValidationError(f"data is larger than {MAX_DATA_BYTES} bytes.")
        return value


class EventSerializer(serializers.ModelSerializer):
    deliveries = serializers.SerializerMethodField(
        help_text="{channel: {status: count}} of the deliveries to your own integrations."
    )

    class Meta:
        model = Event
        fields = ["id", "type", "occurred_at", "project", "actor", "data", "deliveries"]
        read_only_fields = fields

    def get_deliveries(self, event: Event) -> dict:
        return self.context.get("delivery_summaries", {}).get(event.pk, {})
