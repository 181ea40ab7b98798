"""Admin of the Teams integration: the webhook URL is masked (write-only field), verify and
send-test actions, health in the list."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from rest_framework.exceptions import ValidationError

from apps.integrations_external.pipeline.admin import ATTEMPT_FIELDS, AttemptInline
from apps.integrations_external.teams.models import (
    TeamsDelivery,
    TeamsDeliveryAttempt,
    TeamsIntegration,
)
from apps.integrations_external.teams.serializers import check_webhook_url
from apps.integrations_external.teams.services import TeamsService


class TeamsIntegrationForm(forms.ModelForm):
    webhook_url = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="The Workflows webhook URL. Never shown; leave empty to keep the current one.",
    )

    class Meta:
        model = TeamsIntegration
        fields = [
            "owner",
            "project",
            "is_active",
            "channel_name",
            "webhook_url",
            "notify_workflow_completion",
            "notify_command_execution",
            "notify_system_alerts",
            "notify_project_updates",
            "notify_only_failures",
            "notify_back_to_normal",
        ]

    def clean_webhook_url(self) -> str:
        url = self.cleaned_data.get("webhook_url") or ""
        if not url:
            if self.instance.pk and self.instance.webhook_url:
                return self.instance.webhook_url
            raise forms.ValidationError("A webhook URL is required.")
        try:
            return check_webhook_url(url)  # the API's rule, one place
        except ValidationError as exc:
            raise forms.ValidationError(exc.detail) from exc


@admin.register(TeamsIntegration)
class TeamsIntegrationAdmin(admin.ModelAdmin):
    form = TeamsIntegrationForm
    list_display = [
        "__str__",
        "owner",
        "project",
        "is_active",
        "is_healthy",
        "health_reason",
        "last_verification_ok",
        "last_message_at",
    ]
    list_filter = ["is_active", "is_healthy", "last_verification_ok", "notify_only_failures"]
    search_fields = ["channel_name", "owner__username"]
    raw_id_fields = ["owner", "project"]
    readonly_fields = list(TeamsIntegration.STATE_FIELDS)
    actions = ["verify_selected", "send_test_selected"]

    @admin.action(description="Verify (post a test card now)")
    def verify_selected(self, request, queryset) -> None:
        for integration in queryset:
            result = TeamsService(integration).verify()
            level = messages.SUCCESS if result.ok else messages.WARNING
            self.message_user(request, f"{integration}: {result.detail}", level)

    @admin.action(description="Send a test card through the pipeline")
    def send_test_selected(self, request, queryset) -> None:
        for integration in queryset:
            delivery = TeamsService(integration).queue_test_card(actor=request.user)
            self.message_user(request, f"{integration}: test card queued (delivery {delivery.pk}).")


class TeamsDeliveryAttemptInline(AttemptInline):
    model = TeamsDeliveryAttempt
    fields = readonly_fields = (*ATTEMPT_FIELDS, "response_body")


@admin.register(TeamsDelivery)
class TeamsDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "integration", "event_type", "status", "attempt_number", "created_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["event__id"]
    raw_id_fields = ["integration", "event"]
    readonly_fields = [f.name for f in TeamsDelivery._meta.fields]
    inlines = [TeamsDeliveryAttemptInline]

    def has_add_permission(self, request) -> bool:
        return False
