"""Subjects a person can scan in an inbox, and both parts for every kind of email."""

from __future__ import annotations

import pytest

from apps.integrations_external.email.messages import one_line, render

pytestmark = pytest.mark.django_db

PROJECT = {"id": 3, "name": "Payments"}


@pytest.mark.parametrize(
    ("event_type", "data", "subject"),
    [
        (
            "workflow.completed",
            {"workflow": {"name": "Deploy"}, "project": PROJECT, "execution": {"id": 1}},
            "[Payments] Workflow “Deploy” completed",
        ),
        (
            "workflow.completed",
            {"workflow": {"name": "Deploy"}, "project": PROJECT, "previous_status": "failed"},
            "[Payments] Workflow “Deploy” completed, back to normal",
        ),
        (
            "workflow.failed",
            {
                "workflow": {"name": "Deploy"},
                "project": PROJECT,
                "execution": {"error_message": "x"},
            },
            "[Payments] Workflow “Deploy” failed",
        ),
        (
            "command.executed",
            {
                "command": {"name": "Migrate"},
                "project": PROJECT,
                "execution": {"status": "succeeded"},
            },
            "[Payments] Command “Migrate” succeeded",
        ),
        (
            "project.updated",
            {"project": PROJECT, "changed_fields": ["name", "members"]},
            "[Payments] Project updated: name, members",
        ),
        (
            "user_story.created",
            {"project": PROJECT, "user_story": {"id": 9, "key": "US-9", "title": "Refunds"}},
            "[Payments] New story US-9: Refunds",
        ),
        (
            "github.pull_request.merged",
            {"project": PROJECT, "pull_request": {"number": 12, "title": "Add refunds"}},
            "[Payments] A pull request linked to a story was merged: Add refunds",
        ),
        (
            "system.alert",
            {"alert": {"id": 1, "severity": "warning", "title": "Queue slow"}},
            "[Workflow Platform] Warning alert: Queue slow",
        ),
    ],
)
def test_messages_each_kind_has_scannable_subject_and_parts(user, event_type, data, subject):
    email = render(event_type, data, user=user)

    assert email.subject == subject
    assert email.text.strip()
    assert "<" not in email.text.split("\n")[0]
    assert email.html.lstrip().startswith("<!DOCTYPE html>")
    assert email.unsubscribe_url in email.text
    assert email.unsubscribe_url in email.html


def test_messages_subject_loses_line_breaks_and_is_bounded():
    assert one_line("a\r\nBcc: x@example.com\n b") == "a Bcc: x@example.com b"
    assert len(one_line("x" * 500)) == 200
