"""Email messages: subject, plain text and HTML for one delivery, from Django templates.

Every message renders from the delivery's stored payload (the event envelope), so a retry sends
the same email. One layout (email/base.html, email/base.txt); one template pair per kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.dateparse import parse_datetime
from django.utils.safestring import mark_safe

from apps.integrations_external import catalog
from apps.integrations_external.email.models import EmailNotificationSettings
from apps.integrations_external.email.unsubscribe import ALL_SWITCHES, unsubscribe_url

TEMPLATE_DIR = "integrations_external/email"
SUBJECT_LIMIT = 200

# Which setting turns each kind of email off (and what the footer calls it).
SWITCH_LABELS = {
    "workflow_completion": "workflow notifications",
    "command_execution": "command notifications",
    "system_alerts": "system alerts",
    "project_updates": "project updates",
    "daily_summary": "daily summary",
    "weekly_summary": "weekly summary",
    "integration_notices": "integration notices",
    ALL_SWITCHES: "all email notifications",
}
SPECIAL_SWITCHES = {
    "email.daily_summary": "daily_summary",
    "email.weekly_summary": "weekly_summary",
    "email.notice": "integration_notices",
    "email.test": ALL_SWITCHES,
}


@dataclass(frozen=True)
class OutgoingEmail:
    """One finished message: what the transport hands to Django's email backend."""

    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]


