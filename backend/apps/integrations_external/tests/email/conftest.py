"""Fixtures of the email tests: a real SMTP server on loopback and a few helpers."""

from __future__ import annotations

import pytest
from time_machine import TimeMachineFixture

from apps.integrations_external.models import EmailDelivery
from tests_support.clock import deliver_when_due
from tests_support.smtp import smtp_server  # noqa: F401 - the fixture


@pytest.fixture(autouse=True)
def _fast_retries(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.01
    settings.PUBLIC_BASE_URL = "https://platform.example.com"
    settings.DEFAULT_FROM_EMAIL = "Workflow Platform <noreply@platform.example.com>"


@pytest.fixture
def run_retry(time_machine: TimeMachineFixture):
    """Run a retrying delivery's next attempt once it is due, moving the clock there (eager
    Celery cannot wait for a countdown, so the test plays the broker)."""

    def run(delivery: EmailDelivery) -> EmailDelivery:
        delivery.refresh_from_db()
        assert delivery.status == "retrying", delivery.error_message
        deliver_when_due("email", delivery, time_machine)
        return delivery

    return run
