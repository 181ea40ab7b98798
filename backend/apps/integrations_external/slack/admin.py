"""Admin of the Slack integration: the token is masked (write-only field), verify and send-test
actions, health visible in the list."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from apps.integrations_external.pipeline.admin import ATTEMPT_FIELDS, AttemptInline
from apps.integrations_external.slack.models import (
    SlackDelivery,
    SlackDeliveryAttempt,
    SlackIntegration,
)
from apps.integrations_external.slack.services import SlackService


class SlackIntegrationForm(forms.ModelForm):
    bot_token = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="The bot's xoxb- token. Never shown; leave empty to keep the current one.",
    )

    class Meta:
        model = SlackIntegration
        fields = [
            "owner",
            "project",
            "is_active",
            "workspace_name",
            "channel_id",
            "channel_name",
            "bot_token",
            "notify_workflow_completion",
            "notify_command_execution",
            "notify_system_alerts",
            "notify_project_updates",
            "notify_only_failures",
        ]

    def clean_bot_token(self) -> str:
        token = self.cleaned_data.get("bot_token") or ""
        if not token:
            if self.instance.pk and self.instance.bot_token:
                return self.instance.bot_token
            raise forms.ValidationError("A bot token is required.")
        if not token.startswith("xoxb-"):
            raise forms.ValidationError("Expected a Slack bot token starting with xoxb-.")
        return token


@admin.register(SlackIntegration)
class SlackIntegrationAdmin(admin.ModelAdmin):
    form = SlackIntegrationForm
    list_display = [
        "__str__",
        "owner",
        "project",
        "is_active",
        "is_healthy",
        "health_reason",
        "last_verification_ok",
        "last_verified_at",
        "last_message_at",
    ]
    list_filter = ["is_active", "is_healthy", "last_verification_ok", "notify_only_failures"]
    search_fields = ["workspace_name", "channel_id", "channel_name", "owner__username"]
    raw_id_fields = ["owner", "project"]
    readonly_fields = [*SlackIntegration.STATE_FIELDS, "next_send_at"]
    fieldsets = [
        (None, {"fields": ["owner", "project", "is_active"]}),
        (
            "Slack",
            {
                "fields": [
                    "workspace_name",
                    "team_id",
                    "channel_id",
                    "channel_name",
                    "bot_token",
                    "bot_user_id",
                    "bot_user_name",
                ]
            },
        ),
        (
            "Notifications",
            {
                "fields": [
                    "notify_workflow_completion",
                    "notify_command_execution",
                    "notify_system_alerts",
                    "notify_project_updates",
                    "notify_only_failures",
                ]
            },
        ),
        (
            "Health",
            {
                "fields": [
                    "is_healthy",
                    "health_reason",
                    "health_changed_at",
                    "last_verified_at",
                    "last_verification_ok",
                    "last_verification_detail",
                    "last_message_at",
                    "next_send_at",
                ]
            },
        ),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]
    actions = ["verify_selected", "send_test_selected"]

    def save_model(self, request, obj, form, change) -> None:
        if change:
            before = SlackIntegration.objects.get(pk=obj.pk)
            super().save_model(request, obj, form, change)
            SlackService(obj).settings_changed(
                token_before=before.bot_token, channel_before=before.channel_id
            )
        else:
            super().save_model(request, obj, form, change)

    @admin.action(description="Verify the connection (auth.test + conversations.info)")
    def verify_selected(self, request, queryset) -> None:
        for integration in queryset:
            result = SlackService(integration).verify_connection()
            level = messages.SUCCESS if result.ok else messages.WARNING
            self.message_user(request, f"{integration}: {result.detail}", level)

    @admin.action(description="Send a test message")
    def send_test_selected(self, request, queryset) -> None:
        for integration in queryset:
            delivery = SlackService(integration).queue_test_message(actor=request.user)
            self.message_user(
                request, f"{integration}: test message queued (delivery {delivery.pk})."
            )


class SlackDeliveryAttemptInline(AttemptInline):
    model = SlackDeliveryAttempt
    fields = readonly_fields = (*ATTEMPT_FIELDS, "response_body")


@admin.register(SlackDelivery)
class SlackDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "integration",
        "event_type",
        "status",
        "attempt_number",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["event__id", "message_ts"]
    raw_id_fields = ["integration", "event"]
    readonly_fields = [f.name for f in SlackDelivery._meta.fields]
    inlines = [SlackDeliveryAttemptInline]

    def has_add_permission(self, request) -> bool:
        return False
