"""Fixtures of the email tests: a real SMTP server on loopback and a few helpers."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from apps.integrations_external.models import EmailDelivery
from apps.integrations_external.pipeline.tasks import deliver
from tests_support.smtp import smtp_server  # noqa: F401 - the fixture


@pytest.fixture(autouse=True)
def _fast_retries(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.01
    settings.PUBLIC_BASE_URL = "https://platform.example.com"
    settings.DEFAULT_FROM_EMAIL = "Workflow Platform <noreply@platform.example.com>"


@pytest.fixture
def run_retry():
    """Run a retrying delivery's next attempt once it is due (eager Celery cannot wait for a
    countdown, so the test plays the broker)."""

    def run(delivery: EmailDelivery) -> EmailDelivery:
        delivery.refresh_from_db()
        assert delivery.status == "retrying", delivery.error_message
        time.sleep(max(0.0, (delivery.next_attempt_at - timezone.now()).total_seconds()))
        deliver("email", [delivery.pk])
        delivery.refresh_from_db()
        return delivery

    return run
