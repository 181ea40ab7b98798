"""Admin of the github integration: the token is never shown (masked, replaced only when a new one
is typed); actions verify, sync now and create the webhook."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from apps.integrations_external.github.models import (
    GitHubIntegration,
    GitHubIssueDelivery,
    GitHubIssueDeliveryAttempt,
    GitHubIssueLink,
    GitHubPullRequest,
    GitHubWebhookDelivery,
    GitHubWorkflowRun,
)
from apps.integrations_external.github.services import GitHubService
from apps.integrations_external.http import ssrf
from apps.integrations_external.http.errors import IntegrationError, TargetRefused
from apps.integrations_external.pipeline.admin import ATTEMPT_FIELDS, AttemptInline


def mask(value: str) -> str:
    return f"••••••••{value[-4:]}" if value and len(value) > 8 else ("••••" if value else "")


class GitHubIntegrationForm(forms.ModelForm):
    access_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave blank to keep the stored token.",
    )
    webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave blank to keep the stored secret (one is generated for a new integration).",
    )

    api_base_url = forms.URLField(
        assume_scheme="https",
        help_text="https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server.",
    )

    class Meta:
        model = GitHubIntegration
        fields = [
            "owner",
            "project",
            "repository_owner",
            "repository_name",
            "access_token",
            "webhook_secret",
            "api_base_url",
            "auto_create_issues",
            "auto_sync_prs",
            "sync_workflows",
            "is_active",
        ]

    def clean_access_token(self) -> str:
        value = self.cleaned_data.get("access_token", "")
        stored = self.instance and self.instance.pk and self.instance.access_token
        app_install = self.instance and self.instance.pk and self.instance.is_app_install
        if not value and not stored and not app_install:  # an app installation needs none
            raise forms.ValidationError("A token is required.")
        return value

    def clean_api_base_url(self) -> str:
        value = self.cleaned_data.get("api_base_url", "")
        try:
            ssrf.validate_url(value)
        except TargetRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return value.rstrip("/")

    def save(self, commit: bool = True):
        instance = super().save(commit=False)
        if self.instance.pk:
            stored = GitHubIntegration.objects.get(pk=self.instance.pk)
            if not self.cleaned_data.get("access_token"):
                instance.access_token = stored.access_token
            if not self.cleaned_data.get("webhook_secret"):
                instance.webhook_secret = stored.webhook_secret
        if commit:
            instance.save()
        return instance


@admin.register(GitHubIntegration)
class GitHubIntegrationAdmin(admin.ModelAdmin):
    form = GitHubIntegrationForm
    list_display = [
        "__str__",
        "project",
        "owner",
        "is_active",
        "auto_create_issues",
        "auto_sync_prs",
        "masked_token",
        "last_verification_ok",
        "sync_state",
        "last_synced_at",
        "rate_limited_until",
    ]
    list_filter = [
        "is_active",
        "auth_kind",
        "auto_sync_prs",
        "auto_create_issues",
        "sync_workflows",
    ]
    search_fields = ["repository_owner", "repository_name", "project__name", "owner__username"]
    readonly_fields = ["masked_token", *GitHubIntegration.STATE_FIELDS, "rate_limit_reset_at"]
    raw_id_fields = ["owner", "project"]
    actions = ["verify", "sync_now", "create_webhook"]

    @admin.display(description="Token")
    def masked_token(self, obj: GitHubIntegration) -> str:
        return mask(obj.access_token)

    def _each(self, request, queryset, label: str, call) -> None:
        for integration in queryset:
            try:
                outcome = call(GitHubService(integration))
            except IntegrationError as exc:
                self.message_user(request, f"{integration}: {label} failed: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{integration}: {outcome}", messages.INFO)

    @admin.action(description="Verify the connection")
    def verify(self, request, queryset) -> None:
        self._each(request, queryset, "verify", lambda s: s.verify_connection().detail)

    @admin.action(description="Sync pull requests now (queued for a worker)")
    def sync_now(self, request, queryset) -> None:
        def sync(service) -> str:
            if service.queue_sync():
                return "sync queued"
            return "a sync is queued or running already"

        self._each(request, queryset, "sync", sync)

    @admin.action(description="Create the repository webhook")
    def create_webhook(self, request, queryset) -> None:
        self._each(
            request,
            queryset,
            "create webhook",
            lambda s: f"hook {s.create_webhook().get('id')} created",
        )


@admin.register(GitHubPullRequest)
class GitHubPullRequestAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "state", "author", "integration", "github_updated_at"]
    list_filter = ["state"]
    search_fields = ["title", "head_ref"]
    raw_id_fields = ["integration", "stories"]


@admin.register(GitHubIssueLink)
class GitHubIssueLinkAdmin(admin.ModelAdmin):
    list_display = ["story", "integration", "state", "issue_number", "issue_state"]
    list_filter = ["state"]
    raw_id_fields = ["integration", "story"]


@admin.register(GitHubWorkflowRun)
class GitHubWorkflowRunAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "run_number",
        "status",
        "conclusion",
        "integration",
        "github_updated_at",
    ]
    list_filter = ["status", "conclusion"]
    raw_id_fields = ["integration"]


@admin.register(GitHubWebhookDelivery)
class GitHubWebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["delivery_id", "event", "action", "error", "integration", "received_at"]
    list_filter = ["event"]
    raw_id_fields = ["integration"]


class GitHubIssueDeliveryAttemptInline(AttemptInline):
    model = GitHubIssueDeliveryAttempt
    fields = readonly_fields = (*ATTEMPT_FIELDS, "response_body")


@admin.register(GitHubIssueDelivery)
class GitHubIssueDeliveryAdmin(admin.ModelAdmin):
    """The issues created for new stories through the pipeline, with their attempts."""

    list_display = [
        "id",
        "integration",
        "story",
        "status",
        "attempt_number",
        "issue_number",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["event__id"]
    raw_id_fields = ["integration", "story", "event"]
    readonly_fields = [f.name for f in GitHubIssueDelivery._meta.fields]
    inlines = [GitHubIssueDeliveryAttemptInline]

    def has_add_permission(self, request) -> bool:
        return False
