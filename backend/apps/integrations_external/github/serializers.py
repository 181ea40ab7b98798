"""Serializers of the github part of the integrations. Tokens and secrets are write-only; the
webhook secret is shown once, in the answer to the create request (added by the view)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings
from rest_framework import serializers

from apps.integrations_external.fields import IntegrationProjectField, check_still_acting
from apps.integrations_external.github.models import (
    GitHubIntegration,
    GitHubIssueDelivery,
    GitHubIssueDeliveryAttempt,
    GitHubIssueLink,
    GitHubPullRequest,
    GitHubWorkflowRun,
)
from apps.integrations_external.github.services import webhook_url
from apps.integrations_external.http import ssrf
from apps.integrations_external.http.errors import TargetRefused

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


class GitHubIntegrationSerializer(serializers.ModelSerializer):
    project = IntegrationProjectField()
    access_token = serializers.CharField(write_only=True, max_length=500, trim_whitespace=True)
    webhook_secret = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=200
    )
    api_base_url = serializers.URLField(required=False, max_length=200)
    has_access_token = serializers.SerializerMethodField()
    webhook_url = serializers.SerializerMethodField()

    class Meta:
        model = GitHubIntegration
        fields = [
            "id",
            "project",
            "repository_owner",
            "repository_name",
            "access_token",
            "has_access_token",
            "webhook_secret",
            "webhook_url",
            "auto_create_issues",
            "auto_sync_prs",
            "sync_workflows",
            "is_active",
            "api_base_url",
            *GitHubIntegration.STATE_FIELDS,
        ]
        read_only_fields = list(GitHubIntegration.STATE_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None:  # an update keeps the stored token unless a new one is sent
            self.fields["access_token"].required = False

    def validate(self, attrs: dict) -> dict:
        check_still_acting(self.instance, attrs)
        return attrs

    def get_has_access_token(self, obj: GitHubIntegration) -> bool:
        return bool(obj.access_token)

    def get_webhook_url(self, obj: GitHubIntegration) -> str:
        return webhook_url(obj)

    def validate_repository_owner(self, value: str) -> str:
        if not NAME_RE.match(value):
            raise serializers.ValidationError("Letters, digits, '-', '_' and '.' only.")
        return value

    validate_repository_name = validate_repository_owner

    def validate_api_base_url(self, value: str) -> str:
        parts = urlsplit(value)
        allow_http = settings.INTEGRATIONS_ALLOW_PRIVATE_TARGETS or settings.DEBUG
        if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
            raise serializers.ValidationError(
                "Use https (GitHub Enterprise Server: https://HOST/api/v3); the token travels with "
                "every request."
            )
        try:
            ssrf.validate_url(value)
        except TargetRefused as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value.rstrip("/")


class StoryBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    title = serializers.CharField()


class GitHubPullRequestSerializer(serializers.ModelSerializer):
    stories = StoryBriefSerializer(many=True, read_only=True)

    class Meta:
        model = GitHubPullRequest
        fields = [
            "id",
            "number",
            "title",
            "state",
            "draft",
            "author",
            "head_ref",
            "base_ref",
            "html_url",
            "github_created_at",
            "github_updated_at",
            "merged_at",
            "closed_at",
            "stories",
            "synced_at",
        ]


class GitHubWorkflowRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = GitHubWorkflowRun
        fields = [
            "id",
            "run_id",
            "name",
            "run_number",
            "event",
            "status",
            "conclusion",
            "head_branch",
            "head_sha",
            "html_url",
            "github_created_at",
            "github_updated_at",
            "synced_at",
        ]


class GitHubIssueLinkSerializer(serializers.ModelSerializer):
    repository = serializers.CharField(source="integration.full_name", read_only=True)

    class Meta:
        model = GitHubIssueLink
        fields = [
            "integration",
            "repository",
            "story",
            "state",
            "issue_number",
            "issue_url",
            "issue_state",
            "issue_title",
            "created_at",
            "updated_at",
        ]


class CreateIssueRequestSerializer(serializers.Serializer):
    integration = serializers.IntegerField(required=False, min_value=1)


class VerifyResultSerializer(serializers.Serializer):
    """A VerificationResult (http/verification.py) of GitHub: its facts beside the verdict."""

    ok = serializers.BooleanField()
    detail = serializers.CharField()
    problem = serializers.CharField(
        help_text="bad_credentials, not_found, ratelimited, forbidden, unreachable, "
        "missing_permissions, or empty when ok."
    )
    checked_at = serializers.DateTimeField()
    repository = serializers.CharField()
    permissions = serializers.DictField(allow_null=True)
    missing = serializers.ListField(child=serializers.CharField())


class SyncStatusSerializer(serializers.ModelSerializer):
    """The answer to `sync-prs/`: the sync's state (the counts of the last run are in
    `last_sync_result`)."""

    queued = serializers.SerializerMethodField(
        help_text="Whether this request queued a sync (false: one was queued or running already)."
    )

    class Meta:
        model = GitHubIntegration
        fields = [
            "id",
            "queued",
            "sync_state",
            "sync_requested_at",
            "sync_started_at",
            "sync_finished_at",
            "sync_error",
            "last_synced_at",
            "last_sync_result",
        ]
        read_only_fields = fields

    def get_queued(self, obj: GitHubIntegration) -> bool:
        return bool(self.context.get("queued"))


class GitHubIssueDeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = GitHubIssueDeliveryAttempt
        fields = [
            "attempt_number",
            "started_at",
            "duration_ms",
            "outcome",
            "response_status",
            "response_body",
            "error_message",
        ]


class GitHubIssueDeliverySerializer(serializers.ModelSerializer):
    """One story's issue as the pipeline created it (auto_create_issues): status, attempts."""

    attempts = GitHubIssueDeliveryAttemptSerializer(
        source="attempt_history", many=True, read_only=True
    )
    event_id = serializers.CharField(read_only=True)

    class Meta:
        model = GitHubIssueDelivery
        fields = [
            "id",
            "integration",
            "story",
            "event_id",
            "event_type",
            "status",
            "attempt_number",
            "next_attempt_at",
            "response_status",
            "response_body",
            "error_message",
            "issue_number",
            "duration_ms",
            "created_at",
            "completed_at",
            "attempts",
        ]
        read_only_fields = fields
