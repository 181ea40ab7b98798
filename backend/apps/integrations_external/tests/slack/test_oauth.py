"""Add to Slack: the OAuth v2 install against the fake Slack's authorize page and
oauth.v2.access, the state's rules, token rotation, and Slack's uninstall events."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.db import close_old_connections
from django.utils import timezone

from apps.integrations_external.slack.models import SlackIntegration, SlackOAuthState
from apps.integrations_external.slack.oauth import SCOPES, token_refresh_if_due
from apps.integrations_external.slack.services import SlackService
from apps.projects.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CLIENT_ID = "1234.5678"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def slack_app(settings, fake_slack):
    settings.SLACK_CLIENT_ID = CLIENT_ID
    settings.SLACK_CLIENT_SECRET = "client-secret"
    settings.SLACK_SIGNING_SECRET = SIGNING_SECRET
    settings.SLACK_OAUTH_BASE_URL = fake_slack.authorize_url
    settings.PUBLIC_BASE_URL = "http://testserver"
    fake_slack.register_app(CLIENT_ID, "client-secret")
    return fake_slack


def start(client, project):
    response = client.post(f"/projects/{project.pk}/integrations/slack/add/")
    assert response.status_code == 302
    return response["Location"]


def approve(location: str) -> str:
    """The person clicks Allow on Slack's page: where Slack sends their browser back."""
    answer = httpx.get(location, follow_redirects=False)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def test_oauth_start_redirects_to_slack_with_scopes_and_state(client, user, project, slack_app):
    client.force_login(user)
    location = start(client, project)
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(slack_app.authorize_url)
    assert query["client_id"] == [CLIENT_ID]
    assert query["scope"] == [",".join(SCOPES)]
    assert query["redirect_uri"] == ["http://testserver/integrations/slack/oauth/callback/"]
    [state] = query["state"]
    stored = SlackOAuthState.objects.get()
    assert stored.state_hash == hashlib.sha256(state.encode()).hexdigest()
    assert (stored.user, stored.project) == (user, project)


def test_oauth_install_stores_integration_and_verifies(client, user, project, slack_app):
    client.force_login(user)
    slack_app.approve_next_install(channel_id="C0DEPLOYS1", channel_name="deploys")
    response = client.get(approve(start(client, project)))
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.pk}/integrations/#slack"
    integration = SlackIntegration.objects.get()
    assert integration.installed_with_oauth
    assert (integration.team_id, integration.channel_id, integration.channel_name) == (
        "T0001",
        "C0DEPLOYS1",
        "deploys",
    )
    assert integration.bot_token.startswith("xoxb-")
    assert (integration.owner, integration.project) == (user, project)
    assert integration.last_verification_ok is True
    assert "Slack is connected" in client.get(response["Location"]).content.decode()
    api = client.get(f"/api/v1/integrations-external/slack/{integration.pk}/").json()
    assert "bot_token" not in api
    assert "refresh_token" not in api


def test_oauth_install_again_reconnects_same_channel(client, user, project, slack_app):
    client.force_login(user)
    client.get(approve(start(client, project)))
    SlackIntegration.objects.update(is_active=False, disabled_reason="uninstalled")
    client.get(approve(start(client, project)))
    integration = SlackIntegration.objects.get()
    assert integration.is_active
    assert integration.disabled_reason == ""


@pytest.mark.parametrize(
    ("tamper", "words"),
    [
        (lambda q: q.replace("state=", "state=forged"), "not one we issued"),
        (lambda q: q.split("&state=")[0], "has no state"),
    ],
)
def test_oauth_callback_refuses_forged_or_missing_state(
    client, user, project, slack_app, tamper, words
):
    client.force_login(user)
    back = approve(start(client, project))
    response = client.get(tamper(back))
    assert response.status_code == 400
    assert words in response.content.decode()
    assert not SlackIntegration.objects.exists()


def test_oauth_callback_state_is_single_use(client, user, project, slack_app):
    client.force_login(user)
    back = approve(start(client, project))
    assert client.get(back).status_code == 302
    again = client.get(back)
    assert again.status_code == 400
    assert "already used" in again.content.decode()


def test_oauth_callback_state_expires(client, user, project, slack_app):
    client.force_login(user)
    back = approve(start(client, project))
    SlackOAuthState.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    response = client.get(back)
    assert response.status_code == 400
    assert "expired" in response.content.decode()


def test_oauth_callback_of_someone_else_is_refused(client, user, project, slack_app):
    client.force_login(user)
    back = approve(start(client, project))
    client.force_login(UserFactory())
    response = client.get(back)
    assert response.status_code == 400
    assert "started by someone else" in response.content.decode()
    client.force_login(user)  # the real installer can still finish
    assert client.get(back).status_code == 302


