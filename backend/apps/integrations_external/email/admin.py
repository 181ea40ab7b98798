"""Admin of the email integration: people's settings, the sent-mail history (attempts
inline) and the summary claims."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet

from apps.integrations_external.email.models import (
    EmailDelivery,
    EmailDeliveryAttempt,
    EmailNotificationSettings,
    SentSummary,
)
from apps.integrations_external.email.services import (
    EmailService,
    NoEmailAddress,
    email_deliveries_resend,
)
from apps.integrations_external.pipeline.admin import AttemptInline


@admin.register(EmailNotificationSettings)
class EmailNotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ["user", "user_email", *EmailNotificationSettings.SWITCHES, "updated_at"]
    list_filter = list(EmailNotificationSettings.SWITCHES)
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["send_test_email"]

    @admin.display(description="Email", ordering="user__email")
    def user_email(self, row: EmailNotificationSettings) -> str:
        return row.user.email

    @admin.action(description="Send a test email")
    def send_test_email(self, request, queryset: QuerySet[EmailNotificationSettings]) -> None:
        sent = 0
        for row in queryset.select_related("user"):
            try:
                EmailService(row.user).queue_test_email()
                sent += 1
            except NoEmailAddress:
                pass
        self.message_user(request, f"Test email queued for {sent} of {queryset.count()} people.")


class EmailDeliveryAttemptInline(AttemptInline):
    model = EmailDeliveryAttempt


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "event_type",
        "to_address",
        "subject",
        "status",
        "attempt_number",
        "response_status",
        "next_attempt_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["to_address", "subject", "message_id", "recipient__username", "event__id"]
    date_hierarchy = "created_at"
    inlines = [EmailDeliveryAttemptInline]
    actions = ["resend"]
    readonly_fields = [
        "event",
        "event_type",
        "recipient",
        "to_address",
        "subject",
        "message_id",
        "payload",
        "status",
        "attempt_number",
        "next_attempt_at",
        "locked_until",
        "response_status",
        "response_body",
        "error_message",
        "duration_ms",
        "created_at",
        "completed_at",
    ]
    exclude = ["lease_token"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Send again (failed ones only)")
    def resend(self, request, queryset: QuerySet[EmailDelivery]) -> None:
        count = email_deliveries_resend(deliveries=queryset)
        self.message_user(request, f"{count} failed email(s) queued again.")


@admin.register(SentSummary)
class SentSummaryAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "period",
        "period_start",
        "period_end",
        "outcome",
        "item_count",
        "created_at",
    ]
    list_filter = ["period", "outcome"]
    search_fields = ["user__username", "user__email"]
    date_hierarchy = "period_start"
    readonly_fields = [
        "user",
        "period",
        "period_start",
        "period_end",
        "outcome",
        "item_count",
        "event",
        "created_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False
