"""GitHub: a repository connected to a project, and what we mirror from it.

- GitHubIntegration: the connection (token and webhook secret encrypted at rest), plus the state the
  sync needs: the ETag of the first page of pull requests, the rate-limit window, a short lease that
  makes mutating calls one at a time per integration.
- GitHubIssueLink: one row per (integration, story), claimed *before* the issue is created on
  GitHub, so a story gets one issue however often or concurrently it is asked for.
- GitHubPullRequest: the pull-request mirror, linked to the stories whose key (`US-<id>`) it
  carries.
- GitHubWorkflowRun: the Actions runs mirror (when `sync_workflows` is on).
- GitHubIssueDelivery: a story's issue as the pipeline creates it (auto_create_issues): one
  delivery per new story and integration, sent, retried and recorded by the engine.
- GitHubWebhookDelivery: the `X-GitHub-Delivery` ids already processed (a redelivery is ignored),
  and those refused as unusable (with the reason).
- GitHubAppInstallState: one "Install GitHub App" attempt (the `state` sent to GitHub), bound to
  who started it and for which project.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from apps.integrations_external.pipeline.models import DeliveryAttemptBase, DeliveryBase
from core.fields import EncryptedTextField


def default_github_api_base_url() -> str:
    return settings.GITHUB_API_BASE_URL


def generate_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class GitHubIntegration(models.Model):
    class AuthKind(models.TextChoices):
        TOKEN = "token", "Pasted token"
        APP = "app", "GitHub App installation"

    class SyncState(models.TextChoices):
        IDLE = "idle", "Never synced"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    # The routing rule's switch (see OwnedTargetBase): new stories get an issue.
    EVENT_SWITCHES = {"project": "auto_create_issues"}

    # Kept by the system (hook, sync, verification, rate limits), never written by a user.
    STATE_FIELDS = (
        "auth_kind",
        "installation_id",
        "hook_id",
        "sync_state",
        "sync_requested_at",
        "sync_started_at",
        "sync_finished_at",
        "sync_error",
        "last_synced_at",
        "last_sync_result",
        "last_verified_at",
        "last_verification_ok",
        "last_verification_detail",
        "rate_limited_until",
        "rate_limit_remaining",
        "disabled_at",
        "disabled_reason",
        "created_at",
        "updated_at",
    )

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    repository_owner = models.CharField(max_length=100)
    repository_name = models.CharField(max_length=100)
    # A pasted token (auth_kind "token"), or empty: an app installation authenticates as the
    # installation (short-lived tokens fetched with the app's key, never stored).
    auth_kind = models.CharField(max_length=5, choices=AuthKind.choices, default=AuthKind.TOKEN)
    access_token = EncryptedTextField(blank=True, default="")
    installation_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    webhook_secret = EncryptedTextField(blank=True, default="")
    auto_create_issues = models.BooleanField(default=False)
    auto_sync_prs = models.BooleanField(default=True)
    sync_workflows = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    api_base_url = models.URLField(default=default_github_api_base_url)
    hook_id = models.BigIntegerField(null=True, blank=True)
    # The pull-request sync runs in a worker: its state, when it was asked for, started and
    # ended, and why it failed (empty when it succeeded). The counts are in last_sync_result.
    sync_state = models.CharField(max_length=10, choices=SyncState.choices, default=SyncState.IDLE)
    sync_requested_at = models.DateTimeField(null=True, blank=True)
    sync_started_at = models.DateTimeField(null=True, blank=True)
    sync_finished_at = models.DateTimeField(null=True, blank=True)
    sync_error = models.TextField(blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_sync_result = models.JSONField(default=dict, blank=True)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    last_verification_ok = models.BooleanField(null=True, blank=True)
    last_verification_detail = models.TextField(blank=True)
    # Conditional requests: the ETag of the first page of `GET /pulls?sort=updated&direction=desc`.
    # Any change to any pull request moves it to the top of that page, so a 304 there means
    # nothing changed anywhere (and a 304 costs no rate limit).
    pulls_etag = models.CharField(max_length=200, blank=True)
    # Rate limits: no call is made before `rate_limited_until`; the task is rescheduled for then.
    rate_limited_until = models.DateTimeField(null=True, blank=True)
    rate_limit_remaining = models.IntegerField(null=True, blank=True)
    rate_limit_reset_at = models.DateTimeField(null=True, blank=True)
    # When a sync was rescheduled for (so a second limited call doesn't schedule another one).
    next_sync_at = models.DateTimeField(null=True, blank=True)
    # A lease: mutating calls (create issue/hook) are made one at a time per integration.
    mutation_lease_until = models.DateTimeField(null=True, blank=True)
    # Why it is off when the system turned it off (e.g. its creator left the project).
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "GitHub integration"
        verbose_name_plural = "GitHub integrations"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["is_active", "auto_sync_prs"], name="ie_github_autosync")]

    def __str__(self) -> str:
        return f"{self.repository_owner}/{self.repository_name}"

    def save(self, *args, **kwargs) -> None:
        if not self.webhook_secret:
            self.webhook_secret = generate_webhook_secret()
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.repository_owner}/{self.repository_name}"

    @property
    def is_app_install(self) -> bool:
        return self.auth_kind == self.AuthKind.APP


class GitHubIssueLink(models.Model):
    """The issue created for a story. Claimed (state `creating`) before the POST to GitHub."""

    class State(models.TextChoices):
        CREATING = "creating", "Creating"
        CREATED = "created", "Created"

    # Set on a claimed link (GitHubService._claim_issue): False when the claim took over the
    # row of an earlier, interrupted attempt, whose issue may exist already.
    _fresh_claim: bool = True

    integration = models.ForeignKey(
        GitHubIntegration, on_delete=models.CASCADE, related_name="issue_links"
    )
    story = models.ForeignKey(
        "projects.UserStory", on_delete=models.CASCADE, related_name="github_issue_links"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.CREATING)
    claimed_at = models.DateTimeField(null=True, blank=True)
    issue_number = models.IntegerField(null=True, blank=True)
    issue_url = models.URLField(max_length=500, blank=True)
    issue_state = models.CharField(max_length=20, blank=True)  # open / closed (from GitHub)
    issue_title = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "GitHub issue link"
        verbose_name_plural = "GitHub issue links"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "story"], name="ie_github_one_issue_per_story"
            )
        ]
        indexes = [models.Index(fields=["integration", "issue_number"], name="ie_github_issue_num")]

    def __str__(self) -> str:
        return f"{self.story_id} → #{self.issue_number or '?'}"


class GitHubPullRequest(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"
        MERGED = "merged", "Merged"

    integration = models.ForeignKey(
        GitHubIntegration, on_delete=models.CASCADE, related_name="pull_requests"
    )
    number = models.IntegerField()
    github_id = models.BigIntegerField(null=True, blank=True)
    title = models.CharField(max_length=500)
    body = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices)
    draft = models.BooleanField(default=False)
    author = models.CharField(max_length=100, blank=True)
    head_ref = models.CharField(max_length=255, blank=True)
    base_ref = models.CharField(max_length=255, blank=True)
    html_url = models.URLField(max_length=500, blank=True)
    github_created_at = models.DateTimeField(null=True, blank=True)
    github_updated_at = models.DateTimeField(null=True, blank=True)
    merged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    stories = models.ManyToManyField(
        "projects.UserStory", blank=True, related_name="github_pull_requests"
    )
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "GitHub pull request"
        verbose_name_plural = "GitHub pull requests"
        ordering = ["-github_updated_at", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "number"], name="ie_github_one_pr_per_number"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"


class GitHubWorkflowRun(models.Model):
    integration = models.ForeignKey(
        GitHubIntegration, on_delete=models.CASCADE, related_name="workflow_runs"
    )
    run_id = models.BigIntegerField()
    name = models.CharField(max_length=255, blank=True)
    run_number = models.IntegerField(null=True, blank=True)
    event = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=30, blank=True)
    conclusion = models.CharField(max_length=30, blank=True)
    head_branch = models.CharField(max_length=255, blank=True)
    head_sha = models.CharField(max_length=64, blank=True)
    html_url = models.URLField(max_length=500, blank=True)
    github_created_at = models.DateTimeField(null=True, blank=True)
    github_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "GitHub workflow run"
        verbose_name_plural = "GitHub workflow runs"
        ordering = ["-github_updated_at", "-run_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "run_id"], name="ie_github_one_run_per_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.run_number} {self.status}/{self.conclusion}"


class GitHubWebhookDelivery(models.Model):
    """An `X-GitHub-Delivery` id we processed; inserted in the transaction that processes it."""

    integration = models.ForeignKey(
        GitHubIntegration, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    delivery_id = models.CharField(max_length=100)
    event = models.CharField(max_length=50)
    action = models.CharField(max_length=50, blank=True)
    # Why the delivery was refused (a payload we cannot use); empty when it was processed.
    error = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "GitHub webhook delivery"
        verbose_name_plural = "GitHub webhook deliveries"
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "delivery_id"], name="ie_github_one_delivery_per_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"


class GitHubAppInstallState(models.Model):
    """One "Install GitHub App" attempt: the `state` sent to GitHub (only its hash stored),
    bound to the user who started it and to one project; single-use and short-lived. Once the
    callback has confirmed that this user can access `installation_id`, the row remembers it
    until the user picks a repository (`completed_at`)."""

    state_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    consumed_at = models.DateTimeField(null=True, blank=True)
    installation_id = models.BigIntegerField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "GitHub App install state"

    def __str__(self) -> str:
        return f"GitHub App install by user {self.user_id} for project {self.project_id}"


class GitHubIssueDelivery(DeliveryBase):
    """Creating one story's issue in one integration's repository (auto_create_issues)."""

    target_field = "integration"

    integration = models.ForeignKey(
        GitHubIntegration, on_delete=models.CASCADE, related_name="issue_deliveries"
    )
    story = models.ForeignKey("projects.UserStory", on_delete=models.CASCADE, related_name="+")
    issue_number = models.IntegerField(null=True, blank=True)

    class Meta(DeliveryBase.Meta):
        verbose_name = "GitHub issue delivery"
        verbose_name_plural = "GitHub issue deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="ie_github_issue_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "integration"], name="ie_one_github_issue_per_event"
            )
        ]


class GitHubIssueDeliveryAttempt(DeliveryAttemptBase):
    delivery = models.ForeignKey(
        GitHubIssueDelivery, on_delete=models.CASCADE, related_name="attempts"
    )

    class Meta(DeliveryAttemptBase.Meta):
        verbose_name = "GitHub issue delivery attempt"
        verbose_name_plural = "GitHub issue delivery attempts"
