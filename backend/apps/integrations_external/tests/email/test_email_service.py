"""EmailService pieces other parts call: queue_notice (e.g. a webhook endpoint disabled)."""

from __future__ import annotations

import pytest

from apps.integrations_external.email.services import EmailService, settings_for
from apps.integrations_external.models import EmailDelivery
from apps.projects.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_email_service_notice_goes_through_the_delivery_path(user, run_on_commit, smtp_server):
    with run_on_commit():
        delivery = EmailService(user).queue_notice(
            subject="Webhook endpoint “CI” was disabled",
            text="It failed for 5 days.\nFix it, then enable it.",
        )

    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == "[Workflow Platform] Webhook endpoint “CI” was disabled"
    assert "It failed for 5 days.\nFix it, then enable it." in mail.text
    assert "It failed for 5 days." in mail.html
    assert "integration notices" in mail.text
    delivery.refresh_from_db()
    assert delivery.status == "success"
    assert delivery.event_type == "email.notice"


def test_email_service_uses_caller_html_for_the_html_part(user, run_on_commit, smtp_server):
    with run_on_commit():
        EmailService(user).queue_notice(
            subject="Notice", text="plain words", html="<p><strong>rich</strong> words</p>"
        )

    [mail] = smtp_server.wait_for(1)
    assert "<strong>rich</strong> words" in mail.html
    assert "plain words" in mail.text


def test_email_service_notices_switched_off_send_nothing(user, run_on_commit, smtp_server):
    row = settings_for(user)
    row.integration_notices = False
    row.save()

    with run_on_commit():
        assert EmailService(user).queue_notice(subject="Notice", text="text") is None

    assert EmailDelivery.objects.count() == 0
    assert smtp_server.messages == []


def test_email_service_queue_notice_without_address_is_no_op(db):
    assert EmailService(UserFactory(email="")).queue_notice(subject="Notice", text="text") is None
    assert EmailDelivery.objects.count() == 0
