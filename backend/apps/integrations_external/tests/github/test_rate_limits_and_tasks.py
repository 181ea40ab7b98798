"""Rate limits reschedule the task (never sleep); periodic sync spreads its runs."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.integrations_external.github import tasks as github_tasks
from apps.integrations_external.github.models import GitHubIntegration
from apps.integrations_external.github.services import GitHubService
from apps.integrations_external.http.errors import RateLimited

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_sleep(monkeypatch):
    def refuse(seconds):
        raise AssertionError(f"a worker slept {seconds}s")

    monkeypatch.setattr(time, "sleep", refuse)


@pytest.fixture
def scheduled(monkeypatch):
    """Every apply_async of the sync task: its countdown recorded, then run as Celery would."""
    calls = []
    task = github_tasks.sync_pull_requests
    original = task.apply_async

    def spy(*args, **kwargs):
        if "countdown" in kwargs:  # `.delay()` goes through apply_async too: skip those
            calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(task, "apply_async", spy)
    return calls


def test_sync_task_rescheduled_with_retry_after_countdown(
    integration, fake_github, repo, scheduled, no_sleep
):
    fake_github.add_pull(repo)
    fake_github.limit_next("secondary", seconds=120)

    github_tasks.sync_pull_requests.delay(integration.pk)

    assert len(scheduled) == 1
    assert scheduled[0]["countdown"] == 120
    assert scheduled[0]["args"] == (integration.pk,)
    integration.refresh_from_db()
    wait = (integration.rate_limited_until - timezone.now()).total_seconds()
    assert 115 < wait <= 120
    assert integration.next_sync_at is not None
    # the eager rerun (delivered before its time) made no call to GitHub
    assert len(fake_github.requests_to("GET", "/pulls")) == 1


def test_sync_task_no_remaining_rescheduled_until_reset(
    integration, fake_github, repo, scheduled, no_sleep
):
    fake_github.limit_next("primary", seconds=600)

    github_tasks.sync_pull_requests.delay(integration.pk)

    assert len(scheduled) == 1
    assert 595 <= scheduled[0]["countdown"] <= 601
    integration.refresh_from_db()
    assert integration.rate_limit_remaining == 0
    assert integration.rate_limited_until > timezone.now() + timedelta(seconds=590)


def test_service_rate_limited_integration_makes_no_request(integration, fake_github, repo):
    integration.rate_limited_until = timezone.now() + timedelta(minutes=5)
    integration.save()

    with pytest.raises(RateLimited) as info:
        GitHubService(integration).sync_pull_requests()

    assert fake_github.calls == []
    assert 290 < info.value.retry_after <= 300


def test_sync_task_rescheduled_run_completes_after_limit(integration, fake_github, repo):
    fake_github.add_pull(repo)
    integration.rate_limited_until = timezone.now() - timedelta(seconds=1)
    integration.next_sync_at = integration.rate_limited_until
    integration.save()

    github_tasks.sync_pull_requests.delay(
        integration.pk, not_before=integration.next_sync_at.isoformat()
    )

    integration.refresh_from_db()
    assert integration.last_sync_result["created"] == 1
    assert integration.next_sync_at is None


def test_beat_schedules_each_auto_sync_with_jitter(make_integration, repo, scheduled, settings):
    settings.GITHUB_SYNC_INTERVAL_SECONDS = 600
    on = [make_integration() for _ in range(3)]
    make_integration(auto_sync_prs=False)
    make_integration(is_active=False)
    make_integration(rate_limited_until=timezone.now() + timedelta(minutes=1))

    count = github_tasks.sync_all()

    assert count == 3
    assert sorted(c["args"][0] for c in scheduled) == sorted(i.pk for i in on)
    assert all(0 <= c["countdown"] <= 480 for c in scheduled)
    assert GitHubIntegration.objects.filter(last_synced_at__isnull=False).count() == 3


def test_beat_github_sync_entry_uses_the_interval_setting(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["github-sync-prs"]
    assert entry["task"] == "integrations.github.sync_all"
    assert entry["schedule"] == settings.GITHUB_SYNC_INTERVAL_SECONDS
