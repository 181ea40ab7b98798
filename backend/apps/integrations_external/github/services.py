"""GitHubService: one integration's dealings with its repository (the seed's methods).

The pull-request mirror lives in github/mirror.py, the incoming webhooks in github/receiver.py.

Rules kept here:
- No call is made while the integration is rate limited; a limit answer (403/429) records
  `rate_limited_until` and raises `RateLimited(retry_after=...)`: the *task* is rescheduled.
- Mutating calls (create issue, create hook) hold a short per-integration lease: one at a time.
- A story's issue is claimed in the database (a unique row) before the POST: one story, one issue.
- Every service has a deadline for all its calls together: GITHUB_REQUEST_BUDGET_SECONDS unless
  told otherwise (the sync task passes GITHUB_SYNC_DEADLINE_SECONDS).
- Nothing acts on the project (issues from stories, the sync's links and merge events) once the
  integration's owner may no longer see it (`github_integration_acts_for_project`).
- A sync runs in a worker, one at a time per integration: `queue_sync` marks it queued and
  enqueues the task, `github_sync_claim` lets exactly one run start, `run_sync` records its
  outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import signature
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from apps.integrations_external.access import activation_fields
from apps.integrations_external.github import mirror as github_mirror
from apps.integrations_external.github.app import connect_repository, installation_client
from apps.integrations_external.github.client import BadAnswer, Forbidden, GitHubClient
from apps.integrations_external.github.mirror import BIGINT_MAX
from apps.integrations_external.github.models import GitHubIntegration, GitHubIssueLink
from apps.integrations_external.github.selectors import github_integration_acts_for_project
from apps.integrations_external.http.errors import (
    AuthError,
    Busy,
    IntegrationError,
    NotFound,
    PermanentError,
    RateLimited,
    TemporaryError,
)
from apps.integrations_external.http.verification import VerificationResult
from apps.integrations_external.permissions import acting_owner_q
from apps.projects.models import UserStory

logger = logging.getLogger(__name__)

ISSUE_MARKER = "<!-- integrations-hub:story={} -->"
WEBHOOK_EVENTS = ["pull_request", "issues", "workflow_run"]
MAX_PAGES = 500  # 50,000 pull requests: a runaway `Link` chain stops here
CLAIM_LEASE = timedelta(minutes=2)
MUTATION_LEASE = timedelta(seconds=30)


# The sync task, named (github/tasks.py registers it): the tasks module imports this one.
SYNC_TASK = "integrations.github.sync_pull_requests"


@dataclass
class IssueResult:
    link: GitHubIssueLink
    created: bool


def webhook_url(integration: GitHubIntegration) -> str:
    path = reverse("integrations_external:github-webhook", kwargs={"pk": integration.pk})
    return settings.PUBLIC_BASE_URL + path


def story_url(story: UserStory) -> str:
    return f"{settings.PUBLIC_BASE_URL}/stories/{story.pk}/"  # its page (apps/portal)


def github_integration_for_story(
    *, story: UserStory, integration_id: int | None
) -> GitHubIntegration:
    """The integration that creates `story`'s issue: the project's one active integration
    acting for it, or the one the caller named among those. Raises ValidationError (400)
    when there is none, or several and the caller named none."""
    candidates = GitHubIntegration.objects.filter(
        acting_owner_q(story.project), project_id=story.project_id, is_active=True
    )
    if integration_id is not None:
        candidates = candidates.filter(pk=integration_id)
    found = list(candidates[:2])
    if not found:
        raise ValidationError(
            {"integration": ["No active GitHub integration for this story's project."]}
        )
    if len(found) > 1:
        raise ValidationError(
            {"integration": ["This project has several GitHub integrations: choose one."]}
        )
    return found[0]


class NoLongerMember(PermanentError):
    """The integration's owner may no longer act on its project (left it, or deactivated)."""


SyncState = GitHubIntegration.SyncState
STALE_SYNC_MARGIN = timedelta(seconds=60)


