"""Daily and weekly summaries: per person, once per period, nothing when nothing happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from celery.schedules import crontab
from django.core.management import call_command

from apps.alerts.models import SystemAlert
from apps.commands.tests.factories import CommandExecutionFactory, CommandFactory
from apps.integrations_external.email.models import SentSummary
from apps.integrations_external.email.selectors import summary_window
from apps.integrations_external.email.services import EmailService, settings_for
from apps.integrations_external.email.tasks import send_summaries
from apps.integrations_external.models import EmailDelivery
from apps.integrations_external.pipeline.events import publish
from apps.projects.tests.factories import ProjectFactory, UserFactory
from apps.workflows.tests.factories import WorkflowExecutionFactory, WorkflowFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def window():
    return summary_window("daily")


@pytest.fixture
def daily_on(user):
    row = settings_for(user)
    row.daily_summary = True
    row.save()
    return row


def _activity(project, at):
    """Two runs completed and one failed, a command ok and one failed, at `at`."""
    workflow = WorkflowFactory(project=project, name="Deploy")
    for _ in range(2):
        WorkflowExecutionFactory(workflow=workflow, status="completed", completed_at=at)
    WorkflowExecutionFactory(
        workflow=workflow, status="failed", completed_at=at, error_message="migration 0042 failed"
    )
    command = CommandFactory(project=project, name="Lint")
    CommandExecutionFactory(command=command, status="succeeded", exit_code=0, completed_at=at)
    CommandExecutionFactory(command=command, status="failed", exit_code=2, completed_at=at)


def test_summary_lists_the_days_counts_and_failures(
    user, project, daily_on, window, run_on_commit, smtp_server
):
    start, end = window
    _activity(project, end - timedelta(hours=1))

    with run_on_commit():
        send_summaries("daily")

    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == [user.email]
    assert mail["Subject"].startswith("[Workflow Platform] Your daily summary, ")
    assert mail["Subject"].endswith(": 2 failures")
    assert "Workflow runs completed: 2" in mail.text
    assert "Workflow runs failed:    1" in mail.text
    assert "Commands succeeded:      1" in mail.text
    assert "Commands failed:         1" in mail.text
    assert f"Workflow “Deploy” in {project.name}" in mail.text
    assert "migration 0042 failed" in mail.text
    assert f"Command “Lint” in {project.name}" in mail.text
    assert "System alerts" not in mail.text  # not staff
    assert "migration 0042 failed" in mail.html
    assert mail["List-Unsubscribe"].startswith("<https://platform.example.com/")
    claim = SentSummary.objects.get(user=user)
    assert (claim.period_start, claim.period_end, claim.outcome) == (start, end, "queued")


def test_summary_job_run_twice_sends_once(
    user, project, daily_on, window, run_on_commit, smtp_server
):
    _activity(project, window[1] - timedelta(hours=1))

    with run_on_commit():
        first = send_summaries("daily")
        second = send_summaries("daily")
        call_command("send_summaries", "--period", "daily")

    assert first["queued"] == 1
    assert second == {"queued": 0, "empty": 0, "skipped": 1}
    assert len(smtp_server.wait_for(1)) == 1
    assert SentSummary.objects.filter(user=user).count() == 1
    assert EmailDelivery.objects.filter(event_type="email.daily_summary").count() == 1


def test_summary_concurrent_claim_second_sender_sends_nothing(
    user, project, daily_on, window, run_on_commit, smtp_server
):
    """The claim row is the lock: whoever inserts it first sends."""
    start, end = window
    _activity(project, end - timedelta(hours=1))
    SentSummary.objects.create(
        user=user, period="daily", period_start=start, period_end=end, outcome="queued"
    )

    with run_on_commit():
        assert EmailService(user).queue_daily_summary() is None

    assert smtp_server.messages == []


def test_summary_empty_period_sends_no_email(
    user, project, daily_on, window, run_on_commit, smtp_server
):
    start, end = window
    _activity(project, start - timedelta(minutes=1))  # the day before: not in this summary
    _activity(project, end + timedelta(minutes=1))  # after the period: the next one

    with run_on_commit():
        counts = send_summaries("daily")

    assert counts["empty"] == 1
    assert counts["queued"] == 0
    assert smtp_server.messages == []
    assert EmailDelivery.objects.count() == 0
    assert SentSummary.objects.get(user=user).outcome == "empty"


def test_summary_others_project_activity_sends_no_email(
    user, daily_on, window, run_on_commit, smtp_server
):
    _activity(ProjectFactory(), window[1] - timedelta(hours=1))

    with run_on_commit():
        send_summaries("daily")

    assert smtp_server.messages == []


def test_summary_switch_off_sends_nothing_despite_activity(
    user, project, window, run_on_commit, smtp_server
):
    _activity(project, window[1] - timedelta(hours=1))  # daily_summary is off by default

    with run_on_commit():
        counts = send_summaries("daily")

    assert counts == {"queued": 0, "empty": 0, "skipped": 0}
    assert smtp_server.messages == []


def test_summary_member_gets_the_projects_activity(project, window, run_on_commit, smtp_server):
    member = UserFactory()
    project.members.add(member)
    row = settings_for(member)
    row.daily_summary = True
    row.save()
    _activity(project, window[1] - timedelta(hours=1))

    with run_on_commit():
        send_summaries("daily")

    [mail] = smtp_server.wait_for(1)  # the owner has the daily summary off
    assert mail.rcpt_tos == [member.email]


def test_summary_for_staff_has_alerts_and_project_updates(
    staff_user, window, run_on_commit, smtp_server
):
    row = settings_for(staff_user)
    row.daily_summary = True
    row.save()
    project = ProjectFactory(owner=staff_user)
    alert = SystemAlert.objects.create(severity="critical", title="Disk full", source="db-1")
    SystemAlert.objects.filter(pk=alert.pk).update(created_at=window[1] - timedelta(hours=2))
    event = publish("project.updated", {"project": {"id": project.pk}}, project=project)
    type(event).objects.filter(pk=event.pk).update(occurred_at=window[1] - timedelta(hours=3))

    with run_on_commit():
        send_summaries("daily")

    [mail] = smtp_server.wait_for(1)
    assert "System alerts:           1" in mail.text
    assert "Critical: Disk full (db-1)" in mail.text
    assert "Project updates:         1" in mail.text
    assert mail["Subject"].endswith(": nothing failed")


def test_summary_weekly_covers_seven_days(user, project, run_on_commit, smtp_server):
    start, end = summary_window("weekly")
    _activity(project, start + timedelta(days=1))

    with run_on_commit():
        counts = send_summaries("weekly")  # weekly_summary is on by default

    assert counts["queued"] == 1
    [mail] = smtp_server.wait_for(1)
    assert "Your weekly summary, week of " in mail["Subject"]
    assert end - start == timedelta(days=7)


def test_summary_windows_end_at_the_configured_hour_and_day(settings):
    settings.EMAIL_SUMMARY_HOUR_UTC = 6
    settings.EMAIL_WEEKLY_SUMMARY_DAY = "wed"
    thursday_8am = datetime(2025, 6, 5, 8, 30, tzinfo=UTC)
    thursday_5am = datetime(2025, 6, 5, 5, 0, tzinfo=UTC)

    assert summary_window("daily", thursday_8am) == (
        datetime(2025, 6, 4, 6, tzinfo=UTC),
        datetime(2025, 6, 5, 6, tzinfo=UTC),
    )
    assert summary_window("daily", thursday_5am)[1] == datetime(2025, 6, 4, 6, tzinfo=UTC)
    assert summary_window("weekly", thursday_8am) == (
        datetime(2025, 5, 28, 6, tzinfo=UTC),
        datetime(2025, 6, 4, 6, tzinfo=UTC),
    )


def test_summary_beat_sends_at_the_configured_hour():
    from django.conf import settings

    daily = settings.CELERY_BEAT_SCHEDULE["email-daily-summaries"]
    weekly = settings.CELERY_BEAT_SCHEDULE["email-weekly-summaries"]
    assert daily["task"] == weekly["task"] == send_summaries.name
    assert daily["args"] == ("daily",)
    assert weekly["args"] == ("weekly",)
    assert isinstance(daily["schedule"], crontab)
    assert daily["schedule"].hour == {settings.EMAIL_SUMMARY_HOUR_UTC}
    assert weekly["schedule"].hour == {settings.EMAIL_SUMMARY_HOUR_UTC}
    assert len(weekly["schedule"].day_of_week) == 1
