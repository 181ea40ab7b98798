"""Serializers of the webhooks part of the integrations.

The secret is write-only: shown in full only in the create and rotate-secret responses
(`reveal_secret` in the context), as a masked hint everywhere else.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from rest_framework import serializers

from apps.integrations_external import catalog, permissions
from apps.integrations_external.fields import IntegrationProjectField, check_still_acting
from apps.integrations_external.http import ssrf
from apps.integrations_external.http.errors import TargetRefused
from apps.integrations_external.webhooks.models import (
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)
from apps.integrations_external.webhooks.transport import is_reserved_header

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
MAX_HEADERS = 20
MAX_CUSTOM_EVENTS = 100
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


MASK = "********"
# Attempt headers a reader may see in full: the platform's own, which carry no credential.
PUBLIC_REQUEST_HEADERS = frozenset(
    {"content-type", "user-agent", "webhook-id", "webhook-timestamp", "webhook-signature"}
)


def _header_name_error(name: str, seen: set[str]) -> str:
    if not HEADER_NAME_RE.fullmatch(name) or len(name) > 100:
        # The token grammar of RFC 9110: no CR, LF, NUL, colon or space in a name.
        return f"{name!r} is not a valid header name."
    if is_reserved_header(name):
        return f"{name} is set by the platform and cannot be overridden."
    if name.lower() in seen:
        return f"{name} is given twice."
    return ""


def _header_value_error(name: str, value: Any) -> str:
    if not isinstance(value, str):
        return f"{name!r}: the value must be a string."
    if any(c in value for c in "\r\n\0"):
        return f"{name!r}: the value may not contain CR, LF or NUL."
    if len(value) > 1000:
        return f"{name!r}: the value is at most 1000 characters."
    return ""


def _caller_manages(context: Mapping[str, Any], endpoint: WebhookEndpoint) -> bool:
    """Without a request (no caller to ask about) the masked form is shown."""
    request = context.get("request")
    return request is not None and permissions.can_manage(request.user, endpoint)


def origin_only(url: str) -> str:
    """`https://host:port/…`: where it points, without what may be a credential."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}/…"
    except ValueError:
        return MASK


def secret_hint(secret: str) -> str:
    """`whsec_…abcd`: enough to tell two secrets apart, useless to an attacker."""
    return f"{SECRET_PREFIX}…{secret[-4:]}" if secret else ""


