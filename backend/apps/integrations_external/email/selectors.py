"""Reads that build an email's data: the summary period and what happened in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from apps.alerts.models import SystemAlert
from apps.commands.models import CommandExecution
from apps.integrations_external import catalog
from apps.integrations_external.email.models import EmailDelivery, SentSummary
from apps.integrations_external.pipeline.models import Event
from apps.projects.models import Project
from apps.workflows.models import WorkflowExecution

SUMMARY_LENGTHS: dict[str, timedelta] = {
    SentSummary.Period.DAILY: timedelta(days=1),
    SentSummary.Period.WEEKLY: timedelta(days=7),
}
NOTABLE_LIMIT = 10
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def emails_sent_to(user: User) -> QuerySet[EmailDelivery]:
    """A person's sent-mail history (their own only), newest first."""
    return EmailDelivery.objects.filter(recipient=user).order_by("-created_at", "-id")


def summary_window(period: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last complete period before `now`, on fixed boundaries (the configured UTC hour,
    and weekday for weekly), so every run within one period computes the same window."""
    now = now or timezone.now()
    hour = settings.EMAIL_SUMMARY_HOUR_UTC
    end = now.astimezone(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    if end > now:
        end -= timedelta(days=1)
    if period == SentSummary.Period.WEEKLY:
        weekday = WEEKDAYS.index(settings.EMAIL_WEEKLY_SUMMARY_DAY)
        end -= timedelta(days=(end.weekday() - weekday) % 7)
    elif period != SentSummary.Period.DAILY:
        raise ValueError(f"unknown summary period {period!r}")
    return end - SUMMARY_LENGTHS[period], end


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


COUNTERS = (
    "workflows_completed",
    "workflows_failed",
    "commands_succeeded",
    "commands_failed",
    "project_updates",
)


def _counts_per_project(
    project_ids: list[int],
    workflows: QuerySet[WorkflowExecution],
    commands: QuerySet[CommandExecution],
    updates: QuerySet[Event],
) -> dict[int, dict[str, int]]:
    per_project = {pk: dict.fromkeys(COUNTERS, 0) for pk in project_ids}
    for wf_row in workflows.values("workflow__project_id", "status").annotate(n=Count("pk")):
        key = "workflows_completed" if wf_row["status"] == "completed" else "workflows_failed"
        per_project[wf_row["workflow__project_id"]][key] += wf_row["n"]
    for cmd_row in commands.values("command__project_id", "status").annotate(n=Count("pk")):
        key = "commands_succeeded" if cmd_row["status"] == "succeeded" else "commands_failed"
        per_project[cmd_row["command__project_id"]][key] += cmd_row["n"]
    for update_row in updates.values("project_id").annotate(n=Count("pk")):
        if update_row["project_id"] is not None:
            per_project[update_row["project_id"]]["project_updates"] += update_row["n"]
    return per_project


def _failures(
    workflows: QuerySet[WorkflowExecution], commands: QuerySet[CommandExecution]
) -> list[dict[str, Any]]:
    """The newest failed runs (workflows and commands), newest first."""
    failures: list[dict[str, Any]] = [
        {
            "kind": "workflow",
            "name": run.workflow.name,
            "project": run.workflow.project.name,
            "at": _iso(run.completed_at),
            "detail": (run.error_message or "")[:300],
            "path": f"/workflow-executions/{run.pk}/",
        }
        for run in workflows.filter(status="failed")
        .select_related("workflow__project")
        .order_by("-completed_at")[: NOTABLE_LIMIT + 1]
    ]
    failures += [
        {
            "kind": "command",
            "name": execution.command.name,
            "project": execution.command.project.name,
            "at": _iso(execution.completed_at),
            "detail": f"exit code {execution.exit_code}" if execution.exit_code is not None else "",
            "path": f"/command-executions/{execution.pk}/",
        }
        for execution in commands.filter(status="failed")
        .select_related("command__project")
        .order_by("-completed_at")[: NOTABLE_LIMIT + 1]
    ]
    failures.sort(key=lambda f: f["at"] or "", reverse=True)
    return failures


def _alerts(start: datetime, end: datetime) -> dict[str, Any]:
    alert_qs = SystemAlert.objects.filter(created_at__gte=start, created_at__lt=end)
    by_severity = dict(alert_qs.values_list("severity").annotate(n=Count("pk")))
    notable = alert_qs.filter(severity__in=["error", "critical"]).order_by("-created_at")
    return {
        "total": sum(by_severity.values()),
        "by_severity": by_severity,
        "notable": [
            {
                "severity": a.severity,
                "title": a.title,
                "source": a.source,
                "at": _iso(a.created_at),
                "path": f"/api/v1/system-alerts/{a.pk}/",
            }
            for a in notable[:NOTABLE_LIMIT]
        ],
    }


def summary_data(user: User, period: str, start: datetime, end: datetime) -> dict[str, Any]:
    """What happened in the user's projects (owner or member) in [start, end)."""
    projects = list(
        Project.objects.filter(Q(owner=user) | Q(members=user)).distinct().order_by("name", "pk")
    )
    project_ids = [p.pk for p in projects]
    window = {"completed_at__gte": start, "completed_at__lt": end}
    wf = WorkflowExecution.objects.filter(
        workflow__project_id__in=project_ids, status__in=["completed", "failed"], **window
    )
    cmd = CommandExecution.objects.filter(
        command__project_id__in=project_ids, status__in=["succeeded", "failed"], **window
    )
    updates = Event.objects.filter(
        project_id__in=project_ids,
        occurred_at__gte=start,
        occurred_at__lt=end,
        type__in=[t.name for t in catalog.EVENT_TYPES.values() if t.category == catalog.PROJECT],
    )
    per_project = _counts_per_project(project_ids, wf, cmd, updates)
    failures = _failures(wf, cmd)
    total_failures = sum(p["workflows_failed"] + p["commands_failed"] for p in per_project.values())
    alerts = _alerts(start, end) if user.is_staff else None

    totals = {key: sum(p[key] for p in per_project.values()) for key in COUNTERS}
    totals["alerts"] = alerts["total"] if alerts else 0
    return {
        "period": period,
        "start": _iso(start),
        "end": _iso(end),
        "totals": totals,
        "projects": [
            {"id": p.pk, "name": p.name, **per_project[p.pk]}
            for p in projects
            if any(per_project[p.pk].values())
        ],
        "failures": failures[:NOTABLE_LIMIT],
        "more_failures": max(0, total_failures - min(len(failures), NOTABLE_LIMIT)),
        "alerts": alerts,
        "item_count": sum(totals.values()),
    }