def public_url(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


def sender_domain() -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "localhost"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    switch: str
    unsubscribe_url: str


def switch_for(event_type: str) -> str:
    """The setting that governs an event type's email."""
    if event_type in SPECIAL_SWITCHES:
        return SPECIAL_SWITCHES[event_type]
    return EmailNotificationSettings.EVENT_SWITCHES.get(
        catalog.category_of(event_type), ALL_SWITCHES
    )


def one_line(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """A header-safe subject: no line breaks (they would be refused), bounded length."""
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _when(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _project_prefix(data: dict[str, Any]) -> str:
    project = data.get("project") or {}
    return (
        f"[{project.get('name')}]" if project.get("name") else f"[{settings.EMAIL_PLATFORM_NAME}]"
    )


# --- Per kind: (template, subject, context) ---------------------------------------------------


def _workflow(event_type: str, data: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    workflow = data.get("workflow") or {}
    execution = data.get("execution") or {}
    failed = event_type == "workflow.failed"
    recovered = not failed and data.get("previous_status") == "failed"
    outcome = "failed" if failed else ("completed, back to normal" if recovered else "completed")
    subject = f"{_project_prefix(data)} Workflow “{workflow.get('name', '?')}” {outcome}"
    return (
        "workflow",
        subject,
        {
            "workflow": workflow,
            "execution": execution,
            "failed": failed,
            "recovered": recovered,
            "outcome": outcome,
            "duration": _duration(execution.get("duration_seconds")),
            "completed_at": _when(execution.get("completed_at")),
            "url": public_url(f"/workflow-executions/{execution.get('id')}/"),
        },
    )


def _command(event_type: str, data: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    command = data.get("command") or {}
    execution = data.get("execution") or {}
    failed = execution.get("status") == "failed"
    exit_code = execution.get("exit_code")
    outcome = (
        f"failed (exit {exit_code})"
        if failed and exit_code is not None
        else ("failed" if failed else "succeeded")
    )
    subject = f"{_project_prefix(data)} Command “{command.get('name', '?')}” {outcome}"
    output = execution.get("output_excerpt") or ""
    tail = "\n".join(output.splitlines()[-30:])
    return (
        "command",
        subject,
        {
            "command": command,
            "execution": execution,
            "failed": failed,
            "outcome": outcome,
            "output_tail": tail,
            "duration": _duration(execution.get("duration_seconds")),
            "url": public_url(f"/command-executions/{execution.get('id')}/"),
        },
    )


def _alert(event_type: str, data: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    alert = data.get("alert") or {}
    severity = (alert.get("severity") or "info").capitalize()
    subject = f"[{settings.EMAIL_PLATFORM_NAME}] {severity} alert: {alert.get('title', '')}"
    return (
        "alert",
        subject,
        {
            "alert": alert,
            "severity": severity,
            "created_at": _when(alert.get("created_at")),
            "url": public_url(f"/api/v1/system-alerts/{alert.get('id')}/"),
        },
    )


def _project(event_type: str, data: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    project = data.get("project") or {}
    context: dict[str, Any] = {"project": project, "event_type": event_type}
    if event_type == "project.updated":
        changed = ", ".join(data.get("changed_fields") or []) or "details"
        subject = f"{_project_prefix(data)} Project updated: {changed}"
        context.update(headline=f"Project “{project.get('name')}” was updated", changed=changed)
        context["url"] = public_url(f"/projects/{project.get('id')}/")
    elif event_type == "user_story.created":
        story = data.get("user_story") or {}
        subject = (
            f"{_project_prefix(data)} New story {story.get('key', '')}: {story.get('title', '')}"
        )
        context.update(headline=f"New story {story.get('key', '')}", story=story)
        context["url"] = public_url(f"/stories/{story.get('id')}/")
    else:
        known = catalog.EVENT_TYPES.get(event_type)
        description = known.description.rstrip(".") if known else event_type
        pr = data.get("pull_request") or {}
        title = pr.get("title") or ""
        subject = f"{_project_prefix(data)} {description}" + (f": {title}" if title else "")
        context.update(headline=description, pull_request=pr)
        context["url"] = (
            pr.get("html_url") or pr.get("url") or public_url(f"/projects/{project.get('id')}/")
        )
    return "project", subject, context


def _summary(event_type: str, data: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    period = data.get("period", "daily")
    totals = data.get("totals") or {}
    start, end = _when(data.get("start")), _when(data.get("end"))
    failed = totals.get("workflows_failed", 0) + totals.get("commands_failed", 0)
    if period == "weekly" and start and end:
        span = f"week of {start:%b} {start.day}"
    else:
        span = f"{start:%b} {start.day}" if start else ""
    headline = f"{failed} failure{'s' if failed != 1 else ''}" if failed else "nothing failed"
    subject = f"[{settings.EMAIL_PLATFORM_NAME}] Your {period} summary, {span}: {headline}"
    failures = [
        {**f, "at": _when(f.get("at")), "url": public_url(f["path"])}
        for f in data.get("failures") or []
    ]
    alerts = data.get("alerts")
    if alerts:
        alerts = {
            **alerts,
            "notable": [
                {**a, "at": _when(a.get("at")), "url": public_url(a["path"])}
                for a in alerts.get("notable") or []
            ],
        }
    return (
        "summary",
        subject,
        {
            "period": period,
            "start": start,
            "end": end,
            "totals": totals,
            "projects": data.get("projects") or [],
            "failures": failures,
            "more_failures": data.get("more_failures", 0),
            "alerts": alerts,
            "failed": failed,
        },
    )


def _test(event_type: str, data: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    subject = f"[{settings.EMAIL_PLATFORM_NAME}] Test email: your notifications reach you"
    return "test", subject, {"requested_at": _when(data.get("requested_at"))}


def _notice(event_type: str, data: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    subject = f"[{settings.EMAIL_PLATFORM_NAME}] {data.get('subject') or 'Notice'}"
    html = data.get("html")
    # A caller's own HTML (trusted code, never user input) replaces the escaped text in the layout.
    return (
        "notice",
        subject,
        {
            "body_text": data.get("text") or "",
            "body_html": mark_safe(html) if html else None,  # noqa: S308 - trusted caller HTML
        },
    )


BUILDERS = {
    "workflow.completed": _workflow,
    "workflow.failed": _workflow,
    "command.executed": _command,
    "system.alert": _alert,
    "email.daily_summary": _summary,
    "email.weekly_summary": _summary,
    "email.test": _test,
    "email.notice": _notice,
}


def _membership(data: dict[str, Any], user) -> dict[str, Any] | None:
    """Why `user` gets a project's email: the project, its owner, and (for a member) where to
    leave it. From the payload, like the rest of the message."""
    project = data.get("project")
    if not isinstance(project, dict) or not project.get("name") or user is None:
        return None
    owner_data = project.get("owner")
    owner = owner_data if isinstance(owner_data, dict) else {}
    is_owner = owner.get("id") == user.pk
    project_id = project.get("id")
    can_leave = isinstance(project_id, int) and not isinstance(project_id, bool) and not is_owner
    return {
        "project_name": project["name"],
        "owner_name": owner.get("username") or "",
        "is_owner": is_owner,
        "leave_url": public_url(f"/api/v1/projects/{project_id}/leave/") if can_leave else "",
    }


def render(
    event_type: str, data: dict[str, Any], *, user, switch: str | None = None
) -> RenderedEmail:
    """The email for one event to one person."""
    builder = BUILDERS.get(event_type, _project)
    template, subject, context = builder(event_type, data)
    switch = switch or switch_for(event_type)
    context.update(
        subject=one_line(subject),
        user=user,
        greeting_name=(user.get_full_name() or user.get_username()) if user else "",
        platform_name=settings.EMAIL_PLATFORM_NAME,
        base_url=settings.PUBLIC_BASE_URL,
        settings_url=public_url("/account/email/"),
        unsubscribe_url=unsubscribe_url(user.pk, switch),
        switch=switch,
        switch_label=SWITCH_LABELS.get(switch, switch),
        membership=_membership(data, user),
        data=data,
    )
    text = render_to_string(f"{TEMPLATE_DIR}/{template}.txt", context)
    html = render_to_string(f"{TEMPLATE_DIR}/{template}.html", context)
    return RenderedEmail(
        subject=context["subject"],
        text=_tidy_text(text),
        html=html,
        switch=switch,
        unsubscribe_url=context["unsubscribe_url"],
    )


def _tidy_text(text: str) -> str:
    """Templates leave blank runs where tags were; keep at most one empty line."""
    return (
        re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()
        + "\n"
    )


def message_id_for(delivery) -> str:
    """The same Message-ID for every attempt of a delivery."""
    return f"<{delivery.event_id}.{delivery.pk}@{sender_domain()}>"


def outgoing_for(delivery) -> tuple[OutgoingEmail, RenderedEmail]:
    """The finished message for an email delivery: multipart content plus the headers every
    notification carries (RFC 8058 one-click unsubscribe, a stable Message-ID)."""
    payload = delivery.payload or {}
    event_type = payload.get("type") or delivery.event_type
    rendered = render(event_type, payload.get("data") or {}, user=delivery.recipient)
    headers = {
        "Message-ID": message_id_for(delivery),
        "List-Unsubscribe": f"<{rendered.unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
        "X-Event-ID": delivery.event_id,
        "X-Event-Type": event_type,
    }
    outgoing = OutgoingEmail(
        to=delivery.to_address,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        headers=headers,
    )
    return outgoing, rendered
