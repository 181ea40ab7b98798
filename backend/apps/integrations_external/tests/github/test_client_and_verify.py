"""The client on the fake GitHub over HTTP, and verify_connection's verdicts."""

import pytest

from apps.integrations_external.github.client import GitHubClient, _next_link
from apps.integrations_external.github.services import GitHubService
from apps.integrations_external.http.errors import AuthError, NotFound, RateLimited

pytestmark = pytest.mark.django_db


def test_client_link_header_gives_next_url():
    header = '<https://x/pulls?page=3>; rel="next", <https://x/pulls?page=9>; rel="last"'
    assert _next_link(header) == "https://x/pulls?page=3"
    assert _next_link('<https://x/pulls?page=1>; rel="first"') is None


def test_client_wrong_token_is_an_auth_error(fake_github, repo):
    client = GitHubClient("ghp_wrong", fake_github.base_url)
    with pytest.raises(AuthError):
        client.get_repository("acme", "shop")


def test_client_unknown_repository_is_not_found(fake_github, repo):
    client = GitHubClient(fake_github.token, fake_github.base_url)
    with pytest.raises(NotFound):
        client.get_repository("acme", "nope")


def test_client_secondary_limit_rate_limited_with_retry_after(fake_github, repo):
    fake_github.limit_next("secondary", seconds=42)
    client = GitHubClient(fake_github.token, fake_github.base_url)
    with pytest.raises(RateLimited) as info:
        client.get_repository("acme", "shop")
    assert info.value.status == 429
    assert info.value.retry_after == 42


def test_client_primary_limit_retry_after_from_reset(fake_github, repo):
    fake_github.limit_next("primary", seconds=300)
    client = GitHubClient(fake_github.token, fake_github.base_url)
    with pytest.raises(RateLimited) as info:
        client.get_repository("acme", "shop")
    assert info.value.status == 403
    assert 290 <= info.value.retry_after <= 300
    assert client.rate.remaining == 0


def test_verify_full_access_ok_and_stored(integration):
    result = GitHubService(integration).verify_connection()

    assert result.ok is True
    assert result.facts["permissions"]["admin"] is True
    integration.refresh_from_db()
    assert integration.last_verification_ok is True
    assert integration.last_verified_at is not None
    assert "acme/shop" in integration.last_verification_detail


def test_verify_bad_token_detail_names_the_token(make_integration, repo):
    integration = make_integration(access_token="ghp_revoked")

    result = GitHubService(integration).verify_connection()

    assert result.ok is False
    assert "access token" in result.detail
    assert "new token" in result.detail
    integration.refresh_from_db()
    assert integration.last_verification_ok is False


def test_verify_missing_repository_says_not_found_or_no_access(make_integration, repo):
    integration = make_integration(repository_name="secret-repo")

    result = GitHubService(integration).verify_connection()

    assert result.ok is False
    assert "acme/secret-repo was not found, or this token has no access" in result.detail


def test_verify_read_only_token_names_write_and_admin_missing(fake_github, make_integration):
    fake_github.add_repo("acme", "shop", permissions={"admin": False, "push": False, "pull": True})
    integration = make_integration()

    result = GitHubService(integration).verify_connection()

    assert result.ok is False
    assert result.facts["can_create_issues"] is False
    assert result.facts["can_create_webhooks"] is False
    assert "write access" in result.detail
    assert "admin access" in result.detail


def test_verify_write_without_admin_misses_only_webhooks(fake_github, make_integration):
    fake_github.add_repo("acme", "shop", permissions={"admin": False, "push": True, "pull": True})
    integration = make_integration()

    result = GitHubService(integration).verify_connection()

    assert result.ok is False
    assert result.facts["can_create_issues"] is True
    assert len(result.facts["missing"]) == 1
    assert "webhook" in result.facts["missing"][0]
