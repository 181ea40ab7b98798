"""The mirror of a repository's pull requests and Actions runs, and their links to stories.

Shared by the periodic sync (GitHubService.sync_pull_requests) and the webhook receiver
(github_webhooks), which both hand GitHub's pull-request objects to `upsert_pull_requests`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from apps.integrations_external.catalog import project_data
from apps.integrations_external.models.github import (
    GitHubIntegration,
    GitHubPullRequest,
    GitHubWorkflowRun,
)

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


def story_keys(*texts: str | None) -> set[int]:
    """Story ids named as `US-<id>` (any case) in the given texts."""
    ids: set[int] = set()
    for text in texts:
        if text:
            ids.update(int(m) for m in STORY_KEY_RE.findall(text))
    return ids


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


@transaction.atomic
def upsert_pull_requests(
    integration: GitHubIntegration,
    items: list[dict[str, Any]],
    *,
    announce_new_merges: bool = False,
) -> dict[str, int]:
    """Create or update mirror rows in bulk and relink stories; publish newly merged ones."""
    incoming = {pr["number"]: pull_request_fields(pr) for pr in items if "number" in pr}
    existing = {
        pr.number: pr
        for pr in GitHubPullRequest.objects.filter(
            integration=integration, number__in=list(incoming)
        )
    }
    to_create, to_update, newly_merged = [], [], []
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
    return {
        "created": len(to_create),
        "updated": len(to_update),
        "unchanged": len(incoming) - len(to_create) - len(to_update),
    }


def link_stories(integration: GitHubIntegration, rows: list[GitHubPullRequest]) -> None:
    from apps.projects.models import UserStory

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
    from apps.integrations_external.events import publish

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
        if "id" not in run:
            continue
        fields = workflow_run_fields(run)
        row, created = GitHubWorkflowRun.objects.get_or_create(
            integration=integration, run_id=run["id"], defaults=fields
        )
        if created:
            counts["created"] += 1
        elif any(getattr(row, k) != v for k, v in fields.items()):
            GitHubWorkflowRun.objects.filter(pk=row.pk).update(**fields)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    return counts