def test_oauth_cancelled_install_says_so(client, user, project, slack_app):
    client.force_login(user)
    slack_app.approve_next_install(deny=True)
    response = client.get(approve(start(client, project)))
    assert response.status_code == 400
    assert "cancelled (access_denied)" in response.content.decode()


def test_oauth_member_cannot_start(client, project, slack_app):
    member = UserFactory()
    project.members.add(member)
    client.force_login(member)
    assert client.post(f"/projects/{project.pk}/integrations/slack/add/").status_code == 403


def test_oauth_not_configured_hides_button_and_404s(client, user, project, fake_slack):
    client.force_login(user)
    page = client.get(f"/projects/{project.pk}/integrations/").content.decode()
    assert "Add to Slack" not in page
    assert client.post(f"/projects/{project.pk}/integrations/slack/add/").status_code == 404


def test_oauth_button_shown_to_the_owner_if_configured(client, user, project, slack_app):
    client.force_login(user)
    assert "Add to Slack" in client.get(f"/projects/{project.pk}/integrations/").content.decode()


# --- token rotation -------------------------------------------------------------------------
def rotating_install(client, user, project, slack_app) -> SlackIntegration:
    client.force_login(user)
    slack_app.approve_next_install(rotate=True)
    client.get(approve(start(client, project)))
    return SlackIntegration.objects.get()


def test_rotation_refreshes_token_before_it_expires(client, user, project, slack_app):
    integration = rotating_install(client, user, project, slack_app)
    first = integration.bot_token
    assert integration.token_expires_at > timezone.now() + timedelta(hours=11)
    SlackIntegration.objects.update(token_expires_at=timezone.now() + timedelta(minutes=5))
    integration.refresh_from_db()

    # What every send and verification goes through.
    assert SlackService(integration).client.web.token == integration.bot_token

    integration.refresh_from_db()
    assert integration.bot_token != first
    assert integration.token_expires_at > timezone.now() + timedelta(hours=11)
    assert len(slack_app.calls_to("oauth.v2.access")) == 2  # the install, one refresh


def test_rotation_happens_once_for_concurrent_workers(
    client, user, project, slack_app, transactional_db
):
    integration = rotating_install(client, user, project, slack_app)
    SlackIntegration.objects.update(token_expires_at=timezone.now() + timedelta(minutes=1))
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            token_refresh_if_due(integration=SlackIntegration.objects.get(pk=integration.pk))
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    refreshes = [c for c in slack_app.calls_to("oauth.v2.access") if c.params.get("grant_type")]
    assert len(refreshes) == 1


# --- Slack's events ---------------------------------------------------------------------------
def signed(body: dict, *, secret: str = SIGNING_SECRET, at: int | None = None) -> dict:
    raw = json.dumps(body)
    timestamp = str(at if at is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{raw}".encode(), hashlib.sha256)
    return {
        "data": raw,
        "content_type": "application/json",
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp,
        "HTTP_X_SLACK_SIGNATURE": f"v0={digest.hexdigest()}",
    }


EVENTS = "/api/v1/integrations-external/slack/events/"


def test_events_url_verification_answers_challenge(client, slack_app):
    response = client.post(EVENTS, **signed({"type": "url_verification", "challenge": "c-1"}))
    assert response.json() == {"challenge": "c-1"}


@pytest.mark.parametrize(
    "kwargs", [{"secret": "wrong"}, {"at": int(time.time()) - 600}], ids=["bad-sig", "stale"]
)
def test_events_refuses_bad_or_stale_signature(client, slack_app, kwargs):
    response = client.post(EVENTS, **signed({"type": "url_verification"}, **kwargs))
    assert response.status_code == 401


def test_events_app_uninstalled_turns_off_with_reason(client, user, project, slack_app):
    integration = rotating_install(client, user, project, slack_app)
    body = {"type": "event_callback", "team_id": "T0001", "event": {"type": "app_uninstalled"}}
    for _ in range(2):  # Slack may send it twice
        assert client.post(EVENTS, **signed(body)).status_code == 200
    integration.refresh_from_db()
    assert not integration.is_active
    assert "the app was uninstalled" in integration.disabled_reason
    assert "Add to Slack" in integration.disabled_reason


def test_events_tokens_revoked_turns_off_that_bot_only(client, user, project, slack_app):
    integration = rotating_install(client, user, project, slack_app)
    body = {
        "type": "event_callback",
        "team_id": "T0001",
        "event": {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0OTHER"]}},
    }
    client.post(EVENTS, **signed(body))
    integration.refresh_from_db()
    assert integration.is_active
    body["event"]["tokens"]["bot"] = ["U0BOT"]
    client.post(EVENTS, **signed(body))
    integration.refresh_from_db()
    assert not integration.is_active
    assert "bot token was revoked" in integration.disabled_reason


def test_events_not_configured_is_404(client, settings):
    settings.SLACK_SIGNING_SECRET = ""
    assert client.post(EVENTS, data="{}", content_type="application/json").status_code == 404