def _stale_before() -> datetime:
    """A queued or running sync older than this is presumed lost (its worker died)."""
    deadline = timedelta(seconds=settings.GITHUB_SYNC_DEADLINE_SECONDS)
    return timezone.now() - deadline - STALE_SYNC_MARGIN


def github_sync_claim(
    *, integration_id: int, requested_at: datetime | None = None
) -> GitHubIntegration | None:
    """Start a sync: the row, marked running, or None when there is nothing to do (inactive,
    another run in progress, or a run that finished after `requested_at` answered it)."""
    now = timezone.now()
    rows = GitHubIntegration.objects.filter(pk=integration_id, is_active=True).exclude(
        sync_state=SyncState.RUNNING, sync_started_at__gte=_stale_before()
    )
    if requested_at is not None:
        rows = rows.exclude(
            sync_state__in=[SyncState.SUCCEEDED, SyncState.FAILED],
            sync_finished_at__gte=requested_at,
        )
    claimed = rows.update(
        sync_state=SyncState.RUNNING, sync_started_at=now, sync_finished_at=None, sync_error=""
    )
    if not claimed:
        return None
    return GitHubIntegration.objects.select_related("owner", "project").get(pk=integration_id)


class GitHubService:
    def __init__(
        self,
        integration: GitHubIntegration,
        *,
        client: GitHubClient | None = None,
        deadline_seconds: float | None = None,
    ):
        self.integration = integration
        self._client = client
        self.deadline_seconds = (
            settings.GITHUB_REQUEST_BUDGET_SECONDS if deadline_seconds is None else deadline_seconds
        )

    @property
    def client(self) -> GitHubClient:
        if self._client is None and self.integration.is_app_install:
            if self.integration.installation_id is None:
                raise PermanentError(
                    "This GitHub App connection has no installation; connect it again."
                )
            self._client = installation_client(
                self.integration.installation_id,
                base_url=self.integration.api_base_url,
                deadline_seconds=self.deadline_seconds,
            )
        elif self._client is None:
            self._client = GitHubClient(
                self.integration.access_token,
                self.integration.api_base_url,
                deadline_seconds=self.deadline_seconds,
            )
        return self._client

    def _ensure_acts_for_project(self) -> None:
        if not github_integration_acts_for_project(self.integration):
            raise NoLongerMember(
                "This integration's owner no longer has access to its project: it does not act "
                "on the project any more."
            )

    @property
    def _repo(self) -> tuple[str, str]:
        return self.integration.repository_owner, self.integration.repository_name

    def queue_sync(self) -> bool:
        """Ask for a sync: mark the integration queued and enqueue the task after commit. False
        when a sync is already queued or running (nothing more is enqueued). Raises RateLimited
        while GitHub's limit lasts (a run is scheduled for its end already)."""
        until = self.integration.rate_limited_until
        now = timezone.now()
        if until and until > now:
            raise RateLimited(
                f"GitHub rate limit: waiting until {until.isoformat()}",
                retry_after=(until - now).total_seconds(),
            )
        stale = _stale_before()
        in_flight = Q(sync_state__in=[SyncState.QUEUED, SyncState.RUNNING]) & (
            Q(sync_requested_at__gte=stale)
            | Q(sync_started_at__gte=stale)
            | Q(next_sync_at__gte=now)
        )
        queued = (
            GitHubIntegration.objects.filter(pk=self.integration.pk)
            .exclude(in_flight)
            .update(sync_state=SyncState.QUEUED, sync_requested_at=now, sync_error="")
        )
        if not queued:
            return False
        sync = signature(
            SYNC_TASK, args=(self.integration.pk,), kwargs={"requested_at": now.isoformat()}
        )
        transaction.on_commit(sync.apply_async, robust=True)
        return True

    # -- settings ---------------------------------------------------------------------------
    def update(self, **fields: Any) -> GitHubIntegration:
        """Change the integration's settings. A blank token or secret keeps the stored one;
        another repository (owner, name or API URL) drops what belonged to the old one (its
        ETag, hook and rate limit); turning it on or off by hand is recorded."""
        integration = self.integration
        for secret in ("access_token", "webhook_secret"):
            if not fields.get(secret):
                fields.pop(secret, None)
        moved = any(
            name in fields and fields[name] != getattr(integration, name)
            for name in ("repository_owner", "repository_name", "api_base_url")
        )
        if moved:
            fields.update(pulls_etag="", hook_id=None, rate_limited_until=None, next_sync_at=None)
        fields.update(activation_fields(integration, fields))
        for name, value in fields.items():
            setattr(integration, name, value)
        integration.save()
        return integration

    # -- rate limits and leases -------------------------------------------------------------
    def _guard(self) -> None:
        until = self.integration.rate_limited_until
        now = timezone.now()
        if until and until > now:
            raise RateLimited(
                f"GitHub rate limit: waiting until {until.isoformat()}",
                retry_after=(until - now).total_seconds(),
            )

    def _record_rate(self, limited: RateLimited | None = None) -> None:
        fields: dict[str, Any] = {
            "rate_limit_remaining": self.client.rate.remaining,
            "rate_limit_reset_at": self.client.rate.reset_at,
        }
        if limited is not None:
            until = timezone.now() + timedelta(seconds=limited.retry_after or 60)
            fields["rate_limited_until"] = until
        for name, value in fields.items():
            setattr(self.integration, name, value)
        GitHubIntegration.objects.filter(pk=self.integration.pk).update(**fields)

    @contextmanager
    def _api(self) -> Iterator[GitHubClient]:
        """Every call goes through here: refuse while limited, remember the limit headers."""
        self._guard()
        try:
            yield self.client
        except RateLimited as exc:
            self._record_rate(exc)
            logger.warning("github %s rate limited for %.0fs", self.integration, exc.retry_after)
            raise
        else:
            self._record_rate()

    @contextmanager
    def _mutation_slot(self) -> Iterator[None]:
        """A lease on the integration: mutating calls go one at a time (GitHub's guidance
        against secondary rate limits), across threads, processes and machines."""
        now = timezone.now()
        until = now + MUTATION_LEASE
        got = (
            GitHubIntegration.objects.filter(pk=self.integration.pk)
            .filter(Q(mutation_lease_until__isnull=True) | Q(mutation_lease_until__lt=now))
            .update(mutation_lease_until=until)
        )
        if not got:
            raise Busy("Another change to this repository is in progress", retry_after=2)
        try:
            yield
        finally:
            GitHubIntegration.objects.filter(
                pk=self.integration.pk, mutation_lease_until=until
            ).update(mutation_lease_until=None)

    # -- the seed's methods -----------------------------------------------------------------
    def get_repository(self) -> dict[str, Any]:
        with self._api() as gh:
            return gh.get_repository(*self._repo)

    def create_issue(self, *, title: str, body: str, labels: list[str] | None = None) -> dict:
        with self._mutation_slot(), self._api() as gh:
            return gh.create_issue(*self._repo, title=title, body=body, labels=labels)

    def get_pull_requests(self) -> list[dict[str, Any]]:
        """Every pull request (all states, all pages)."""
        items, _, _ = self._fetch_all_pull_requests(etag="")
        return items or []  # None only answers an ETag, and none was sent

    def create_webhook(self) -> dict[str, Any]:
        if self.integration.is_app_install:
            raise PermanentError(
                "This repository is connected through the GitHub App, whose webhook already "
                "delivers its events: it needs no repository webhook."
            )
        with self._mutation_slot(), self._api() as gh:
            hook = gh.create_webhook(
                *self._repo,
                url=webhook_url(self.integration),
                secret=self.integration.webhook_secret,
                events=WEBHOOK_EVENTS,
            )
        hook_id = hook.get("id")
        valid = (
            isinstance(hook_id, int) and not isinstance(hook_id, bool) and 0 < hook_id <= BIGINT_MAX
        )
        self.integration.hook_id = hook_id if valid else None
        GitHubIntegration.objects.filter(pk=self.integration.pk).update(
            hook_id=self.integration.hook_id
        )
        return hook

    def verify_connection(self) -> VerificationResult:
        """Check token, repository and permissions; store and return the verdict in words."""
        result = self._verify_app() if self.integration.is_app_install else self._verify()
        self.integration.last_verified_at = result.checked_at
        self.integration.last_verification_ok = result.ok
        self.integration.last_verification_detail = result.detail
        GitHubIntegration.objects.filter(pk=self.integration.pk).update(
            last_verified_at=result.checked_at,
            last_verification_ok=result.ok,
            last_verification_detail=result.detail,
        )
        return result

    # What the app needs of an installation, in GitHub's permission names, and why.
    APP_PERMISSIONS = {
        "issues": ("write", "Issues: read and write (issues from stories)"),
        "pull_requests": ("read", "Pull requests: read (the pull-request mirror)"),
        "metadata": ("read", "Metadata: read (the repository itself)"),
    }

    def _verify_app(self) -> VerificationResult:
        """An app installation: the repository as the installation, then the permissions the
        installation was granted (`GET /repos/{owner}/{repo}/installation`, as the app)."""
        name = self.integration.full_name
        base: dict[str, Any] = {"repository": name, "permissions": None, "missing": []}
        try:
            with self._api() as gh:
                repo = gh.get_repository(*self._repo)
                installation = gh.repository_installation(*self._repo)
        except NotFound:
            return VerificationResult(
                False,
                f"The GitHub App's installation cannot see {name} any more: add the "
                "repository to the installation on GitHub, or install the app again.",
                problem="not_found",
                facts=base,
            )
        except RateLimited as exc:
            return VerificationResult(
                False,
                f"GitHub's rate limit is exhausted; try again in "
                f"{int(exc.retry_after or 60)} seconds.",
                problem="rate_limited",
                facts=base,
            )
        except IntegrationError as exc:
            return VerificationResult(
                False,
                f"GitHub refused the app's installation: {exc}",
                problem="refused",
                facts=base,
            )
        raw = installation.get("permissions")
        granted = {
            k: v for k, v in (raw if isinstance(raw, dict) else {}).items() if isinstance(v, str)
        }
        wanted = dict(self.APP_PERMISSIONS)
        if self.integration.sync_workflows:
            wanted["actions"] = ("read", "Actions: read (workflow runs)")
        missing = [
            words
            for key, (level, words) in wanted.items()
            if granted.get(key) not in ((level, "write") if level == "read" else ("write",))
        ]
        full_name = repo.get("full_name") if isinstance(repo.get("full_name"), str) else name
        if missing:
            detail = (
                f"Connected to {full_name} through the GitHub App, but the installation lacks "
                + "; ".join(missing)
                + ". Accept the app's new permissions on GitHub."
            )
        else:
            detail = f"Connected to {full_name} through the GitHub App."
        return VerificationResult(
            not missing,
            detail,
            problem="missing_permissions" if missing else "",
            facts={
                **base,
                "permissions": granted,
                "missing": missing,
                "can_create_issues": granted.get("issues") == "write",
                "can_create_webhooks": False,
                "default_branch": _str_or_none(repo.get("default_branch")),
                "private": repo.get("private") if isinstance(repo.get("private"), bool) else None,
            },
        )

    def _verify(self) -> VerificationResult:
        name = self.integration.full_name
        base: dict[str, Any] = {"repository": name, "permissions": None, "missing": []}

        def failed(problem: str, detail: str) -> VerificationResult:
            return VerificationResult(False, detail, problem=problem, facts=dict(base))

        try:
            repo = self.get_repository()
        except AuthError:
            return failed(
                "bad_credentials",
                "GitHub rejected the access token (401 Bad credentials): it is wrong, "
                "expired or revoked. Create a new token and save it on this integration.",
            )
        except NotFound:
            return failed(
                "not_found",
                f"Repository {name} was not found, or this token has no access to it. "
                "Check the owner and name; for a fine-grained token, add this repository to "
                "the token's repository access.",
            )
        except RateLimited as exc:
            return failed(
                "ratelimited",
                f"GitHub's rate limit is exhausted; try again in "
                f"{int(exc.retry_after or 60)} seconds.",
            )
        except Forbidden as exc:
            return failed("forbidden", f"GitHub refused access to {name}: {exc}")
        except IntegrationError as exc:
            return failed(
                "unreachable",
                f"Could not talk to GitHub at {self.integration.api_base_url}: {exc}",
            )
        return _token_verdict(repo, name=name, base=base)

    # -- story → issue ----------------------------------------------------------------------
    def create_issue_from_story(self, *, story: UserStory) -> IssueResult:
        """The story's issue: created once, whatever the number of calls or retries."""
        if story.project_id != self.integration.project_id:
            raise PermanentError("This story belongs to another project than the integration's.")
        self._ensure_acts_for_project()
        link, claimed = self._claim_issue(story)
        if not claimed:
            return IssueResult(link, created=False)
        try:
            if link.state == GitHubIssueLink.State.CREATING and _was_interrupted(link):
                adopted = self._adopt_existing_issue(link)
                if adopted is not None:
                    return IssueResult(self._finish(link, adopted), created=False)
            issue = self.create_issue(title=issue_title(story), body=issue_body(story))
        except (RateLimited, Busy, PermanentError):
            # Certainly not created by this attempt: release the claim so a later call starts
            # afresh (an earlier interrupted attempt keeps its row: the issue may exist).
            pending = GitHubIssueLink.objects.filter(
                pk=link.pk, state=GitHubIssueLink.State.CREATING
            )
            if _was_interrupted(link):
                pending.update(claimed_at=None)
            else:
                pending.delete()
            raise
        except TemporaryError:
            # Maybe created (a timeout after GitHub accepted it): free the claim but keep the row,
            # so the next attempt looks for the issue before creating one.
            GitHubIssueLink.objects.filter(pk=link.pk).update(claimed_at=None)
            raise
        return IssueResult(self._finish(link, issue), created=True)

    def _claim_issue(self, story) -> tuple[GitHubIssueLink, bool]:
        now = timezone.now()
        try:
            with transaction.atomic():
                link = GitHubIssueLink.objects.create(
                    integration=self.integration, story=story, claimed_at=now
                )
            link._fresh_claim = True
            return link, True
        except IntegrityError:
            pass
        link = GitHubIssueLink.objects.get(integration=self.integration, story=story)
        if link.state == GitHubIssueLink.State.CREATED:
            return link, False
        reclaimed = (
            GitHubIssueLink.objects.filter(pk=link.pk, state=GitHubIssueLink.State.CREATING)
            .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE))
            .update(claimed_at=now)
        )
        if not reclaimed:
            link.refresh_from_db()
            if link.state == GitHubIssueLink.State.CREATED:
                return link, False
            raise Busy(f"The issue for {story.key} is being created", retry_after=5)
        link.refresh_from_db()
        link._fresh_claim = False
        return link, True

    def _adopt_existing_issue(self, link: GitHubIssueLink) -> dict[str, Any] | None:
        """After an interrupted attempt: the issue may exist already (our marker is in its body)."""
        marker = ISSUE_MARKER.format(link.story_id)
        with self._api() as gh:
            issues = gh.list_recent_issues(*self._repo)
        for issue in issues:
            if not isinstance(issue, dict) or "pull_request" in issue:
                continue
            body = issue.get("body")
            if isinstance(body, str) and marker in body:
                return issue
        return None

    def _finish(self, link: GitHubIssueLink, issue: dict[str, Any]) -> GitHubIssueLink:
        try:
            number, fields = github_mirror.issue_fields(issue)
        except github_mirror.Unusable as exc:
            raise BadAnswer(f"GitHub's answer about the issue is unusable: {exc}") from None
        link.state = GitHubIssueLink.State.CREATED
        link.issue_number = number
        link.issue_url = fields["issue_url"]
        link.issue_state = fields["issue_state"] or "open"
        link.issue_title = fields["issue_title"]
        link.claimed_at = None
        link.save()
        return link

    # -- pull requests ----------------------------------------------------------------------
    def _fetch_all_pull_requests(self, etag: str) -> tuple[list[dict] | None, str, int]:
        """(items or None when unchanged, the first page's ETag, pages fetched)."""
        with self._api() as gh:
            first = gh.pull_requests_page(*self._repo, etag=etag)
            if first.not_modified:
                return None, etag, 1
            items = list(first.items)
            url, pages = first.next_url, 1
            while url and pages < MAX_PAGES:
                page = gh.pull_requests_page(*self._repo, url=url)
                items.extend(page.items)
                url, pages = page.next_url, pages + 1
        return items, first.etag, pages

    def run_sync(self) -> dict[str, Any] | None:
        """A claimed sync (github_sync_claim): pull requests, then Actions runs when asked for, with
        the outcome recorded on the row. RateLimited is recorded as waiting and raised again
        (the task reschedules); any other failure is recorded and ends the sync."""
        try:
            result = self.sync_pull_requests()
            if self.integration.sync_workflows:
                result["workflow_runs"] = self.sync_workflow_runs()
        except RateLimited as exc:
            self._record_sync(
                SyncState.QUEUED,
                f"Waiting for GitHub's rate limit ({int(exc.retry_after or 60)} s).",
                finished=False,
            )
            raise
        except IntegrationError as exc:
            self._record_sync(SyncState.FAILED, str(exc))
            if not isinstance(exc, TemporaryError):
                GitHubIntegration.objects.filter(pk=self.integration.pk).update(
                    last_synced_at=timezone.now(), last_sync_result={"error": str(exc)}
                )
            logger.warning("github %s sync failed: %s", self.integration, exc)
            return None
        except Exception:
            self._record_sync(SyncState.FAILED, "Internal error; see the worker's log.")
            raise
        self._record_sync(SyncState.SUCCEEDED, "")
        return result

    def _record_sync(self, state: str, error: str, *, finished: bool = True) -> None:
        fields: dict[str, Any] = {"sync_state": state, "sync_error": error[:2000]}
        if finished:
            fields["sync_finished_at"] = timezone.now()
        for name, value in fields.items():
            setattr(self.integration, name, value)
        GitHubIntegration.objects.filter(pk=self.integration.pk).update(**fields)

    def sync_pull_requests(self) -> dict[str, Any]:
        """Mirror every pull request; answer counts created/updated/unchanged. Stops with
        NoLongerMember when the owner may no longer act on the project, with DeadlineExceeded
        past the service's deadline, and with TargetRefused on a next-page link that leaves
        the API base URL's origin: nothing of that sync is stored."""
        self._ensure_acts_for_project()
        items, etag, pages = self._fetch_all_pull_requests(self.integration.pulls_etag)
        if items is None:
            counts = {
                "created": 0,
                "updated": 0,
                "unchanged": self.integration.pull_requests.count(),
                "not_modified": True,
            }
        else:
            counts = {**self.upsert_pull_requests(items=items), "not_modified": False}
        counts["pages"] = pages
        counts["requests"] = self.client.requests_made
        now = timezone.now()
        self.integration.pulls_etag = etag
        self.integration.last_synced_at = now
        self.integration.last_sync_result = counts
        GitHubIntegration.objects.filter(pk=self.integration.pk).update(
            pulls_etag=etag, last_synced_at=now, last_sync_result=counts, next_sync_at=None
        )
        return counts

    def upsert_pull_requests(
        self, *, items: list[dict[str, Any]], announce_new_merges: bool = False
    ) -> dict[str, int]:
        return github_mirror.upsert_pull_requests(
            self.integration, items, announce_new_merges=announce_new_merges
        )

    # -- workflow runs ----------------------------------------------------------------------
    def sync_workflow_runs(self) -> dict[str, int]:
        with self._api() as gh:
            runs = gh.list_workflow_runs(*self._repo)
        return self.upsert_workflow_runs(runs=runs)

    def upsert_workflow_runs(self, *, runs: list[dict[str, Any]]) -> dict[str, int]:
        return github_mirror.upsert_workflow_runs(self.integration, runs)


