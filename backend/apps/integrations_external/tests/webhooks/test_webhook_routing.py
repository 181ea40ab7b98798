"""Routing through the API: endpoints created over HTTP receive what the one rule says."""

import pytest

from apps.alerts.services import system_alert_raise
from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.tests.webhooks.helpers import API
from apps.projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def endpoint_via_api(client, url, **fields) -> int:
    resp = client.post(f"{API}/webhooks/", {"url": url, **fields}, format="json")
    assert resp.status_code == 201, resp.data
    return resp.data["id"]


def publish_via_api(client, run_on_commit, **body) -> str:
    with run_on_commit():
        resp = client.post(f"{API}/events/", body, format="json")
    assert resp.status_code == 202, resp.data
    return resp.data["id"]


def receivers_of(event_id) -> set[int]:
    return set(
        WebhookDelivery.objects.filter(event_id=event_id).values_list("endpoint_id", flat=True)
    )


def test_webhook_routing_custom_event_star_and_named(auth_client, receiver, run_on_commit):
    # then: both "*" and the named subscription match
    star = endpoint_via_api(auth_client, receiver.url, custom_events=["*"])
    named = endpoint_via_api(auth_client, receiver.url, custom_events=["deploy.finished"])
    other = endpoint_via_api(auth_client, receiver.url, custom_events=["deploy.started"])
    none = endpoint_via_api(auth_client, receiver.url)

    event_id = publish_via_api(auth_client, run_on_commit, type="deploy.finished", data={"v": 1})

    assert receivers_of(event_id) == {star, named}
    assert {r.json()["type"] for r in receiver.wait_for(2)} == {"deploy.finished"}
    assert other not in receivers_of(event_id)
    assert none not in receivers_of(event_id)


def test_webhook_routing_project_event_by_scope(
    auth_client, user, project, receiver, run_on_commit
):
    other_project = ProjectFactory(owner=user)
    unscoped = endpoint_via_api(auth_client, receiver.url, custom_events=["*"])
    scoped = endpoint_via_api(auth_client, receiver.url, custom_events=["*"], project=project.pk)
    elsewhere = endpoint_via_api(
        auth_client, receiver.url, custom_events=["*"], project=other_project.pk
    )

    event_id = publish_via_api(
        auth_client, run_on_commit, type="deploy.finished", project=project.pk
    )

    assert receivers_of(event_id) == {unscoped, scoped}
    assert elsewhere not in receivers_of(event_id)


def test_webhook_routing_project_event_to_members(
    client_for, user, other_user, staff_user, receiver, run_on_commit
):
    # given: a project member and an outsider
    project = ProjectFactory(owner=user, members=[other_user])
    outsider = ProjectFactory(owner=staff_user)  # staff_user is no member of `project`
    member_endpoint = endpoint_via_api(client_for(other_user), receiver.url, custom_events=["*"])
    outsider_endpoint = endpoint_via_api(client_for(staff_user), receiver.url, custom_events=["*"])
    assert outsider

    event_id = publish_via_api(
        client_for(user), run_on_commit, type="deploy.finished", project=project.pk
    )

    assert receivers_of(event_id) == {member_endpoint}
    assert outsider_endpoint not in receivers_of(event_id)


def test_webhook_routing_projectless_to_publisher(
    client_for, user, other_user, receiver, run_on_commit
):
    mine = endpoint_via_api(client_for(user), receiver.url, custom_events=["*"])
    endpoint_via_api(client_for(other_user), receiver.url, custom_events=["*"])

    event_id = publish_via_api(client_for(user), run_on_commit, type="deploy.finished")

    assert receivers_of(event_id) == {mine}


def test_webhook_routing_alert_to_staff_only(client_for, user, staff_user, receiver, run_on_commit):
    staff_endpoint = endpoint_via_api(
        client_for(staff_user), receiver.url, trigger_system_alert=True
    )
    endpoint_via_api(client_for(user), receiver.url, trigger_system_alert=True)
    endpoint_via_api(client_for(staff_user), receiver.url)  # switch off

    with run_on_commit():
        system_alert_raise(title="Disk full", severity="critical")

    deliveries = WebhookDelivery.objects.filter(event_type="system.alert")
    assert list(deliveries.values_list("endpoint_id", flat=True)) == [staff_endpoint]
    [request] = receiver.wait_for(1)
    assert request.json()["data"]["alert"]["title"] == "Disk full"
