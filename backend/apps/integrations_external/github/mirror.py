"""The mirror of a repository's pull requests and Actions runs, and their links to stories.

Shared by the periodic sync (GitHubService.sync_pull_requests) and the webhook receiver
(github/receiver.py), which both hand GitHub's pull-request objects to `upsert_pull_requests`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.integrations_external.catalog import project_data
from apps.integrations_external.github.models import (
    GitHubIntegration,
    GitHubPullRequest,
    GitHubWorkflowRun,
)
from apps.integrations_external.pipeline.events import publish
from apps.projects.models import UserStory

STORY_KEY_RE = re.compile(r"(?<![A-Za-z0-9])US-(\d+)(?!\d)", re.IGNORECASE)
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
INT_MAX = 2**31 - 1  # IntegerField
BIGINT_MAX = 2**63 - 1  # BigIntegerField
BODY_MAX = 65_536  # GitHub's own limit on a pull request's body


class Unusable(ValueError):
    """A GitHub object whose fields we read are missing, of the wrong type or out of range."""


def story_keys(*texts: str | None) -> set[int]:
    """Story ids named as `US-<id>` (any case) in the given texts."""
    ids: set[int] = set()
    for text in texts:
        if text:
            ids.update(int(m) for m in STORY_KEY_RE.findall(text))
    return ids


def _int(obj: dict[str, Any], name: str, *, maximum: int = INT_MAX, required: bool = False):
    value = obj.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise Unusable(f"`{name}` must be a whole number from 0 to {maximum}")
    return value


def _text(obj: dict[str, Any], name: str, limit: int) -> str:
    value = obj.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Unusable(f"`{name}` must be a string")
    return value[:limit]


def _object(obj: dict[str, Any], name: str) -> dict[str, Any]:
    value = obj.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Unusable(f"`{name}` must be an object")
    return value


def _when(obj: dict[str, Any], name: str) -> datetime | None:
    value = _text(obj, name, 64)
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:  # well-formed but impossible: month 13, hour 25
        parsed = None
    if parsed is None:
        raise Unusable(f"`{name}` is not a date and time")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def pull_request_fields(pr: Any) -> tuple[int, dict[str, Any]]:
    """(number, mirror fields) of a pull request as the REST list and the webhook payload give
    it. Raises Unusable when a field we read is not what GitHub sends."""
    if not isinstance(pr, dict):
        raise Unusable("a pull request must be an object")
    number = _int(pr, "number", required=True)
    merged_at = _when(pr, "merged_at")
    state = _text(pr, "state", 10) or "open"
    if state not in ("open", "closed"):
        raise Unusable("`state` must be open or closed")
    if merged_at or pr.get("merged") is True:
        state = "merged"
    return number, {
        "github_id": _int(pr, "id", maximum=BIGINT_MAX),
        "title": _text(pr, "title", 500),
        "body": _text(pr, "body", BODY_MAX),
        "state": state,
        "draft": pr.get("draft") is True,
        "author": _text(_object(pr, "user"), "login", 100),
        "head_ref": _text(_object(pr, "head"), "ref", 255),
        "base_ref": _text(_object(pr, "base"), "ref", 255),
        "html_url": _text(pr, "html_url", 500),
        "github_created_at": _when(pr, "created_at"),
        "github_updated_at": _when(pr, "updated_at"),
        "merged_at": merged_at,
        "closed_at": _when(pr, "closed_at"),
    }


def workflow_run_fields(run: Any) -> tuple[int, dict[str, Any]]:
    """(run id, mirror fields) of an Actions run; Unusable when a field we read is wrong."""
    if not isinstance(run, dict):
        raise Unusable("a workflow run must be an object")
    run_id = _int(run, "id", maximum=BIGINT_MAX, required=True)
    return run_id, {
        "name": _text(run, "name", 255),
        "run_number": _int(run, "run_number"),
        "event": _text(run, "event", 50),
        "status": _text(run, "status", 30),
        "conclusion": _text(run, "conclusion", 30),
        "head_branch": _text(run, "head_branch", 255),
        "head_sha": _text(run, "head_sha", 64),
        "html_url": _text(run, "html_url", 500),
        "github_created_at": _when(run, "created_at"),
        "github_updated_at": _when(run, "updated_at"),
    }


def issue_fields(issue: Any) -> tuple[int, dict[str, Any]]:
    """(number, link fields) of an `issues` webhook's issue; Unusable when a field is wrong."""
    if not isinstance(issue, dict):
        raise Unusable("`issue` must be an object")
    number = _int(issue, "number", required=True)
    return number, {
        "issue_state": _text(issue, "state", 20),
        "issue_title": _text(issue, "title", 300),
        "issue_url": _text(issue, "html_url", 500),
    }