def _was_interrupted(link: GitHubIssueLink) -> bool:
    return not getattr(link, "_fresh_claim", True)


def issue_title(story: UserStory) -> str:
    return f"{story.key}: {story.title}"[:256]


def issue_body(story: UserStory) -> str:
    """The issue's text: the story, its acceptance criteria, and the marker that finds the
    issue again after an interrupted attempt."""
    parts = [f"User story **{story.key}**: {story_url(story)}", ""]
    if story.description:
        parts += [story.description, ""]
    if story.acceptance_criteria:
        parts += ["**Acceptance criteria**", "", story.acceptance_criteria, ""]
    parts += [
        f"Mention `{story.key}` in a pull request's title, branch or description to link it.",
        ISSUE_MARKER.format(story.pk),
    ]
    return "\n".join(parts)


def _token_verdict(repo: dict[str, Any], *, name: str, base: dict[str, Any]) -> VerificationResult:
    """What a personal token may do in the repository GitHub answered with, in words."""
    raw_permissions = repo.get("permissions")
    permissions = {
        key: value
        for key, value in (raw_permissions if isinstance(raw_permissions, dict) else {}).items()
        if isinstance(key, str) and isinstance(value, bool)
    }
    full_name = repo.get("full_name")
    full_name = full_name if isinstance(full_name, str) else name
    missing = []
    if not (permissions.get("push") or permissions.get("maintain") or permissions.get("admin")):
        missing.append(
            "write access (to create issues from stories: give the token Issues: "
            "read and write, or a classic token the `repo` scope with write access)"
        )
    if not permissions.get("admin"):
        missing.append(
            "admin access (to create the repository webhook: give the token "
            "Webhooks: read and write, or ask a repository admin)"
        )
    if repo.get("has_issues") is False:
        missing.append("issues, which are turned off in this repository's settings")
    if missing:
        detail = f"Connected to {full_name}, but missing " + "; ".join(missing) + "."
    else:
        detail = f"Connected to {full_name} with write and admin access."
    facts = {
        **base,
        "permissions": permissions,
        "missing": missing,
        "can_create_issues": bool(permissions.get("push") or permissions.get("admin")),
        "can_create_webhooks": bool(permissions.get("admin")),
        "default_branch": _str_or_none(repo.get("default_branch")),
        "private": repo.get("private") if isinstance(repo.get("private"), bool) else None,
    }
    problem = "missing_permissions" if missing else ""
    return VerificationResult(not missing, detail, problem=problem, facts=facts)


def _str_or_none(value: Any) -> str | None:
    return value[:255] if isinstance(value, str) else None


__all__ = [
    "SYNC_TASK",
    "WEBHOOK_EVENTS",
    "Busy",
    "GitHubService",
    "IssueResult",
    "NoLongerMember",
    "github_app_connect",
    "github_integration_for_story",
    "github_sync_claim",
    "issue_body",
    "issue_title",
    "webhook_url",
]


def github_app_connect(*, user: Any, attempt: Any, full_name: str) -> GitHubIntegration:
    """The owner picked a repository of a confirmed installation: create (or reconnect) the
    integration, then verify it as the installation. Raises app.InstallRefused."""
    integration = connect_repository(user=user, attempt=attempt, full_name=full_name)
    GitHubService(integration).verify_connection()
    integration.refresh_from_db()
    return integration
