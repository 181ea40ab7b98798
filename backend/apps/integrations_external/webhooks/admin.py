"""Admin of the webhooks integration: endpoints and deliveries (attempts inline).

Secrets are never rendered: the form has no secret field (one is generated on creation) and
the change page shows a masked hint only; rotate through the API. Custom headers are shown by
name only (their values often hold credentials; set them through the API), and attempt history
holds them masked.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet

from apps.integrations_external.pipeline.admin import ATTEMPT_FIELDS, AttemptInline
from apps.integrations_external.pipeline.models import DeliveryStatus
from apps.integrations_external.webhooks.models import (
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)
from apps.integrations_external.webhooks.serializers import secret_hint
from apps.integrations_external.webhooks.services import WebhookService, webhook_delivery_redeliver
from core.api.exceptions import InvalidTransition


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    # URLs without a scheme are read as https (Django 6.0's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "id",
        "name",
        "url",
        "owner",
        "project",
        "is_active",
        "success_count",
        "failure_count",
        "consecutive_failures",
        "last_triggered_at",
    ]
    list_filter = ["is_active", "method", "trigger_system_alert"]
    search_fields = ["name", "url", "owner__username"]
    raw_id_fields = ["owner", "project"]
    exclude = ["secret", "previous_secret", "headers"]
    readonly_fields = ["masked_secret", "header_names", *WebhookEndpoint.STATE_FIELDS]
    actions = ["send_test", "enable", "disable"]

    @admin.display(description="Secret")
    def masked_secret(self, endpoint: WebhookEndpoint) -> str:
        return secret_hint(endpoint.secret) if endpoint.pk else "(generated on save)"

    @admin.display(description="Custom headers")
    def header_names(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.headers or {}) or "(none)"

    @admin.action(description="Send a test event")
    def send_test(self, request, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            WebhookService(endpoint).queue_test(actor=request.user)
        self.message_user(request, f"Test event queued for {queryset.count()} endpoint(s).")

    @admin.action(description="Enable (clears the failure record)")
    def enable(self, request, queryset: QuerySet[WebhookEndpoint]) -> None:
        changed = sum(WebhookService(e).enable() for e in queryset)
        self.message_user(request, f"{changed} endpoint(s) enabled.")

    @admin.action(description="Disable")
    def disable(self, request, queryset: QuerySet[WebhookEndpoint]) -> None:
        changed = sum(
            WebhookService(e).disable(
                reason=f"Disabled by {request.user.get_username()} in the admin."
            )
            for e in queryset
        )
        self.message_user(request, f"{changed} endpoint(s) disabled.")


class WebhookDeliveryAttemptInline(AttemptInline):
    model = WebhookDeliveryAttempt
    fields = readonly_fields = (*ATTEMPT_FIELDS, "response_body", "request_headers")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "endpoint",
        "event_type",
        "status",
        "attempt_number",
        "response_status",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["webhook_id", "event__id", "endpoint__url"]
    list_select_related = ["endpoint"]
    inlines = [WebhookDeliveryAttemptInline]
    actions = ["redeliver"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Redeliver (same webhook-id)")
    def redeliver(self, request, queryset: QuerySet[WebhookDelivery]) -> None:
        sent, skipped = 0, 0
        for delivery in queryset.exclude(
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING]
        ):
            try:
                webhook_delivery_redeliver(delivery=delivery)
                sent += 1
            except InvalidTransition:
                skipped += 1
        skipped += queryset.filter(
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING]
        ).count()
        self.message_user(request, f"{sent} redelivery(ies) queued.")
        if skipped:
            self.message_user(request, f"{skipped} still in progress, skipped.", messages.WARNING)