def _usable(items: list[dict[str, Any]]) -> tuple[dict[int, dict[str, Any]], int]:
    """The items' fields by pull-request number, and how many items were unusable."""
    incoming: dict[int, dict[str, Any]] = {}
    skipped = 0
    for item in items:
        try:
            number, fields = pull_request_fields(item)
        except Unusable:
            skipped += 1
            continue
        incoming[number] = fields
    return incoming, skipped


PullRequests = list[GitHubPullRequest]


def _changes(
    integration: GitHubIntegration,
    incoming: dict[int, dict[str, Any]],
    existing: dict[int, GitHubPullRequest],
    *,
    announce_new_merges: bool,
) -> tuple[PullRequests, PullRequests, PullRequests]:
    """(rows to create, rows changed in place to update, rows newly merged)."""
    to_create: PullRequests = []
    to_update: PullRequests = []
    newly_merged: PullRequests = []
    for number, fields in incoming.items():
        row = existing.get(number)
        if row is None:
            row = GitHubPullRequest(integration=integration, number=number, **fields)
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
    return to_create, to_update, newly_merged


@transaction.atomic
def upsert_pull_requests(
    integration: GitHubIntegration,
    items: list[dict[str, Any]],
    *,
    announce_new_merges: bool = False,
) -> dict[str, int]:
    """Create or update mirror rows in bulk and relink stories; publish newly merged ones.
    Items we cannot use (wrong types, impossible dates) are skipped and counted."""
    incoming, skipped = _usable(items)
    existing = {
        pr.number: pr
        for pr in GitHubPullRequest.objects.filter(
            integration=integration, number__in=list(incoming)
        )
    }
    to_create, to_update, newly_merged = _changes(
        integration, incoming, existing, announce_new_merges=announce_new_merges
    )
    GitHubPullRequest.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        GitHubPullRequest.objects.bulk_update(to_update, PR_FIELDS, batch_size=500)
    rows = list(
        GitHubPullRequest.objects.filter(integration=integration, number__in=list(incoming))
    )
    link_stories(integration, rows)
    by_number = {row.number: row for row in rows}
    for row in newly_merged:
        publish_merged(integration, by_number[row.number])
    counts = {
        "created": len(to_create),
        "updated": len(to_update),
        "unchanged": len(incoming) - len(to_create) - len(to_update),
    }
    if skipped:
        counts["skipped"] = skipped
    return counts


def link_stories(integration: GitHubIntegration, rows: list[GitHubPullRequest]) -> None:
    wanted: dict[int, set[int]] = {
        row.pk: story_keys(row.title, row.head_ref, row.body) for row in rows
    }
    all_ids = set().union(*wanted.values()) if wanted else set()
    valid = set(
        UserStory.objects.filter(pk__in=all_ids, project_id=integration.project_id).values_list(
            "pk", flat=True
        )
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
        [through(githubpullrequest_id=pr, userstory_id=story) for pr, story in desired - current],
        batch_size=500,
    )


def publish_merged(integration: GitHubIntegration, row: GitHubPullRequest) -> None:
    stories = list(row.stories.all())
    if not stories:
        return
    publish(
        "github.pull_request.merged",
        {
            "project": project_data(integration.project),
            "repository": integration.full_name,
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
        project=integration.project,
    )


@transaction.atomic
def upsert_workflow_runs(
    integration: GitHubIntegration, runs: list[dict[str, Any]]
) -> dict[str, int]:
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for run in runs:
        try:
            run_id, fields = workflow_run_fields(run)
        except Unusable:
            counts["skipped"] = counts.get("skipped", 0) + 1
            continue
        row, created = GitHubWorkflowRun.objects.get_or_create(
            integration=integration, run_id=run_id, defaults=fields
        )
        if created:
            counts["created"] += 1
        elif any(getattr(row, k) != v for k, v in fields.items()):
            GitHubWorkflowRun.objects.filter(pk=row.pk).update(**fields)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    return counts
