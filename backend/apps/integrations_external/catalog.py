"""The catalog of event types: their names, their category (which switch turns them on) and
the builders of the data each one carries. Every channel reads events through this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

CUSTOM_TYPE_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")

# Categories map to each target's switches (see OwnedTargetBase.EVENT_SWITCHES).
WORKFLOW, COMMAND, PROJECT, ALERT, TEST, CUSTOM = (
    "workflow",
    "command",
    "project",
    "alert",
    "test",
    "custom",
)
# Email addressed to one person (summaries, test emails, notices): never routed, like TEST.
PERSONAL = "personal"


@dataclass(frozen=True)
class EventType:
    name: str
    category: str
    description: str


EVENT_TYPES: dict[str, EventType] = {
    t.name: t
    for t in [
        EventType("workflow.completed", WORKFLOW, "A workflow execution completed."),
        EventType("workflow.failed", WORKFLOW, "A workflow execution failed."),
        EventType(
            "command.executed", COMMAND, "A command execution finished (status and exit_code)."
        ),
        EventType("project.updated", PROJECT, "A project's name, description or members changed."),
        EventType("user_story.created", PROJECT, "A user story was created."),
        EventType(
            "github.pull_request.merged", PROJECT, "A pull request linked to a story was merged."
        ),
        EventType("system.alert", ALERT, "A system alert was raised."),
        EventType("webhook.test", TEST, "A test sent from the API or the admin."),
        EventType("email.daily_summary", PERSONAL, "One person's daily summary email."),
        EventType("email.weekly_summary", PERSONAL, "One person's weekly summary email."),
        EventType("email.test", PERSONAL, "A test email a person asked for."),
        EventType("email.notice", PERSONAL, "A notice emailed to one person."),
    ]
}
# Published by the platform only; the custom events API refuses them.
RESERVED_PREFIXES = (
    "workflow.",
    "command.",
    "project.",
    "user_story.",
    "system.",
    "webhook.",
    "github.",
    "email.",
)


def category_of(event_type: str) -> str:
    known = EVENT_TYPES.get(event_type)
    return known.category if known else CUSTOM


def is_valid_custom_type(event_type: str) -> bool:
    return bool(CUSTOM_TYPE_RE.match(event_type)) and not event_type.startswith(RESERVED_PREFIXES)


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _seconds(duration) -> float | None:
    return None if duration is None else round(duration.total_seconds(), 3)


def project_data(project) -> dict[str, Any] | None:
    if project is None:
        return None
    # The owner: a project email says whose project it is (why the recipient gets it).
    return {
        "id": project.pk,
        "name": project.name,
        "owner": {"id": project.owner_id, "username": project.owner.get_username()},
    }


def actor_data(user) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.get_username()}


def workflow_execution_data(execution, previous_status: str | None) -> dict[str, Any]:
    workflow = execution.workflow
    return {
        "workflow": {"id": workflow.pk, "name": workflow.name},
        "project": project_data(workflow.project),
        "execution": {
            "id": execution.pk,
            "status": execution.status,
            "started_at": _iso(execution.started_at),
            "completed_at": _iso(execution.completed_at),
            "duration_seconds": _seconds(execution.duration),
            "result": execution.result,
            "error_message": execution.error_message,
            "triggered_by": actor_data(execution.triggered_by),
        },
        # Lets channels say "back to normal" when the previous run had failed.
        "previous_status": previous_status,
    }


OUTPUT_EXCERPT_CHARS = 4000


def command_execution_data(execution) -> dict[str, Any]:
    command = execution.command
    output = execution.output or ""
    return {
        "command": {"id": command.pk, "name": command.name, "command_line": command.command_line},
        "project": project_data(command.project),
        "execution": {
            "id": execution.pk,
            "status": execution.status,
            "exit_code": execution.exit_code,
            "started_at": _iso(execution.started_at),
            "completed_at": _iso(execution.completed_at),
            "duration_seconds": _seconds(execution.duration),
            # The tail: where a failing command says why.
            "output_excerpt": output[-OUTPUT_EXCERPT_CHARS:],
            "output_truncated": execution.output_truncated or len(output) > OUTPUT_EXCERPT_CHARS,
            # How many characters the command printed, so a message can say how many it leaves out.
            "output_chars": execution.output_chars,
            "executed_by": actor_data(execution.executed_by),
        },
        "status": execution.status,
        "exit_code": execution.exit_code,
    }


def project_updated_data(project, changed_fields: list[str]) -> dict[str, Any]:
    return {
        "project": {**(project_data(project) or {}), "description": project.description},
        "changed_fields": list(changed_fields),
    }


def user_story_data(story) -> dict[str, Any]:
    return {
        "project": project_data(story.project),
        "user_story": {
            "id": story.pk,
            "key": story.key,
            "title": story.title,
            "status": story.status,
            "priority": story.priority,
            "created_by": actor_data(story.created_by),
        },
    }


def system_alert_data(alert) -> dict[str, Any]:
    return {
        "alert": {
            "id": alert.pk,
            "severity": alert.severity,
            "title": alert.title,
            "message": alert.message,
            "source": alert.source,
            "created_at": _iso(alert.created_at),
        }
    }
