"""The GitHub App: the install against the fake GitHub (install page, code exchange,
/user/installations, installation tokens signed with a JWT), the state's rules, calls as the
installation, and the app's webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.utils import timezone

from apps.integrations_external.github.app import forget_installation_tokens
from apps.integrations_external.github.models import (
    GitHubAppInstallState,
    GitHubIntegration,
    GitHubPullRequest,
)
from apps.integrations_external.github.services import GitHubService
from apps.integrations_external.http.errors import AuthError
from tests_support.fake_github import use_github_app

pytestmark = pytest.mark.django_db

APP_SECRET = "app-webhook-secret"  # use_github_app's
INSTALLATION = 777


@pytest.fixture(autouse=True)
def _fresh_token_cache():
    forget_installation_tokens()
    yield
    forget_installation_tokens()


@pytest.fixture
def github_app(settings, fake_github):
    use_github_app(settings, fake_github)
    shop = fake_github.add_repo("acme", "shop")
    fake_github.add_repo("acme", "secret-plans")  # not given to the installation
    fake_github.add_installation(INSTALLATION, account="acme", repos=[shop], users=["octocat"])
    fake_github.install_as = (INSTALLATION, "octocat")
    return fake_github


def start(client, project) -> str:
    response = client.post(f"/projects/{project.pk}/integrations/github/app/install/")
    assert response.status_code == 302
    return response["Location"]


def install_on_github(location: str) -> str:
    """The person installs the app on GitHub: where GitHub sends their browser back."""
    answer = httpx.get(location, follow_redirects=False)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def with_query(path: str, **changes: str) -> str:
    parts = urlsplit(path)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts.path + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def install(client, project) -> GitHubIntegration:
    picker = client.get(install_on_github(start(client, project)))
    assert picker.status_code == 302
    response = client.post(picker["Location"], {"repository": "acme/shop"})
    assert response.status_code == 302, response.content
    return GitHubIntegration.objects.get()


def test_app_install_button_only_if_configured_and_managing(
    client, user, other_user, project, settings, github_app
):
    client.force_login(user)
    page = client.get(f"/projects/{project.pk}/integrations/").content.decode()
    assert "Install GitHub App" in page
    project.members.add(other_user)
    client.force_login(other_user)
    page = client.get(f"/projects/{project.pk}/integrations/").content.decode()
    assert "Install GitHub App" not in page
    assert (
        client.post(f"/projects/{project.pk}/integrations/github/app/install/").status_code == 403
    )
    settings.GITHUB_APP_ID = ""
    client.force_login(user)
    page = client.get(f"/projects/{project.pk}/integrations/").content.decode()
    assert "Install GitHub App" not in page
    assert (
        client.post(f"/projects/{project.pk}/integrations/github/app/install/").status_code == 404
    )
    assert client.get("/integrations/github/app/setup/?state=x").status_code == 404


def test_app_install_outsider_404_anonymous_to_login(client, other_user, project, github_app):
    client.force_login(other_user)
    assert (
        client.post(f"/projects/{project.pk}/integrations/github/app/install/").status_code == 404
    )
    client.logout()
    response = client.post(f"/projects/{project.pk}/integrations/github/app/install/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_app_install_start_redirects_with_state_bound(client, user, project, github_app):
    client.force_login(user)
    location = start(client, project)
    assert location.startswith(f"{github_app.web_url}/apps/{github_app.app.slug}/installations/new")
    [state] = parse_qs(urlsplit(location).query)["state"]
    stored = GitHubAppInstallState.objects.get()
    assert stored.state_hash == hashlib.sha256(state.encode()).hexdigest()
    assert (stored.user, stored.project) == (user, project)


def test_app_install_full_flow_connects_repository(client, user, project, github_app):
    client.force_login(user)
    picker = client.get(install_on_github(start(client, project)))
    assert picker.status_code == 302
    page = client.get(picker["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "acme/shop" in html
    assert "acme/secret-plans" not in html
    response = client.post(picker["Location"], {"repository": "acme/shop"})
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.pk}/integrations/#github"
    integration = GitHubIntegration.objects.get()
    assert integration.auth_kind == GitHubIntegration.AuthKind.APP
    assert (integration.installation_id, integration.full_name) == (INSTALLATION, "acme/shop")
    assert integration.access_token == ""
    assert (integration.owner, integration.project) == (user, project)
    assert integration.last_verification_ok is True, integration.last_verification_detail
    assert "GitHub is connected" in client.get(response["Location"]).content.decode()
    # The user's authorization was checked, and the installation's calls carried its token.
    assert github_app.requests_to("GET", "/user/installations")
    assert github_app.requests_to("POST", f"/app/installations/{INSTALLATION}/access_tokens")
    assert not github_app.jwt_errors
    # The pick is single-use.
    assert client.post(picker["Location"], {"repository": "acme/shop"}).status_code == 400


def test_app_install_refuses_repository_outside_installation(client, user, project, github_app):
    client.force_login(user)
    picker = client.get(install_on_github(start(client, project)))
    response = client.post(picker["Location"], {"repository": "acme/secret-plans"})
    assert response.status_code == 200
    assert "Pick one of these." in response.content.decode()
    assert not GitHubIntegration.objects.exists()


def test_app_install_refuses_forged_state(client, user, project, github_app):
    client.force_login(user)
    back = install_on_github(start(client, project))
    response = client.get(with_query(back, state="forged"))
    assert response.status_code == 400
    assert "not one we issued" in response.content.decode()
    response = client.get(with_query(back, state=""))
    assert "has no state" in response.content.decode()


def test_app_install_refuses_reused_state(client, user, project, github_app):
    client.force_login(user)
    back = install_on_github(start(client, project))
    assert client.get(back).status_code == 302
    response = client.get(back)
    assert response.status_code == 400
    assert "already used" in response.content.decode()


def test_app_install_refuses_expired_state(client, user, project, github_app):
    client.force_login(user)
    back = install_on_github(start(client, project))
    GitHubAppInstallState.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    response = client.get(back)
    assert response.status_code == 400
    assert "expired" in response.content.decode()


def test_app_install_refuses_foreign_state(client, user, other_user, project, github_app):
    client.force_login(user)
    back = install_on_github(start(client, project))
    client.force_login(other_user)
    response = client.get(back)
    assert response.status_code == 400
    assert "started by someone else" in response.content.decode()
    assert not github_app.requests_to("POST", "/login/oauth/access_token")


def test_app_install_refuses_installation_user_cannot_access(client, user, project, github_app):
    github_app.add_installation(999, account="evil", repos=[], users=["mallory"])
    client.force_login(user)
    back = install_on_github(start(client, project))
    response = client.get(with_query(back, installation_id="999"))
    assert response.status_code == 400
    assert "cannot access this installation" in response.content.decode()
    assert GitHubAppInstallState.objects.get().installation_id is None


def test_app_install_refuses_missing_code_and_pending_approval(client, user, project, github_app):
    client.force_login(user)
    back = install_on_github(start(client, project))
    response = client.get(with_query(back, code=""))
    assert "authorization code" in response.content.decode()
    github_app.install_as = None
    response = client.get(install_on_github(start(client, project)))
    assert response.status_code == 400
    assert "approve" in response.content.decode()


def test_app_repositories_page_refuses_other_users_attempt(
    client, user, other_user, project, github_app
):
    client.force_login(user)
    picker = client.get(install_on_github(start(client, project)))["Location"]
    project.owner = other_user
    project.save()
    client.force_login(other_user)
    response = client.get(picker)
    assert response.status_code == 400
    assert "not yours" in response.content.decode()


def test_app_installation_token_cached_and_refreshed_near_expiry(
    client, user, project, github_app, time_machine
):
    client.force_login(user)
    integration = install(client, project)
    minted = len(github_app.requests_to("POST", f"/app/installations/{INSTALLATION}/access_tokens"))
    # A token lasting an hour is reused by every later client of this process.
    assert GitHubService(integration).verify_connection().ok is True
    assert len(github_app.requests_to("POST", "/access_tokens")) == minted
    # GitHub now issues tokens lasting 62 s: githubkit keeps one until a minute before it
    # expires (about 2 s here), then fetches the next one by itself.
    github_app.installation_token_seconds = 62
    forget_installation_tokens()
    assert GitHubService(integration).verify_connection().ok is True
    assert GitHubService(integration).verify_connection().ok is True
    assert len(github_app.requests_to("POST", "/access_tokens")) == minted + 1  # cached
    time_machine.move_to(timezone.now() + timedelta(seconds=2.1))
    assert GitHubService(integration).verify_connection().ok is True
    assert len(github_app.requests_to("POST", "/access_tokens")) == minted + 2  # refreshed
    used = [c.headers["authorization"] for c in github_app.requests_to("GET", "/repos/acme/shop")]
    assert len(set(used[-3:])) == 2
    assert not github_app.jwt_errors


def test_app_installation_token_expired_is_refused_by_github(github_app):
    forget_installation_tokens()
    github_app.installation_token_seconds = 0
    from apps.integrations_external.github.app import installation_client

    with pytest.raises(AuthError, match="Bad credentials"):
        installation_client(INSTALLATION).installation_repositories()


def test_app_jwt_signed_with_wrong_key_refused(client, user, project, github_app, settings):
    client.force_login(user)
    integration = install(client, project)
    forget_installation_tokens()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.GITHUB_APP_PRIVATE_KEY = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    result = GitHubService(integration).verify_connection()
    assert result.ok is False
    assert github_app.jwt_errors == ["InvalidSignatureError"]


def test_app_install_sync_and_create_webhook(client, user, project, github_app, auth_client):
    client.force_login(user)
    integration = install(client, project)
    github_app.add_pull(github_app.repos[("acme", "shop")], title="US-1 change")
    assert GitHubService(integration).sync_pull_requests()["created"] == 1
    assert GitHubPullRequest.objects.filter(integration=integration).count() == 1
    response = auth_client.post(
        f"/api/v1/integrations-external/github/{integration.pk}/create-webhook/"
    )
    assert response.status_code == 400
    assert "needs no repository webhook" in response.json()["detail"]


# -- the app's webhook --------------------------------------------------------------------------
@pytest.fixture
def send_app(api_client):
    def post(event: str, payload: dict, *, delivery: str | None = None, secret: str = APP_SECRET):
        body = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return api_client.post(
            "/api/v1/integrations-external/github/app/webhook/",
            data=body,
            content_type="application/json",
            HTTP_X_GITHUB_EVENT=event,
            HTTP_X_GITHUB_DELIVERY=delivery or str(uuid.uuid4()),
            HTTP_X_HUB_SIGNATURE_256=signature,
        )

    return post


@pytest.fixture
def app_integration(github_app, project):
    return GitHubIntegration.objects.create(
        owner=project.owner,
        project=project,
        repository_owner="acme",
        repository_name="shop",
        auth_kind=GitHubIntegration.AuthKind.APP,
        installation_id=INSTALLATION,
        api_base_url=github_app.base_url,
    )


def pr_event(number: int = 7, *, installation: int = INSTALLATION, repo: str = "acme/shop"):
    return {
        "action": "opened",
        "number": number,
        "installation": {"id": installation},
        "repository": {"full_name": repo},
        "pull_request": {
            "id": 99,
            "number": number,
            "title": "Fix",
            "body": "",
            "state": "open",
            "merged": False,
            "draft": False,
            "user": {"login": "octocat"},
            "head": {"ref": "feature"},
            "base": {"ref": "main"},
            "html_url": f"https://github.example/{repo}/pull/{number}",
            "created_at": "2026-01-01T10:00:00Z",
            "updated_at": "2026-01-02T10:00:00Z",
            "merged_at": None,
            "closed_at": None,
        },
    }


def test_app_webhook_signed_delivery_updates_mirror(app_integration, send_app):
    response = send_app("pull_request", pr_event())
    assert response.status_code == 200
    [result] = response.json()["integrations"]
    assert result["integration"] == app_integration.pk
    assert result["status"] == 200
    assert GitHubPullRequest.objects.get(integration=app_integration).number == 7


def test_app_webhook_routes_by_installation_and_repository(app_integration, send_app):
    assert send_app("pull_request", pr_event(installation=1)).json()["integrations"] == []
    assert send_app("pull_request", pr_event(repo="acme/other")).json()["integrations"] == []
    assert not GitHubPullRequest.objects.exists()


def test_app_webhook_bad_signature_401(app_integration, send_app):
    response = send_app("pull_request", pr_event(), secret="wrong")
    assert response.status_code == 401
    assert not GitHubPullRequest.objects.exists()


def test_app_webhook_duplicate_delivery_ignored(app_integration, send_app):
    assert send_app("pull_request", pr_event(), delivery="d-1").status_code == 200
    again = send_app("pull_request", pr_event(8), delivery="d-1").json()
    assert again["integrations"][0]["result"]["duplicate"] is True
    assert list(GitHubPullRequest.objects.values_list("number", flat=True)) == [7]


def test_app_webhook_installation_deleted_turns_off_with_reason(app_integration, send_app):
    payload = {
        "action": "deleted",
        "installation": {"id": INSTALLATION, "account": {"login": "acme"}},
    }
    response = send_app("installation", payload)
    assert response.json()["turned_off"] == 1
    app_integration.refresh_from_db()
    assert app_integration.is_active is False
    assert "uninstalled from acme" in app_integration.disabled_reason


def test_app_webhook_suspend_and_repository_removed(app_integration, project, send_app):
    other = GitHubIntegration.objects.create(
        owner=project.owner,
        project=project,
        repository_owner="acme",
        repository_name="web",
        auth_kind=GitHubIntegration.AuthKind.APP,
        installation_id=INSTALLATION,
    )
    payload = {
        "action": "removed",
        "installation": {"id": INSTALLATION, "account": {"login": "acme"}},
        "repositories_removed": [{"id": 1, "full_name": "acme/web"}],
    }
    assert send_app("installation_repositories", payload).json()["turned_off"] == 1
    other.refresh_from_db()
    app_integration.refresh_from_db()
    assert other.is_active is False
    assert "removed from the GitHub App" in other.disabled_reason
    assert app_integration.is_active is True
    send_app("installation", {"action": "suspend", "installation": {"id": INSTALLATION}})
    app_integration.refresh_from_db()
    assert app_integration.is_active is False
    assert "suspended" in app_integration.disabled_reason


def test_app_webhook_not_configured_404(app_integration, send_app, settings):
    settings.GITHUB_APP_WEBHOOK_SECRET = ""
    assert send_app("pull_request", pr_event(), secret="").status_code == 404


def test_app_webhook_unusable_body_400(github_app, api_client):
    body = b"not json"
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = api_client.post(
        "/api/v1/integrations-external/github/app/webhook/",
        data=body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="pull_request",
        HTTP_X_GITHUB_DELIVERY="d-2",
        HTTP_X_HUB_SIGNATURE_256=signature,
    )
    assert response.status_code == 400


def test_app_private_key_from_file(tmp_path, settings, github_app):
    from apps.integrations_external.github.app import app_private_key

    path = tmp_path / "app.pem"
    path.write_text(github_app.app.private_key)
    settings.GITHUB_APP_PRIVATE_KEY = str(path)
    assert app_private_key() == github_app.app.private_key
    settings.GITHUB_APP_PRIVATE_KEY = github_app.app.private_key.replace("\n", "\\n")
    assert app_private_key().strip() == github_app.app.private_key.strip()
