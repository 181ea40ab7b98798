"""The GitHub integration behind the SSRF guard: api_base_url refused at save and at send, the
checked address pinned (name kept for Host and TLS), the connected peer checked, pagination kept
on the API's origin, and refusals shown with GitHub's status and message only."""

import ipaddress
import json

import pytest
from django.test import override_settings

from apps.integrations_external.github.models import GitHubIntegration, GitHubPullRequest
from apps.integrations_external.github.tasks import sync_pull_requests
from apps.integrations_external.http import ssrf
from tests_support.fake_github import RawReply
from tests_support.receivers import Receiver, Reply
from tests_support.tls import make_certificate, server_context

pytestmark = pytest.mark.django_db
BASE = "/api/v1/integrations-external/github/"

guarded = override_settings(INTEGRATIONS_ALLOW_PRIVATE_TARGETS=False)

INTERNAL_BASES = [
    "https://127.0.0.1/api/v3",
    "https://[::1]:8938",
    "https://[::ffff:127.0.0.1]:8938",
    "https://169.254.169.254",
    "https://10.0.0.1/api/v3",
]


@pytest.fixture(autouse=True)
def _fresh_resolutions():
    ssrf.clear_cache()
    yield
    ssrf.clear_cache()


@pytest.fixture
def create_body(project, fake_github):
    return {
        "project": project.pk,
        "repository_owner": "acme",
        "repository_name": "shop",
        "access_token": fake_github.token,
    }


@guarded
@pytest.mark.parametrize("base", INTERNAL_BASES)
def test_ssrf_guard_create_with_internal_base_url_is_400(auth_client, create_body, base):
    # then: 400 naming the field
    resp = auth_client.post(BASE, {**create_body, "api_base_url": base}, format="json")

    assert resp.status_code == 400
    assert "SSRF" in str(resp.data["api_base_url"])
    assert not GitHubIntegration.objects.exists()


@guarded
@pytest.mark.parametrize("base", INTERNAL_BASES)
def test_ssrf_guard_update_to_internal_base_url_400_and_kept(auth_client, make_integration, base):
    integration = make_integration(api_base_url="https://93.184.216.34/api/v3")

    resp = auth_client.patch(f"{BASE}{integration.pk}/", {"api_base_url": base}, format="json")

    assert resp.status_code == 400
    assert "api_base_url" in resp.data
    integration.refresh_from_db()
    assert integration.api_base_url == "https://93.184.216.34/api/v3"


@guarded
def test_ssrf_old_row_verify_refused_without_a_request(auth_client, integration, fake_github):
    # given: a row saved before the guard was on
    resp = auth_client.post(f"{BASE}{integration.pk}/verify/")

    assert resp.status_code == 200
    assert resp.data["ok"] is False
    assert "SSRF guard" in resp.data["detail"]
    assert fake_github.calls == []


@guarded
def test_ssrf_old_row_create_webhook_400_without_a_request(auth_client, integration, fake_github):
    # given: a row saved before the guard was on
    resp = auth_client.post(f"{BASE}{integration.pk}/create-webhook/")

    assert resp.status_code == 400
    assert "SSRF guard" in resp.data["detail"]
    assert fake_github.calls == []


@guarded
def test_ssrf_old_row_sync_fails_without_a_request(integration, fake_github, repo):
    # given: a row saved before the guard was on
    fake_github.add_pull(repo)

    sync_pull_requests.delay(integration.pk)

    integration.refresh_from_db()
    assert integration.sync_state == "failed"
    assert "SSRF guard" in integration.sync_error
    assert fake_github.calls == []


@guarded
def test_ssrf_connection_pinned_to_checked_address_keeps_host(
    make_integration, fake_github, repo, monkeypatch, auth_client
):
    # A name no DNS knows, "resolved" to the fake's address, which counts as public here: only
    # the pin can reach it, and the fake must still see the name.
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["127.0.0.1"])
    monkeypatch.setattr(ssrf, "forbidden_reason", lambda ip: None)
    port = fake_github.server.server_address[1]
    integration = make_integration(api_base_url=f"http://api.github.test:{port}/api/v3")

    resp = auth_client.post(f"{BASE}{integration.pk}/verify/")

    assert resp.data["ok"] is True
    [call] = fake_github.calls
    assert call.headers["host"] == f"api.github.test:{port}"


def test_ssrf_pinned_https_uses_the_name_for_sni_and_cert(
    make_integration, monkeypatch, auth_client, tmp_path, settings
):
    settings.INTEGRATIONS_ALLOW_PRIVATE_TARGETS = False  # (not with `guarded`: one override)
    cert, key = make_certificate("ghes.example.test", tmp_path)
    settings.GITHUB_CA_BUNDLE = str(cert)
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["127.0.0.1"])
    monkeypatch.setattr(ssrf, "forbidden_reason", lambda ip: None)
    server = Receiver(tls=server_context(cert, key), host="ghes.example.test").start()
    repo = {"full_name": "acme/shop", "permissions": {"admin": True, "push": True}}
    server.default = Reply(200, json.dumps(repo).encode(), {"Content-Type": "application/json"})
    port = server.server.server_address[1]
    integration = make_integration(api_base_url=f"https://ghes.example.test:{port}/api/v3")
    try:
        resp = auth_client.post(f"{BASE}{integration.pk}/verify/")
    finally:
        server.stop()

    assert resp.data["ok"] is True, resp.data["detail"]
    assert server.server_names == ["ghes.example.test"]
    assert server.requests[0].headers["host"] == f"ghes.example.test:{port}"


@guarded
def test_ssrf_socket_refuses_loopback_peer_if_check_bypassed(
    integration, fake_github, monkeypatch, auth_client
):
    # The resolution check "passes" on a forbidden address: the connected peer is the last word.
    monkeypatch.setattr(
        ssrf, "check_addresses", lambda host, addresses: ipaddress.ip_address("127.0.0.1")
    )

    resp = auth_client.post(f"{BASE}{integration.pk}/verify/")

    assert resp.data["ok"] is False
    assert "SSRF guard" in resp.data["detail"]
    assert "loopback" in resp.data["detail"]
    assert fake_github.calls == []


@pytest.fixture
def internal():
    """A plain-http internal service the sync must never reach."""
    server = Receiver().start()
    server.default = Reply(200, b'[{"number": 1, "title": "internal admin users"}]')
    yield server
    server.stop()


@pytest.mark.parametrize("where", ["other port", "other scheme", "other host"])
def test_ssrf_next_link_off_api_origin_fails_sync_unfetched(
    integration, fake_github, repo, internal, where, auth_client
):
    fake_port = fake_github.server.server_address[1]
    fake_github.pulls_next_link = {
        "other port": f"http://127.0.0.1:{internal.server.server_address[1]}/internal/admin/users",
        "other scheme": f"https://127.0.0.1:{fake_port}/api/v3/repos/acme/shop/pulls?page=2",
        "other host": f"http://localhost:{fake_port}/api/v3/repos/acme/shop/pulls?page=2",
    }[where]
    fake_github.add_pull(repo)

    sync_pull_requests.delay(integration.pk)

    integration.refresh_from_db()
    assert integration.sync_state == "failed"
    assert "next-page link leaves the API base URL" in integration.sync_error
    assert internal.requests == []
    assert len(fake_github.calls) == 1
    assert not GitHubPullRequest.objects.exists()
    shown = auth_client.get(f"{BASE}{integration.pk}/").data
    assert shown["sync_state"] == "failed"
    assert "next-page link" in shown["sync_error"]


def test_ssrf_next_link_on_api_origin_followed(integration, fake_github, repo):
    for i in range(150):
        fake_github.add_pull(repo, minutes_ago=i)

    sync_pull_requests.delay(integration.pk)

    integration.refresh_from_db()
    assert integration.sync_state == "succeeded"
    assert integration.last_sync_result["pages"] == 2


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        (
            RawReply(
                422,
                json.dumps(
                    {"message": "Validation Failed", "errors": [{"secret": "SECRET-IN-BODY"}]}
                ).encode(),
                {"Content-Type": "application/json"},
            ),
            "(422): Validation Failed",
        ),
        (
            RawReply(400, b"<html>internal admin page SECRET-IN-BODY</html>"),
            "(400)",
        ),
        (
            RawReply(
                503,
                b"root:x:0:0 SECRET-IN-BODY",
                {"Content-Type": "text/plain"},
            ),
            "GitHub error 503",
        ),
    ],
)
def test_ssrf_refusal_detail_has_status_and_message_only(
    auth_client, integration, fake_github, reply, shown
):
    fake_github.reply_next(reply)

    resp = auth_client.post(f"{BASE}{integration.pk}/create-webhook/")

    assert resp.status_code in (400, 502)
    assert shown in resp.data["detail"]
    assert resp.data["github_status"] == reply.status
    assert "SECRET-IN-BODY" not in json.dumps(resp.data)
