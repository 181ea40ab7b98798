"""docs/permissions.md, row by row, over HTTP: every integration action × owner / member /
other user / staff, on integrations scoped to one project (issue 11, item 2)."""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone

from apps.integrations_external.github.models import GitHubIntegration
from apps.integrations_external.models import SlackIntegration, WebhookDelivery, WebhookEndpoint
from apps.integrations_external.tests.slack.factories import BOT_TOKEN, SlackIntegrationFactory
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.projects.tests.factories import ProjectFactory, UserFactory, UserStoryFactory
from tests_support.fake_github import FakeGitHub
from tests_support.fake_slack import FakeSlack
from tests_support.receivers import Receiver

pytestmark = pytest.mark.django_db

API = "/api/v1/integrations-external"
ROLES = ("owner", "member", "other", "staff")
REPOS = itertools.count()


def row(owner: int, member: int, other: int, staff: int) -> dict[str, int]:
    return dict(zip(ROLES, (owner, member, other, staff), strict=True))


READ = row(200, 200, 404, 200)
CHANGE = row(200, 403, 404, 200)
DELETE = row(204, 403, 404, 204)
SEND = row(202, 403, 404, 202)  # queued through the delivery path
CREATE = row(201, 403, 400, 201)  # a project the caller cannot see "does not exist"
CREATED = row(201, 403, 404, 201)  # created on GitHub from an integration or a story
SINCE = {"since": "2020-01-01T00:00Z"}

# (name, method, path, body, expected) — the path's {…} are filled from the world below.
TABLE = [
    ("webhook read", "get", "/webhooks/{webhook}/", None, READ),
    ("webhook change", "patch", "/webhooks/{webhook}/", {"name": "renamed"}, CHANGE),
    ("webhook delete", "delete", "/webhooks/{webhook}/", None, DELETE),
    ("webhook test", "post", "/webhooks/{webhook}/test/", None, SEND),
    ("webhook deliveries", "get", "/webhooks/{webhook}/deliveries/", None, READ),
    ("webhook rotate-secret", "post", "/webhooks/{webhook}/rotate-secret/", None, CHANGE),
    ("webhook recover", "post", "/webhooks/{webhook}/recover/", SINCE, SEND),
    ("webhook delivery read", "get", "/webhook-deliveries/{delivery}/", None, READ),
    ("webhook redeliver", "post", "/webhook-deliveries/{delivery}/redeliver/", None, SEND),
    ("slack read", "get", "/slack/{slack}/", None, READ),
    ("slack change", "patch", "/slack/{slack}/", {"channel_name": "ops"}, CHANGE),
    ("slack delete", "delete", "/slack/{slack}/", None, DELETE),
    ("slack verify", "post", "/slack/{slack}/verify/", None, CHANGE),
    ("slack test-message", "post", "/slack/{slack}/test-message/", None, SEND),
    ("slack deliveries", "get", "/slack/{slack}/deliveries/", None, READ),
    ("github read", "get", "/github/{github}/", None, READ),
    ("github change", "patch", "/github/{github}/", {"auto_sync_prs": False}, CHANGE),
    ("github delete", "delete", "/github/{github}/", None, DELETE),
    ("github verify", "post", "/github/{github}/verify/", None, CHANGE),
    ("github sync-prs", "post", "/github/{github}/sync-prs/", None, SEND),
    ("github create-webhook", "post", "/github/{github}/create-webhook/", None, CREATED),
    ("github pull-requests", "get", "/github/{github}/pull-requests/", None, READ),
    ("github workflow-runs", "get", "/github/{github}/workflow-runs/", None, READ),
    ("create-github-issue", "post", "!/user-stories/{story}/create-github-issue/", None, CREATED),
    ("story github", "get", "!/user-stories/{story}/github/", None, READ),
]


@pytest.fixture(scope="module")
def servers():
    """One fake GitHub, Slack and webhook receiver for the whole table (each is stateless
    enough here; starting them per case would cost most of the module's time)."""
    github, slack, receiver = FakeGitHub().start(), FakeSlack().start(), Receiver().start()
    slack.add_token(BOT_TOKEN, team="Acme", user="buildbot")
    slack.add_channel("C0BUILDS01", "builds")
    yield github, slack, receiver
    for server in (github, slack, receiver):
        server.stop()


