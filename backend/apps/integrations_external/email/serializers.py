"""Serializers of the email part of the integrations."""

from __future__ import annotations

from rest_framework import serializers

from apps.integrations_external.email.models import EmailDelivery, EmailNotificationSettings

SWITCHES = list(EmailNotificationSettings.SWITCHES)


class EmailNotificationSettingsSerializer(serializers.ModelSerializer):
    """The caller's own switches. PUT needs the original six and may leave out a switch added
    since (it keeps its value); PATCH any of them; other keys are refused rather than silently
    ignored (a typo must not look like a saved choice)."""

    email = serializers.EmailField(source="user.email", read_only=True)
    refuses_unknown_fields = True  # the schema says so (core/api/schema.py)

    class Meta:
        model = EmailNotificationSettings
        fields = ["email", *SWITCHES, "updated_at"]
        read_only_fields = ["updated_at"]
        extra_kwargs = {
            name: {"required": name in EmailNotificationSettings.ORIGINAL_SWITCHES}
            for name in SWITCHES
        }

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {
                    "non_field_errors": [
                        'Expected an object of switches, e.g. {"daily_summary": true}.'
                    ]
                }
            )
        unknown = sorted(set(data) - set(SWITCHES) - {"email", "updated_at"})
        if unknown:
            raise serializers.ValidationError(
                {
                    name: [f"Unknown setting; the settings are: {', '.join(SWITCHES)}."]
                    for name in unknown
                }
            )
        return super().to_internal_value(data)

    def validate(self, attrs):
        for name in attrs:
            if not isinstance(self.initial_data.get(name), bool):
                raise serializers.ValidationError({name: ["Must be true or false."]})
        return attrs


class EmailDeliverySerializer(serializers.ModelSerializer):
    """One email in the caller's sent-mail history."""

    class Meta:
        model = EmailDelivery
        fields = [
            "id",
            "event_type",
            "to_address",
            "subject",
            "message_id",
            "status",
            "attempt_number",
            "next_attempt_at",
            "response_status",
            "error_message",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields
