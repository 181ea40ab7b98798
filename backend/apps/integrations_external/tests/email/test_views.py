"""The settings API, the test email and the sent-mail history."""

from __future__ import annotations

import pytest

from apps.integrations_external.models import EmailDelivery, EmailNotificationSettings
from apps.projects.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/integrations-external/email/"
ALL_ON = {name: True for name in EmailNotificationSettings.SWITCHES}


def test_settings_get_creates_defaults_for_a_new_user(user, auth_client):
    resp = auth_client.get(URL)

    assert resp.status_code == 200
    assert resp.json()["email"] == user.email
    assert resp.json()["workflow_completion"] is True
    assert resp.json()["daily_summary"] is False
    assert EmailNotificationSettings.objects.filter(user=user).count() == 1


def test_settings_put_of_every_switch_saves(user, auth_client):
    resp = auth_client.put(URL, {**ALL_ON, "weekly_summary": False}, format="json")

    assert resp.status_code == 200
    row = EmailNotificationSettings.objects.get(user=user)
    assert row.daily_summary is True
    assert row.weekly_summary is False


def test_settings_put_missing_a_switch_is_400_naming_it(auth_client):
    body = dict(ALL_ON)
    del body["project_updates"]

    resp = auth_client.put(URL, body, format="json")

    assert resp.status_code == 400
    assert "project_updates" in resp.json()


# The settings of the first email API, as its clients send them (written out, not read from
# the model: the test is about what those clients send).
ORIGINAL_SIX_FLIPPED = {
    "workflow_completion": False,
    "command_execution": False,
    "system_alerts": False,
    "project_updates": True,
    "daily_summary": True,
    "weekly_summary": False,
}


def test_put_of_the_original_six_keeps_later_switches(user, auth_client):
    # then: the six are saved and switches added later keep their value
    # given a switch added after the first API, turned off from its default
    auth_client.patch(URL, {"integration_notices": False}, format="json")

    resp = auth_client.put(URL, ORIGINAL_SIX_FLIPPED, format="json")

    assert resp.status_code == 200, resp.json()
    assert resp.json()["integration_notices"] is False
    row = EmailNotificationSettings.objects.get(user=user)
    assert {name: getattr(row, name) for name in ORIGINAL_SIX_FLIPPED} == ORIGINAL_SIX_FLIPPED
    assert row.integration_notices is False


@pytest.mark.parametrize("missing", sorted(ORIGINAL_SIX_FLIPPED))
def test_put_without_one_of_the_original_six_is_400_naming_it(auth_client, missing):
    body = {name: True for name in ORIGINAL_SIX_FLIPPED if name != missing}

    resp = auth_client.put(URL, body, format="json")

    assert resp.status_code == 400
    assert list(resp.json()) == [missing]


def test_settings_patch_of_one_switch_changes_only_it(user, auth_client):
    resp = auth_client.patch(URL, {"daily_summary": True}, format="json")

    assert resp.status_code == 200
    row = EmailNotificationSettings.objects.get(user=user)
    assert row.daily_summary is True
    assert row.workflow_completion is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"daily_summary": "maybe"}, "daily_summary"),
        ({"daily_summary": "yes"}, "daily_summary"),
        ({"daily_summary": 1}, "daily_summary"),
        ({"daily_sumary": True}, "daily_sumary"),
        ({"daily_summary": None}, "daily_summary"),
    ],
)
def test_settings_patch_bad_value_or_unknown_key_is_400(user, auth_client, body, field):
    # then: nothing is saved
    resp = auth_client.patch(URL, body, format="json")

    assert resp.status_code == 400
    assert field in resp.json()
    assert EmailNotificationSettings.objects.get(user=user).daily_summary is False


def test_settings_body_not_an_object_is_400(auth_client):
    assert auth_client.patch(URL, [1, 2], format="json").status_code == 400


def test_settings_without_login_is_401(api_client):
    assert api_client.get(URL).status_code == 401
    assert api_client.post(URL + "test-email/").status_code == 401


def test_settings_post_is_not_allowed(auth_client):
    assert auth_client.post(URL, {}, format="json").status_code == 405


def test_test_email_arrives_through_the_delivery_path(
    user, auth_client, run_on_commit, smtp_server
):
    with run_on_commit():
        resp = auth_client.post(URL + "test-email/")

    assert resp.status_code == 202
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == [user.email]
    assert mail["Subject"] == "[Workflow Platform] Test email: your notifications reach you"
    assert mail.text
    assert mail.html
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    delivery = EmailDelivery.objects.get(pk=resp.json()["delivery_id"])
    assert delivery.status == "success"
    assert delivery.event_type == "email.test"


def test_test_email_without_address_is_400_in_words(client_for, smtp_server):
    nobody = UserFactory(email="")

    resp = client_for(nobody).post(URL + "test-email/")

    assert resp.status_code == 400
    assert "no email address" in resp.json()["detail"]
    assert EmailDelivery.objects.count() == 0


def test_history_shows_each_user_only_their_own_emails(
    user, other_user, client_for, run_on_commit, smtp_server
):
    with run_on_commit():
        client_for(user).post(URL + "test-email/")
        client_for(other_user).post(URL + "test-email/")

    resp = client_for(user).get(URL + "deliveries/")

    assert resp.status_code == 200
    [row] = resp.json()["results"]
    assert row["to_address"] == user.email
    assert row["status"] == "success"
    assert row["message_id"].startswith("<evt_")
