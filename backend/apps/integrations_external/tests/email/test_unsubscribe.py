"""RFC 8058 one-click unsubscribe: a signed link per (person, switch), no login needed."""

from __future__ import annotations

import pytest
from django.core import signing
from django.test import Client

from apps.integrations_external.email.services import settings_for
from apps.integrations_external.email.unsubscribe import UNSUBSCRIBE_SALT, unsubscribe_token
from apps.integrations_external.models import EmailNotificationSettings
from apps.integrations_external.pipeline.events import publish

pytestmark = pytest.mark.django_db

URL = "/api/v1/integrations-external/email/unsubscribe/{}/"


def _switches(user) -> dict[str, bool]:
    row = EmailNotificationSettings.objects.get(user=user)
    return {name: getattr(row, name) for name in EmailNotificationSettings.SWITCHES}


def test_unsubscribe_one_click_post_turns_off_only_that_switch(
    user, project, run_on_commit, smtp_server
):
    # when: the header link of an email is posted (one click)
    row = settings_for(user)
    row.daily_summary = row.project_updates = True
    row.save()
    before = _switches(user)
    with run_on_commit():
        publish("command.executed", {"execution": {"status": "failed"}}, project=project)
    [mail] = smtp_server.wait_for(1)
    url = mail["List-Unsubscribe"].strip("<>")
    path = url.removeprefix("https://platform.example.com")

    # What a mail client does: a POST without cookies or CSRF token (RFC 8058).
    resp = Client(enforce_csrf_checks=True).post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert resp.status_code == 200
    assert b"You are unsubscribed" in resp.content
    assert _switches(user) == {**before, "command_execution": False}


def test_unsubscribe_get_shows_a_confirm_page_changing_nothing(user):
    settings_for(user)
    before = _switches(user)

    resp = Client().get(URL.format(unsubscribe_token(user.pk, "weekly_summary")))

    assert resp.status_code == 200
    assert b"Stop weekly summary?" in resp.content
    assert b'<form method="post">' in resp.content
    assert _switches(user) == before  # link scanners prefetch GETs


def test_unsubscribe_confirm_form_turns_the_switch_off(user):
    resp = Client().post(
        URL.format(unsubscribe_token(user.pk, "weekly_summary")), {"List-Unsubscribe": "One-Click"}
    )

    assert resp.status_code == 200
    assert settings_for(user).weekly_summary is False
    assert settings_for(user).workflow_completion is True


def test_unsubscribe_all_link_of_test_email_turns_all_off(user):
    resp = Client().post(URL.format(unsubscribe_token(user.pk, "all")))

    assert resp.status_code == 200
    assert not any(_switches(user).values())


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: t.replace(
            t.split(":")[0], signing.b64_encode(b'{"u":2,"s":"workflow_completion"}').decode()
        ),
        lambda t: "not-a-token",
    ],
    ids=["signature", "payload", "garbage"],
)
def test_unsubscribe_tampered_token_refused_changing_nothing(user, tamper):
    settings_for(user)
    token = tamper(unsubscribe_token(user.pk, "workflow_completion"))

    resp = Client().post(URL.format(token))

    assert resp.status_code == 400
    assert b"This link does not work" in resp.content
    assert settings_for(user).workflow_completion is True


def test_unsubscribe_token_for_another_purpose_refused(user):
    forged = signing.dumps({"u": user.pk, "s": "workflow_completion"})  # default salt

    resp = Client().post(URL.format(forged))

    assert resp.status_code == 400
    assert settings_for(user).workflow_completion is True


def test_unsubscribe_token_naming_no_switch_refused(user):
    token = signing.dumps({"u": user.pk, "s": "is_staff"}, salt=UNSUBSCRIBE_SALT)

    resp = Client().post(URL.format(token))

    assert resp.status_code == 400
    user.refresh_from_db()
    assert user.is_staff is False


def test_unsubscribe_token_of_a_deleted_account_is_404(user):
    token = unsubscribe_token(user.pk, "workflow_completion")
    user.delete()

    assert Client().post(URL.format(token)).status_code == 404
