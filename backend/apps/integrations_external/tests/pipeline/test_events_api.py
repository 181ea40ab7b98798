"""The custom events API: publish (202), refuse platform types (400), list what you may see."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.integrations_external.models import Event
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.projects.tests.factories import ProjectFactory
from tests_support.receivers import Reply

pytestmark = pytest.mark.django_db

API = "/api/v1/integrations-external"


def test_events_api_post_custom_type_202_with_id(auth_client, user, project):
    resp = auth_client.post(
        f"{API}/events/",
        {"type": "deploy.finished", "data": {"v": 2}, "project": project.pk},
        format="json",
    )

    assert resp.status_code == 202
    event = Event.objects.get(pk=resp.data["id"])
    assert (event.type, event.data, event.project, event.actor) == (
        "deploy.finished",
        {"v": 2},
        project,
        user,
    )
    assert event.pk.startswith("evt_")


@pytest.mark.parametrize(
    "body",
    [
        {"type": "workflow.completed", "data": {}},
        {"type": "system.alert", "data": {}},
        {"type": "webhook.test", "data": {}},
        {"type": "github.pull_request.merged", "data": {}},
        {"type": "nodots", "data": {}},
        {"type": "Deploy.Finished", "data": {}},
        {"type": "deploy.finished", "data": ["not", "an", "object"]},
        {"type": "deploy.finished", "data": "text"},
        {"type": "deploy.finished", "data": {"big": "x" * 70_000}},
        {"data": {}},
    ],
)
def test_events_api_post_bad_body_400(auth_client, body):
    resp = auth_client.post(f"{API}/events/", body, format="json")

    assert resp.status_code == 400
    assert set(resp.data) & {"type", "data"}
    assert not Event.objects.exists()


def test_events_api_post_invisible_project_400(auth_client, other_user):
    resp = auth_client.post(
        f"{API}/events/",
        {"type": "deploy.finished", "project": ProjectFactory(owner=other_user).pk},
        format="json",
    )

    assert resp.status_code == 400
    assert "project" in resp.data


def test_events_api_list_visible_and_own_projectless(client_for, user, other_user, project):
    # then: events of visible projects, and project-less ones of one's own
    shared = ProjectFactory(owner=other_user, members=[user])
    hidden = ProjectFactory(owner=other_user)
    visible = {
        publish("deploy.finished", {}, project=project, actor=other_user).pk,
        publish("deploy.finished", {}, project=shared, actor=other_user).pk,
        publish("deploy.finished", {}, actor=user).pk,
    }
    invisible = {
        publish("deploy.finished", {}, project=hidden, actor=other_user).pk,
        publish("deploy.finished", {}, actor=other_user).pk,
    }
    client = client_for(user)

    resp = client.get(f"{API}/events/")

    assert resp.status_code == 200
    assert {e["id"] for e in resp.data["results"]} == visible
    for event_id in invisible:
        assert client.get(f"{API}/events/{event_id}/").status_code == 404
    assert {e["id"] for e in client.get(f"{API}/events/?project={shared.pk}").data["results"]} == {
        e for e in visible if Event.objects.get(pk=e).project_id == shared.pk
    }


def test_events_api_detail_summarises_own_deliveries(
    client_for, user, other_user, receiver, run_on_commit
):
    # then: counts of one's own deliveries per channel and status
    project = ProjectFactory(owner=user, members=[other_user])
    receiver.handler = lambda request: Reply(500) if request.path.endswith("/bad") else Reply(200)
    WebhookEndpointFactory(owner=user, url=receiver.url, custom_events=["*"])
    WebhookEndpointFactory(
        owner=user, url=receiver.url + "/bad", custom_events=["*"], retry_count=0
    )
    WebhookEndpointFactory(owner=other_user, url=receiver.url, custom_events=["*"])
    client = client_for(user)
    with run_on_commit():
        event_id = client.post(
            f"{API}/events/", {"type": "deploy.finished", "project": project.pk}, format="json"
        ).data["id"]

    detail = client.get(f"{API}/events/{event_id}/")
    listed = client.get(f"{API}/events/").data["results"][0]

    assert detail.status_code == 200
    assert detail.data["deliveries"]["webhook"] == {"success": 1, "failed": 1}
    assert listed["id"] == event_id
    assert listed["deliveries"] == detail.data["deliveries"]
    other_view = client_for(other_user).get(f"{API}/events/{event_id}/")
    assert other_view.data["deliveries"]["webhook"] == {"success": 1}


def test_events_api_post_anonymous_401(api_client):
    assert api_client.post(f"{API}/events/", {"type": "a.b"}, format="json").status_code == 401


def _published_at(event_type: str, when, **kwargs) -> str:
    event = publish(event_type, {}, **kwargs)
    Event.objects.filter(pk=event.pk).update(occurred_at=when)
    return event.pk


def test_events_api_list_filters_by_type(auth_client, user, project):
    now = timezone.now()
    deploys = {
        _published_at("deploy.finished", now, project=project, actor=user),
        _published_at("deploy.finished", now, actor=user),
    }
    _published_at("deploy.started", now, project=project, actor=user)
    _published_at("workflow.completed", now, project=project, actor=user)

    resp = auth_client.get(f"{API}/events/", {"type": "deploy.finished"})

    assert resp.status_code == 200
    assert {e["id"] for e in resp.data["results"]} == deploys
    assert auth_client.get(f"{API}/events/", {"type": "deploy"}).data["results"] == []


def test_events_api_list_since_includes_that_moment(auth_client, user, project):
    cut = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    _published_at("deploy.finished", cut - timedelta(days=2), project=project, actor=user)
    _published_at("deploy.finished", cut - timedelta(seconds=1), project=project, actor=user)
    at_cut = _published_at("deploy.finished", cut, project=project, actor=user)
    after = _published_at("deploy.started", cut + timedelta(minutes=5), project=project, actor=user)

    since = auth_client.get(f"{API}/events/", {"since": cut.isoformat()})
    both = auth_client.get(f"{API}/events/", {"since": cut.isoformat(), "type": "deploy.finished"})

    assert since.status_code == 200
    assert [e["id"] for e in since.data["results"]] == [after, at_cut]  # newest first
    assert [e["id"] for e in both.data["results"]] == [at_cut]


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01T00:00:00Z", "1"])
def test_events_api_list_malformed_since_400(auth_client, since):
    resp = auth_client.get(f"{API}/events/", {"since": since})

    assert resp.status_code == 400
    assert "since" in resp.data