def validate_secret_value(value: str) -> str:
    value = value.strip()
    if not value.startswith(SECRET_PREFIX):
        raise serializers.ValidationError(f"A secret starts with {SECRET_PREFIX}.")
    try:
        raw = base64.b64decode(value[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise serializers.ValidationError(f"After {SECRET_PREFIX}, a secret is base64.") from exc
    if not MIN_SECRET_BYTES <= len(raw) <= MAX_SECRET_BYTES:
        raise serializers.ValidationError(
            f"A secret decodes to {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes (got {len(raw)})."
        )
    return value


class WebhookEndpointSerializer(serializers.ModelSerializer):
    url = serializers.CharField(max_length=2000)
    secret = serializers.CharField(
        write_only=True,
        required=False,
        help_text="whsec_ + base64 of 24+ bytes; generated when not given. Set on create only; "
        "change it later with rotate-secret.",
    )
    secret_hint = serializers.SerializerMethodField()
    project = IntegrationProjectField(required=False, allow_null=True)
    retry_count = serializers.IntegerField(min_value=0, max_value=15, required=False)
    timeout_seconds = serializers.IntegerField(min_value=1, max_value=30, required=False)
    max_in_flight = serializers.IntegerField(
        min_value=1,
        max_value=100,
        required=False,
        help_text="Requests to this endpoint in flight at once, across all workers (default 10).",
    )
    rate_limit = serializers.IntegerField(
        min_value=1,
        max_value=10_000,
        required=False,
        allow_null=True,
        help_text="Deliveries per second at most; null (the default): no limit.",
    )
    headers = serializers.JSONField(
        required=False,
        write_only=True,
        help_text="Custom request headers, name → value. Write-only (values often hold "
        "credentials): reads show `header_names`. Replaces every custom header; leave it out "
        "to keep them, send {} to remove them.",
    )
    header_names = serializers.SerializerMethodField()
    custom_events = serializers.JSONField(required=False)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "name",
            "url",
            "method",
            "headers",
            "header_names",
            "secret",
            "secret_hint",
            "project",
            "retry_count",
            "timeout_seconds",
            "max_in_flight",
            "rate_limit",
            "trigger_workflow_completion",
            "trigger_command_execution",
            "trigger_project_update",
            "trigger_system_alert",
            "custom_events",
            "is_active",
            *WebhookEndpoint.STATE_FIELDS,
        ]
        read_only_fields = list(WebhookEndpoint.STATE_FIELDS)

    def get_secret_hint(self, endpoint: WebhookEndpoint) -> str:
        return secret_hint(endpoint.secret)

    def get_header_names(self, endpoint: WebhookEndpoint) -> list[str]:
        return list(endpoint.headers or {})

    def to_representation(self, instance: WebhookEndpoint) -> dict:
        data = super().to_representation(instance)
        if self.context.get("reveal_secret"):
            data["secret"] = instance.secret
        if not _caller_manages(self.context, instance):
            # A project member reads it: the URL's path and query may hold credentials (tokens
            # in URLs are common), so only its origin shows (header values show to nobody).
            data["url"] = origin_only(instance.url)
        return data

    def validate(self, attrs: dict) -> dict:
        check_still_acting(self.instance, attrs)
        return attrs

    def validate_url(self, value: str) -> str:
        value = value.strip()
        if any(c.isspace() for c in value):
            raise serializers.ValidationError("A URL has no spaces.")
        try:
            parts = urlsplit(value)
        except ValueError as exc:
            raise serializers.ValidationError("Enter a valid URL.") from exc
        if parts.scheme.lower() not in ssrf.ALLOWED_SCHEMES:
            raise serializers.ValidationError("Only http and https URLs are allowed.")
        if not parts.hostname:
            raise serializers.ValidationError("Enter a valid URL (it has no host).")
        try:
            ssrf.validate_url(value)
        except TargetRefused as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value

    def validate_secret(self, value: str) -> str:
        if self.instance is not None:
            raise serializers.ValidationError(
                "The secret cannot be changed here: use POST webhooks/{id}/rotate-secret/."
            )
        return validate_secret_value(value)

    def validate_headers(self, value) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise serializers.ValidationError("Headers are an object of header name to value.")
        if len(value) > MAX_HEADERS:
            raise serializers.ValidationError(f"At most {MAX_HEADERS} headers.")
        errors = []
        seen: set[str] = set()
        for name, header_value in value.items():
            name_error = _header_name_error(name, seen)
            if name_error:
                errors.append(name_error)
            seen.add(name.lower())
            value_error = _header_value_error(name, header_value)
            if value_error:
                errors.append(value_error)
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def validate_custom_events(self, value) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise serializers.ValidationError('A list of custom event types, or ["*"] for all.')
        if len(value) > MAX_CUSTOM_EVENTS:
            raise serializers.ValidationError(f"At most {MAX_CUSTOM_EVENTS} event types.")
        bad = [v for v in value if v != "*" and not catalog.is_valid_custom_type(v)]
        if bad:
            raise serializers.ValidationError(
                [
                    f"{v!r} is not a custom event type (lowercase dotted names like "
                    "'order.shipped', not one of the platform's types)."
                    for v in bad
                ]
            )
        return list(dict.fromkeys(value))


class RotateSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(required=False, help_text="Optional: your own new secret.")

    def validate_secret(self, value: str) -> str:
        return validate_secret_value(value)


class RecoverSerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="Re-send every delivery that failed since then.")


class WebhookDeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDeliveryAttempt
        fields = [
            "attempt_number",
            "started_at",
            "duration_ms",
            "outcome",
            "response_status",
            "response_body",
            "error_message",
            "request_headers",
        ]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="event_id", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event",
            "event_type",
            "webhook_id",
            "status",
            "attempt_number",
            "next_attempt_at",
            "response_status",
            "response_body",
            "error_message",
            "duration_ms",
            "redelivery_of",
            "created_at",
            "updated_at",
            "completed_at",
        ]
        read_only_fields = fields


class WebhookDeliveryDetailSerializer(WebhookDeliverySerializer):
    attempts = WebhookDeliveryAttemptSerializer(source="attempt_history", many=True, read_only=True)

    class Meta(WebhookDeliverySerializer.Meta):
        fields = [*WebhookDeliverySerializer.Meta.fields, "payload", "attempts"]
        read_only_fields = fields

    def to_representation(self, instance: WebhookDelivery) -> dict:
        data = super().to_representation(instance)
        if not _caller_manages(self.context, instance.endpoint):
            for attempt in data.get("attempts") or []:
                attempt["request_headers"] = {
                    name: value if name.lower() in PUBLIC_REQUEST_HEADERS else MASK
                    for name, value in (attempt.get("request_headers") or {}).items()
                }
        return data
