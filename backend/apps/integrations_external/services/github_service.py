"""GitHubService: one integration's dealings with its repository (the seed's methods), and the
handling of GitHub's incoming webhooks.

Rules kept here:
- No call is made while the integration is rate limited; a limit answer (403/429) records
  `rate_limited_until` and raises `RateLimited(retry_after=...)`: the *task* is rescheduled.
- Mutating calls (create issue, create hook) hold a short per-integration lease: one at a time.
- A story's issue is claimed in the database (a unique row) before the POST: one story, one issue.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.integrations_external.catalog import project_data
from apps.integrations_external.clients.base import (
    AuthError,
    IntegrationError,
    NotFound,
    PermanentError,
    RateLimited,
    TemporaryError,
)
from apps.integrations_external.clients.github import Forbidden, GitHubClient
from apps.integrations_external.models.github import (
    GitHubIntegration,
    GitHubIssueLink,
    GitHubPullRequest,
    GitHubWebhookDelivery,
    GitHubWorkflowRun,
)

logger = logging.getLogger(__name__)

STORY_KEY_RE = re.compile(r"(?<![A-Za-z0-9])US-(\d+)(?!\d)", re.IGNORECASE)
ISSUE_MARKER = "<!-- integrations-hub:story={} -->"
WEBHOOK_EVENTS = ["pull_request", "issues", "workflow_run"]
MAX_PAGES = 500  # 50,000 pull requests: a runaway `Link` chain stops here
CLAIM_LEASE = timedelta(minutes=2)
MUTATION_LEASE = timedelta(seconds=30)
PR_FIELDS = (
    "github_id",
    "title",
    "body",
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
)


class Busy(TemporaryError):
    """Another mutating call (or the same story's issue) is in progress: try again shortly."""


@dataclass
class IssueResult:
    link: GitHubIssueLink
    created: bool


def story_keys(*texts: str | None) -> set[int]:
    """Story ids named as `US-<id>` (any case) in the given texts."""
    ids: set[int] = set()
    for text in texts:
        if text:
            ids.update(int(m) for m in STORY_KEY_RE.findall(text))
    return ids


def signature_is_valid(secret: str, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256` check over the raw body, in constant time."""
    if not secret or not header:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode("utf-8", "replace"))


def _dt(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def pull_request_fields(pr: dict[str, Any]) -> dict[str, Any]:
    """Mirror fields of a pull request as the REST list and the webhook payload give it."""
    merged_at = _dt(pr.get("merged_at"))
    state = "merged" if merged_at or pr.get("merged") else pr.get("state", "open")
    return {
        "github_id": pr.get("id"),
        "title": (pr.get("title") or "")[:500],
        "body": pr.get("body") or "",
        "state": state,
        "draft": bool(pr.get("draft")),
        "author": ((pr.get("user") or {}).get("login") or "")[:100],
        "head_ref": ((pr.get("head") or {}).get("ref") or "")[:255],
        "base_ref": ((pr.get("base") or {}).get("ref") or "")[:255],
        "html_url": pr.get("html_url") or "",
        "github_created_at": _dt(pr.get("created_at")),
        "github_updated_at": _dt(pr.get("updated_at")),
        "merged_at": merged_at,
        "closed_at": _dt(pr.get("closed_at")),
    }


def workflow_run_fields(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": (run.get("name") or "")[:255],
        "run_number": run.get("run_number"),
        "event": (run.get("event") or "")[:50],
        "status": run.get("status") or "",
        "conclusion": run.get("conclusion") or "",
        "head_branch": (run.get("head_branch") or "")[:255],
        "head_sha": run.get("head_sha") or "",
        "html_url": run.get("html_url") or "",
        "github_created_at": _dt(run.get("created_at")),
        "github_updated_at": _dt(run.get("updated_at")),
    }


def webhook_url(integration: GitHubIntegration) -> str:
    path = reverse("integrations_external:github-webhook", kwargs={"pk": integration.pk})
    return settings.PUBLIC_BASE_URL + path


def story_url(story) -> str:
    return f"{settings.PUBLIC_BASE_URL}/api/v1/user-stories/{story.pk}/"


class GitHubService:
    def __init__(self, integration: GitHubIntegration, *, client: GitHubClient | None = None):
        self.integration = integration
        self._client = client

    @property
    def client(self) -> GitHubClient:
        if self._client is None:
            self._client = GitHubClient(
                self.integration.access_token, self.integration.api_base_url
            )
        return self._client

    @property
    def _repo(self) -> tuple[str, str]:
        return self.integration.repository_owner, self.integration.repository_name

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

    def create_issue(self, title: str, body: str, labels: list[str] | None = None) -> dict:
        with self._mutation_slot(), self._api() as gh:
            return gh.create_issue(*self._repo, title=title, body=body, labels=labels)

    def get_pull_requests(self) -> list[dict[str, Any]]:
        """Every pull request (all states, all pages)."""
        items, _, _ = self._fetch_all_pull_requests(etag="")
        return items

    def create_webhook(self) -> dict[str, Any]:
        with self._mutation_slot(), self._api() as gh:
            hook = gh.create_webhook(
                *self._repo,
                url=webhook_url(self.integration),
                secret=self.integration.webhook_secret,
                events=WEBHOOK_EVENTS,
            )
        self.integration.hook_id = hook.get("id")
        GitHubIntegration.objects.filter(pk=self.integration.pk).update(
            hook_id=self.integration.hook_id
        )
        return hook

    def verify_connection(self) -> dict[str, Any]:
        """Check token, repository and permissions; store and return the verdict in words."""
        result = self._verify()
        self.integration.last_verified_at = timezone.now()
        self.integration.last_verification_ok = result["ok"]
        self.integration.last_verification_detail = result["detail"]
        GitHubIntegration.objects.filter(pk=self.integration.pk).update(
            last_verified_at=self.integration.last_verified_at,
            last_verification_ok=result["ok"],
            last_verification_detail=result["detail"],
        )
        return result

    def _verify(self) -> dict[str, Any]:
        name = self.integration.full_name
        base = {"ok": False, "repository": name, "permissions": None, "missing": []}
        try:
            repo = self.get_repository()
        except AuthError:
            return {
                **base,
                "detail": "GitHub rejected the access token (401 Bad credentials): it is wrong, "
                "expired or revoked. Create a new token and save it on this integration.",
            }
        except NotFound:
            return {
                **base,
                "detail": f"Repository {name} was not found, or this token has no access to it. "
                "Check the owner and name; for a fine-grained token, add this repository to "
                "the token's repository access.",
            }
        except RateLimited as exc:
            return {
                **base,
                "detail": f"GitHub's rate limit is exhausted; try again in "
                f"{int(exc.retry_after or 60)} seconds.",
            }
        except Forbidden as exc:
            return {**base, "detail": f"GitHub refused access to {name}: {exc}"}
        except IntegrationError as exc:
            return {
                **base,
                "detail": f"Could not talk to GitHub at {self.integration.api_base_url}: {exc}",
            }
        permissions = repo.get("permissions") or {}
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
            detail = (
                f"Connected to {repo.get('full_name', name)}, but missing "
                + "; ".join(missing)
                + "."
            )
        else:
            detail = f"Connected to {repo.get('full_name', name)} with write and admin access."
        return {
            **base,
            "ok": not missing,
            "detail": detail,
            "permissions": permissions,
            "missing": missing,
            "can_create_issues": bool(permissions.get("push") or permissions.get("admin")),
            "can_create_webhooks": bool(permissions.get("admin")),
            "default_branch": repo.get("default_branch"),
            "private": repo.get("private"),
        }

    # -- story → issue ----------------------------------------------------------------------
    def create_issue_from_story(self, story) -> IssueResult:
        """The story's issue: created once, whatever the number of calls or retries."""
        if story.project_id != self.integration.project_id:
            raise PermanentError("This story belongs to another project than the integration's.")
        link, claimed = self._claim_issue(story)
        if not claimed:
            return IssueResult(link, created=False)
        try:
            if link.state == GitHubIssueLink.State.CREATING and self._was_interrupted(link):
                adopted = self._adopt_existing_issue(link)
                if adopted is not None:
                    return IssueResult(self._finish(link, adopted), created=False)
            issue = self.create_issue(self._issue_title(story), self._issue_body(story))
        except (RateLimited, Busy, PermanentError):
            # Certainly not created by this attempt: release the claim so a later call starts
            # afresh (an earlier interrupted attempt keeps its row: the issue may exist).
            pending = GitHubIssueLink.objects.filter(
                pk=link.pk, state=GitHubIssueLink.State.CREATING
            )
            if self._was_interrupted(link):
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

    @staticmethod
    def _was_interrupted(link: GitHubIssueLink) -> bool:
        return not getattr(link, "_fresh_claim", True)

    def _adopt_existing_issue(self, link: GitHubIssueLink) -> dict[str, Any] | None:
        """After an interrupted attempt: the issue may exist already (our marker is in its body)."""
        marker = ISSUE_MARKER.format(link.story_id)
        with self._api() as gh:
            issues = gh.list_recent_issues(*self._repo)
        for issue in issues:
            if marker in (issue.get("body") or "") and "pull_request" not in issue:
                return issue
        return None

    def _finish(self, link: GitHubIssueLink, issue: dict[str, Any]) -> GitHubIssueLink:
        link.state = GitHubIssueLink.State.CREATED
        link.issue_number = issue.get("number")
        link.issue_url = issue.get("html_url") or ""
        link.issue_state = issue.get("state") or "open"
        link.issue_title = (issue.get("title") or "")[:300]
        link.claimed_at = None
        link.save()
        return link

    @staticmethod
    def _issue_title(story) -> str:
        return f"{story.key}: {story.title}"[:256]

    @staticmethod
    def _issue_body(story) -> str:
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

    def sync_pull_requests(self) -> dict[str, Any]:
        """Mirror every pull request; answer counts created/updated/unchanged."""
        items, etag, pages = self._fetch_all_pull_requests(self.integration.pulls_etag)
        if items is None:
            counts = {
                "created": 0,
                "updated": 0,
                "unchanged": self.integration.pull_requests.count(),
                "not_modified": True,
            }
        else:
            counts = {**self.upsert_pull_requests(items), "not_modified": False}
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

    @transaction.atomic
    def upsert_pull_requests(
        self, items: list[dict[str, Any]], *, announce_new_merges: bool = False
    ) -> dict[str, int]:
        """Create or update mirror rows in bulk and relink stories; publish newly merged ones."""
        incoming = {pr["number"]: pull_request_fields(pr) for pr in items if "number" in pr}
        existing = {
            pr.number: pr
            for pr in GitHubPullRequest.objects.filter(
                integration=self.integration, number__in=list(incoming)
            )
        }
        to_create, to_update, newly_merged = [], [], []
        for number, fields in incoming.items():
            row = existing.get(number)
            if row is None:
                row = GitHubPullRequest(integration=self.integration, number=number, **fields)
                to_create.append(row)
                # A first sync must not announce years of history; a webhook's merge is news.
                if announce_new_merges and fields["state"] == "merged":
                    newly_merged.append(row)
                continue
            if any(getattr(row, name) != value for name, value in fields.items()):
                if fields["state"] == "merged" and row.state != "merged":
                    newly_merged.append(row)
                for name, value in fields.items():
                    setattr(row, name, value)
                to_update.append(row)
        GitHubPullRequest.objects.bulk_create(to_create, batch_size=500)
        if to_update:
            GitHubPullRequest.objects.bulk_update(to_update, PR_FIELDS, batch_size=500)
        rows = list(
            GitHubPullRequest.objects.filter(
                integration=self.integration, number__in=list(incoming)
            )
        )
        self._link_stories(rows)
        by_number = {row.number: row for row in rows}
        for row in newly_merged:
            self._publish_merged(by_number[row.number])
        return {
            "created": len(to_create),
            "updated": len(to_update),
            "unchanged": len(incoming) - len(to_create) - len(to_update),
        }

    def _link_stories(self, rows: list[GitHubPullRequest]) -> None:
        from apps.projects.models import UserStory

        wanted: dict[int, set[int]] = {
            row.pk: story_keys(row.title, row.head_ref, row.body) for row in rows
        }
        all_ids = set().union(*wanted.values()) if wanted else set()
        valid = set(
            UserStory.objects.filter(
                pk__in=all_ids, project_id=self.integration.project_id
            ).values_list("pk", flat=True)
        )
        through = GitHubPullRequest.stories.through
        current = set(
            through.objects.filter(githubpullrequest_id__in=list(wanted)).values_list(
                "githubpullrequest_id", "userstory_id"
            )
        )
        desired = {(pr, story) for pr, ids in wanted.items() for story in ids & valid}
        if current - desired:
            q = Q()
            for pr, story in current - desired:
                q |= Q(githubpullrequest_id=pr, userstory_id=story)
            through.objects.filter(q).delete()
        through.objects.bulk_create(
            [
                through(githubpullrequest_id=pr, userstory_id=story)
                for pr, story in desired - current
            ],
            batch_size=500,
        )

    def _publish_merged(self, row: GitHubPullRequest) -> None:
        stories = list(row.stories.all())
        if not stories:
            return
        from apps.integrations_external.events import publish

        publish(
            "github.pull_request.merged",
            {
                "project": project_data(self.integration.project),
                "repository": self.integration.full_name,
                "pull_request": {
                    "number": row.number,
                    "title": row.title,
                    "html_url": row.html_url,
                    "author": row.author,
                    "head_ref": row.head_ref,
                    "base_ref": row.base_ref,
                    "merged_at": row.merged_at.isoformat().replace("+00:00", "Z")
                    if row.merged_at
                    else None,
                },
                "user_stories": [{"id": s.pk, "key": s.key, "title": s.title} for s in stories],
            },
            project=self.integration.project,
        )

    # -- workflow runs ----------------------------------------------------------------------
    def sync_workflow_runs(self) -> dict[str, int]:
        with self._api() as gh:
            runs = gh.list_workflow_runs(*self._repo)
        return self.upsert_workflow_runs(runs)

    @transaction.atomic
    def upsert_workflow_runs(self, runs: list[dict[str, Any]]) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for run in runs:
            if "id" not in run:
                continue
            fields = workflow_run_fields(run)
            row, created = GitHubWorkflowRun.objects.get_or_create(
                integration=self.integration, run_id=run["id"], defaults=fields
            )
            if created:
                counts["created"] += 1
            elif any(getattr(row, k) != v for k, v in fields.items()):
                GitHubWorkflowRun.objects.filter(pk=row.pk).update(**fields)
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        return counts

    # -- incoming webhooks ------------------------------------------------------------------
    def handle_webhook(
        self, event: str, delivery_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Apply one verified delivery. Returns {"handled": bool, ...}; a repeated delivery id
        is ignored. The delivery row commits with the changes it caused."""
        if event == "ping":
            return {"handled": True, "event": "ping", "zen": payload.get("zen", "")}
        handlers = {
            "pull_request": self._on_pull_request,
            "issues": self._on_issues,
            "workflow_run": self._on_workflow_run,
        }
        handler = handlers.get(event)
        if handler is None or (event == "workflow_run" and not self.integration.sync_workflows):
            return {"handled": False, "event": event}
        try:
            with transaction.atomic():
                if delivery_id:
                    GitHubWebhookDelivery.objects.create(
                        integration=self.integration,
                        delivery_id=delivery_id[:100],
                        event=event,
                        action=str(payload.get("action") or "")[:50],
                    )
                result = handler(payload)
        except IntegrityError:
            return {"handled": True, "event": event, "duplicate": True}
        return {"handled": True, "event": event, "duplicate": False, **result}

    def _on_pull_request(self, payload: dict[str, Any]) -> dict[str, Any]:
        pr = payload.get("pull_request") or {}
        if "number" not in pr:
            return {"pull_request": None}
        counts = self.upsert_pull_requests([pr], announce_new_merges=True)
        row = GitHubPullRequest.objects.get(integration=self.integration, number=pr["number"])
        return {"pull_request": row.number, "state": row.state, **counts}

    def _on_issues(self, payload: dict[str, Any]) -> dict[str, Any]:
        issue = payload.get("issue") or {}
        number = issue.get("number")
        updated = GitHubIssueLink.objects.filter(
            integration=self.integration, issue_number=number
        ).update(
            issue_state=(issue.get("state") or "")[:20],
            issue_title=(issue.get("title") or "")[:300],
            issue_url=issue.get("html_url") or "",
            updated_at=timezone.now(),
        )
        return {"issue": number, "links_updated": updated}

    def _on_workflow_run(self, payload: dict[str, Any]) -> dict[str, Any]:
        run = payload.get("workflow_run") or {}
        return {"workflow_run": run.get("id"), **self.upsert_workflow_runs([run])}


def verify_and_handle_webhook(
    integration: GitHubIntegration, *, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any] | None]:
    """The receiver's whole job: (HTTP status, answer). The signature is checked over the raw
    body before anything is parsed; a bad or missing one stores nothing."""
    import json

    if not signature_is_valid(integration.webhook_secret, body, headers.get("x-hub-signature-256")):
        return 401, {"detail": "Missing or invalid X-Hub-Signature-256."}
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return 400, {"detail": "The body is not JSON (set the webhook's content type to json)."}
    if not isinstance(payload, dict):
        return 400, {"detail": "The body must be a JSON object."}
    event = headers.get("x-github-event", "")
    result = GitHubService(integration).handle_webhook(
        event, headers.get("x-github-delivery", ""), payload
    )
    if not result["handled"]:
        return 204, None
    return 200, result


__all__ = [
    "WEBHOOK_EVENTS",
    "Busy",
    "GitHubService",
    "IssueResult",
    "pull_request_fields",
    "signature_is_valid",
    "story_keys",
    "verify_and_handle_webhook",
    "webhook_url",
]
