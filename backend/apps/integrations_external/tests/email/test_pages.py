"""The email settings page and the unsubscribe page through Django's test client."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.integrations_external.email.services import settings_for
from apps.integrations_external.email.unsubscribe import unsubscribe_token
from apps.integrations_external.models import EmailDelivery, EmailNotificationSettings
from apps.projects.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/account/email/"


def test_email_settings_need_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_email_settings_show_own_switches_and_address(client, user):
    client.force_login(user)
    body = client.get(URL).content.decode()
    assert user.email in body
    for label in ("Daily summary", "Weekly summary", "Integration notices"):
        assert label in body
    assert "No email sent to you yet" in body


def test_email_settings_save_every_switch(client, user):
    client.force_login(user)
    response = client.post(URL, {"daily_summary": "on", "integration_notices": "on"}, follow=True)
    assert b"Email settings saved." in response.content
    row = EmailNotificationSettings.objects.get(user=user)
    assert row.daily_summary
    assert row.integration_notices
    assert not (row.weekly_summary)
    assert not (row.workflow_completion)
    assert not (row.command_execution)


def test_email_history_lists_own_mail_only(client, user, smtp_server):
    other = UserFactory()
    client.force_login(user)
    client.post(f"{URL}test/")
    client.force_login(other)
    client.post(f"{URL}test/")
    client.force_login(user)
    body = client.get(URL).content.decode()
    assert EmailDelivery.objects.count() == 2
    assert f"<td>{user.email}</td>" in body
    assert f"<td>{other.email}</td>" not in body
    assert "email.test" in body


def test_email_test_without_address_says_so(client):
    nobody = UserFactory(email="")
    client.force_login(nobody)
    body = client.post(f"{URL}test/", follow=True).content.decode()
    assert "has no email address" in body


def test_unsubscribe_page_explains_what_stops(user):
    settings_for(user)
    body = (
        Client()
        .get(
            f"/api/v1/integrations-external/email/unsubscribe/"
            f"{unsubscribe_token(user.pk, 'daily_summary')}/"
        )
        .content.decode()
    )
    assert "Stop daily summary?" in body
    assert "A summary of the last day." in body
    assert 'href="/account/email/"' in body
    assert settings_for(user).daily_summary is False  # default, unchanged by the GET
