"""Per-user limits on the actions that call out or send, and on sign-in (issue 11, item 6)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.tests.slack.factories import BOT_TOKEN, SlackIntegrationFactory
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.projects.tests.factories import UserFactory, UserStoryFactory
from tests_support.fake_slack import fake_slack  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

API = "/api/v1/integrations-external"


@pytest.fixture
def slack(fake_slack):  # noqa: F811
    fake_slack.add_token(BOT_TOKEN, team="Acme", user="buildbot")
    fake_slack.add_channel("C0BUILDS01", "builds")
    return fake_slack


@pytest.fixture
def outbound_rate(settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "outbound": "3/minute"}


def test_throttle_slack_verify_burst_429_without_calling_slack(
    outbound_rate, user, project, slack, client_for
):
    integration = SlackIntegrationFactory(owner=user, project=project)
    client = client_for(user)

    answers = [client.post(f"{API}/slack/{integration.pk}/verify/") for _ in range(5)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert int(answers[3]["Retry-After"]) > 0
    assert "throttled" in answers[3].json()["detail"].lower()
    assert [c.method for c in slack.calls].count("auth.test") == 3


def test_throttle_budget_per_user_and_per_action(outbound_rate, user, project, slack, client_for):
    # given: one user throttled
    # then: another user, or another action, still has its budget
    integration = SlackIntegrationFactory(owner=user, project=project)
    for _ in range(3):
        client_for(user).post(f"{API}/slack/{integration.pk}/verify/")
    assert client_for(user).post(f"{API}/slack/{integration.pk}/verify/").status_code == 429

    other = UserFactory()
    theirs = SlackIntegrationFactory(owner=other)
    assert client_for(other).post(f"{API}/slack/{theirs.pk}/verify/").status_code == 200
    answer = client_for(user).post(f"{API}/slack/{integration.pk}/test-message/")
    assert answer.status_code == 202


def _throttled_calls(user, project) -> list[str]:
    """Every action that calls out or sends, as a URL the user may POST to."""
    from apps.integrations_external.models import GitHubIntegration

    endpoint = WebhookEndpointFactory(owner=user, project=project)
    publish("workflow.completed", {}, project=project, actor=user)
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint).first()
    slack = SlackIntegrationFactory(owner=user, project=project)
    github = GitHubIntegration.objects.create(
        owner=user,
        project=project,
        repository_owner="acme",
        repository_name="shop",
        access_token="ghp_x",
        api_base_url="http://127.0.0.1:9",  # refused at once: no call leaves the machine
    )
    story = UserStoryFactory(project=project)
    return [
        f"{API}/webhooks/{endpoint.pk}/test/",
        f"{API}/webhooks/{endpoint.pk}/recover/",
        f"{API}/webhook-deliveries/{delivery.pk}/redeliver/",
        f"{API}/slack/{slack.pk}/verify/",
        f"{API}/slack/{slack.pk}/test-message/",
        f"{API}/email/test-email/",
        f"{API}/github/{github.pk}/verify/",
        f"{API}/github/{github.pk}/sync-prs/",
        f"{API}/github/{github.pk}/create-webhook/",
        f"/api/v1/user-stories/{story.pk}/create-github-issue/",
    ]


def test_throttle_each_outbound_action_second_call_is_429(
    settings, user, project, client_for, run_on_commit, slack
):
    # given: a rate of one
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "outbound": "1/hour", "resend": "1/hour"}
    with run_on_commit():
        urls = _throttled_calls(user, project)
    client = client_for(user)

    for url in urls:
        first = client.post(url, {"since": "2026-01-01T00:00:00Z"}, format="json")
        second = client.post(url, {"since": "2026-01-01T00:00:00Z"}, format="json")
        assert first.status_code != 429, url
        assert second.status_code == 429, (url, second.status_code, second.content[:200])
        assert second["Retry-After"], url


def test_throttle_sign_in_wrong_passwords_429_with_retry_after(settings, client, user):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "3/minute"}
    form = {"username": user.username, "password": "wrong", "next": "/admin/"}

    answers = [client.post("/admin/login/", form).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    last = client.post("/admin/login/", {**form, "password": "right-or-not"})
    assert last.status_code == 429
    assert int(last["Retry-After"]) > 0


def test_throttle_sign_in_limits_an_address_across_usernames(settings, client):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "3/minute"}

    answers = [
        client.post("/admin/login/", {"username": f"guess{i}", "password": "x"}).status_code
        for i in range(4)
    ]

    assert answers == [200, 200, 200, 429]


def test_throttle_counts_in_shared_database_cache_by_default(
    outbound_rate, user, project, slack, client_for, settings
):
    assert settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache")
    integration = SlackIntegrationFactory(owner=user, project=project)
    client_for(user).post(f"{API}/slack/{integration.pk}/verify/")

    key = f"throttle_outbound:SlackIntegrationViewSet.verify_user-{user.pk}"
    assert len(cache.get(key)) == 1


@pytest.mark.services
def test_throttle_counts_in_redis_with_cache_url(
    outbound_rate, user, project, slack, client_for, settings, redis_url
):
    # then: counts are shared by every process
    import redis

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "hub",
        }
    }
    integration = SlackIntegrationFactory(owner=user, project=project)
    client_for(user).post(f"{API}/slack/{integration.pk}/verify/")

    keys = redis.Redis.from_url(redis_url).keys("hub:*throttle_outbound*")
    assert len(keys) == 1