@pytest.fixture
def world(servers, settings):
    fake_github, fake_slack, receiver = servers
    settings.SLACK_API_BASE_URL = fake_slack.base_url
    repo = f"shop{next(REPOS)}"  # a repository of its own: hooks and issues are per repository
    fake_github.add_repo("acme", repo)
    people = {
        "owner": UserFactory(),
        "member": UserFactory(),
        "other": UserFactory(),
        "staff": UserFactory(is_staff=True),
    }
    project = ProjectFactory(owner=people["owner"], members=[people["member"]])
    ProjectFactory(owner=people["other"])  # the outsider has projects of their own
    webhook = WebhookEndpointFactory(owner=people["owner"], project=project, url=receiver.url)
    delivery = WebhookDelivery.objects.create(
        endpoint=webhook,
        event=_event(project),
        event_type="webhook.test",
        status="failed",
        completed_at=timezone.now(),
    )
    slack = SlackIntegrationFactory(owner=people["owner"], project=project)
    github = GitHubIntegration.objects.create(
        owner=people["owner"],
        project=project,
        repository_owner="acme",
        repository_name=repo,
        access_token=fake_github.token,
        api_base_url=fake_github.base_url,
    )
    story = UserStoryFactory(project=project)
    ids = {
        "webhook": webhook.pk,
        "delivery": delivery.pk,
        "slack": slack.pk,
        "github": github.pk,
        "story": story.pk,
    }
    return people, project, ids


def _event(project):
    from apps.integrations_external.pipeline.events import publish

    return publish("webhook.test", {"n": 1}, project=project, targets={})


def _url(path: str, ids: dict[str, int]) -> str:
    path = path.format(**ids)
    return f"/api/v1{path[1:]}" if path.startswith("!") else f"{API}{path}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [pytest.param(*r[1:], id=r[0]) for r in TABLE],
)
def test_permission_table(client_for, world, role, method, path, body, expected):
    people, _, ids = world

    resp = getattr(client_for(people[role]), method)(_url(path, ids), body, format="json")

    assert resp.status_code == expected[role], resp.content


@pytest.mark.parametrize(
    ("role", "expected"), [(r, s) for r, s in CREATE.items()], ids=list(CREATE)
)
@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param("/webhooks/", {"url": "http://127.0.0.1:9/hook"}, id="webhook"),
        pytest.param("/slack/", {"channel_id": "C0BUILDS01", "bot_token": BOT_TOKEN}, id="slack"),
        pytest.param(
            "/github/",
            {"repository_owner": "acme", "repository_name": "shop", "access_token": "t"},
            id="github",
        ),
    ],
)
def test_permission_table_create(client_for, world, role, expected, path, body):
    people, project, _ = world
    models = (WebhookEndpoint, SlackIntegration, GitHubIntegration)
    before = [m.objects.count() for m in models]

    resp = client_for(people[role]).post(
        f"{API}{path}", {**body, "project": project.pk}, format="json"
    )

    assert resp.status_code == expected, resp.content
    created = sum(m.objects.count() for m in models) - sum(before)
    assert created == (1 if expected == 201 else 0)


@pytest.mark.parametrize(
    ("path", "key"),
    [("/webhooks/", "webhook"), ("/slack/", "slack"), ("/github/", "github")],
)
def test_permission_table_list(client_for, world, path, key):
    people, _, ids = world

    seen = {
        role: [i["id"] for i in client_for(people[role]).get(f"{API}{path}").json()["results"]]
        for role in ROLES
    }

    assert seen == {"owner": [ids[key]], "member": [ids[key]], "other": [], "staff": [ids[key]]}


def test_permission_unscoped_endpoint_seen_by_creator_only(client_for, world):
    people, _, _ = world
    own = WebhookEndpointFactory(owner=people["member"], project=None)

    for role in ("owner", "other", "staff"):
        resp = client_for(people[role]).get(f"{API}/webhooks/{own.pk}/")
        assert resp.status_code == 404, role
    assert (
        client_for(people["member"])
        .patch(f"{API}/webhooks/{own.pk}/", {"name": "mine"}, format="json")
        .status_code
        == 200
    )


def test_permission_member_sees_endpoint_url_and_headers_masked(client_for, world):
    # then: the URL path and the header values are masked
    people, project, _ = world
    endpoint = WebhookEndpointFactory(
        owner=people["owner"],
        project=project,
        url="https://hooks.example.com/services/T0/B0/s3cr3t?token=abc",
        headers={"Authorization": "Bearer topsecret"},
    )

    as_member = client_for(people["member"]).get(f"{API}/webhooks/{endpoint.pk}/").json()
    as_owner = client_for(people["owner"]).get(f"{API}/webhooks/{endpoint.pk}/").json()

    assert as_member["url"] == "https://hooks.example.com/…"
    assert "s3cr3t" not in str(as_member)
    assert "abc" not in str(as_member)
    assert "topsecret" not in str(as_member)
    assert as_member["header_names"] == ["Authorization"]
    assert "headers" not in as_member
    assert as_owner["url"] == endpoint.url


def test_permission_member_moving_integration_to_own_project_403(client_for, world):
    people, project, ids = world
    theirs = ProjectFactory(owner=people["member"])

    resp = client_for(people["member"]).patch(
        f"{API}/slack/{ids['slack']}/", {"project": theirs.pk}, format="json"
    )

    assert resp.status_code == 403
    assert SlackIntegration.objects.get(pk=ids["slack"]).project_id == project.pk
