"""Actions on endpoints and deliveries: test, deliveries, redeliver, rotate-secret, recover."""

from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from apps.integrations_external.models import WebhookDelivery, WebhookEndpoint
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.integrations_external.tests.webhooks.helpers import API, run_until_finished
from tests_support.receivers import Reply

pytestmark = pytest.mark.django_db


def failed_delivery(endpoint, receiver, run_on_commit, event_type="workflow.completed"):
    receiver.script = [Reply(500)]
    with run_on_commit():
        event = publish(event_type, {"n": 1}, actor=endpoint.owner, targets={"webhook": [endpoint]})
    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
    assert delivery.status == "failed"
    return delivery


def test_webhooks_api_test_action_delivers_and_returns(auth_client, user, receiver, run_on_commit):
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)

    with run_on_commit():
        resp = auth_client.post(f"{API}/webhooks/{endpoint.pk}/test/")

    assert resp.status_code == 202
    assert resp.data["event_type"] == "webhook.test"
    assert resp.data["endpoint"] == endpoint.pk
    [request] = receiver.wait_for(1)
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test"
    assert request.headers["webhook-id"] == resp.data["webhook_id"]
    assert WebhookDelivery.objects.get(pk=resp.data["id"]).status == "success"


def test_webhooks_api_test_success_re_enables(auth_client, user, receiver, run_on_commit):
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_at=timezone.now(), disabled_reason="x", consecutive_failures=15
    )

    with run_on_commit():
        auth_client.post(f"{API}/webhooks/{endpoint.pk}/test/")

    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert endpoint.disabled_at is None
    assert endpoint.consecutive_failures == 0


def test_webhooks_api_test_failure_stays_disabled(auth_client, user, receiver, run_on_commit):
    receiver.default = Reply(500)
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, retry_count=0)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)

    with run_on_commit():
        auth_client.post(f"{API}/webhooks/{endpoint.pk}/test/")

    endpoint.refresh_from_db()
    assert not endpoint.is_active


def test_deliveries_api_list_and_filter_own_only(
    auth_client, user, other_user, receiver, run_on_commit
):
    mine = WebhookEndpointFactory(owner=user, url=receiver.url)
    mine_too = WebhookEndpointFactory(owner=user, url=receiver.url, retry_count=0)
    theirs = WebhookEndpointFactory(owner=other_user, url=receiver.url)
    receiver.script = [Reply(200), Reply(500), Reply(200)]
    with run_on_commit():
        publish("workflow.completed", {}, actor=user, targets={"webhook": [mine]})
        publish("deploy.finished", {}, actor=user, targets={"webhook": [mine_too]})
        publish("workflow.completed", {}, actor=other_user, targets={"webhook": [theirs]})

    def ids(query=""):
        resp = auth_client.get(f"{API}/webhook-deliveries/{query}")
        assert resp.status_code == 200
        return sorted(d["endpoint"] for d in resp.data["results"])

    assert ids() == sorted([mine.pk, mine_too.pk])
    assert ids("?status=failed") == [mine_too.pk]
    assert ids("?event_type=workflow.completed") == [mine.pk]
    assert ids(f"?endpoint={mine_too.pk}") == [mine_too.pk]
    assert ids(f"?endpoint={theirs.pk}") == []
    assert auth_client.get(f"{API}/webhook-deliveries/?status=bogus").status_code == 400
    resp = auth_client.get(f"{API}/webhooks/{mine.pk}/deliveries/")
    assert [d["endpoint"] for d in resp.data["results"]] == [mine.pk]


def test_deliveries_api_detail_shows_attempt_history(
    auth_client, user, receiver, run_on_commit, time_machine
):
    receiver.script = [Reply(503, body=b"busy")]
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)
    with run_on_commit():
        publish("workflow.completed", {"k": "v"}, actor=user, targets={"webhook": [endpoint]})
    delivery = run_until_finished(WebhookDelivery.objects.get(endpoint=endpoint), time_machine)

    resp = auth_client.get(f"{API}/webhook-deliveries/{delivery.pk}/")

    assert resp.status_code == 200
    assert resp.data["payload"]["data"] == {"k": "v"}
    assert [(a["attempt_number"], a["response_status"]) for a in resp.data["attempts"]] == [
        (1, 503),
        (2, 200),
    ]
    assert resp.data["attempts"][0]["response_body"] == "busy"
    assert resp.data["attempts"][0]["request_headers"]["webhook-id"] == delivery.webhook_id


def test_deliveries_api_other_users_delivery_404(
    client_for, user, other_user, receiver, run_on_commit
):
    delivery = failed_delivery(
        WebhookEndpointFactory(owner=user, url=receiver.url, retry_count=0), receiver, run_on_commit
    )
    intruder = client_for(other_user)

    assert intruder.get(f"{API}/webhook-deliveries/{delivery.pk}/").status_code == 404
    assert intruder.post(f"{API}/webhook-deliveries/{delivery.pk}/redeliver/").status_code == 404
    assert WebhookDelivery.objects.count() == 1


def test_deliveries_api_redeliver_new_row_same_webhook_id(
    auth_client, user, receiver, run_on_commit
):
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, retry_count=0)
    original = failed_delivery(endpoint, receiver, run_on_commit)

    with run_on_commit():
        resp = auth_client.post(f"{API}/webhook-deliveries/{original.pk}/redeliver/")

    assert resp.status_code == 202
    copy = WebhookDelivery.objects.get(pk=resp.data["id"])
    assert copy.pk != original.pk
    assert copy.redelivery_of == original
    assert copy.webhook_id == original.webhook_id
    assert copy.payload == original.payload
    assert copy.status == "success"
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == original.webhook_id
    Webhook(endpoint.secret).verify(second.body, second.headers)


def test_deliveries_api_redeliver_open_delivery_409(auth_client, user, receiver, run_on_commit):
    receiver.script = [Reply(500)]
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)
    with run_on_commit():
        publish("workflow.completed", {}, actor=user, targets={"webhook": [endpoint]})
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "retrying"

    resp = auth_client.post(f"{API}/webhook-deliveries/{delivery.pk}/redeliver/")

    assert resp.status_code == 409
    assert WebhookDelivery.objects.count() == 1


def test_webhooks_api_rotate_secret_old_signs_a_day(auth_client, user, receiver, run_on_commit):
    # then: the new secret shown once; the old one still signs for a day
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)
    old = endpoint.secret

    resp = auth_client.post(f"{API}/webhooks/{endpoint.pk}/rotate-secret/")

    assert resp.status_code == 200
    new = resp.data["secret"]
    assert new.startswith("whsec_")
    assert new != old
    endpoint.refresh_from_db()
    assert endpoint.secret == new
    assert endpoint.previous_secret == old
    remaining = endpoint.previous_secret_expires_at - timezone.now()
    assert timedelta(hours=23, minutes=59) < remaining <= timedelta(hours=24)
    detail = auth_client.get(f"{API}/webhooks/{endpoint.pk}/")
    assert new not in detail.content.decode()
    assert detail.data["secret_hint"].endswith(new[-4:])
    with run_on_commit():
        auth_client.post(f"{API}/webhooks/{endpoint.pk}/test/")
    [request] = receiver.wait_for(1)
    Webhook(old).verify(request.body, request.headers)
    Webhook(new).verify(request.body, request.headers)


def test_webhooks_api_rotate_bad_secret_400(auth_client, user):
    endpoint = WebhookEndpointFactory(owner=user)

    resp = auth_client.post(
        f"{API}/webhooks/{endpoint.pk}/rotate-secret/", {"secret": "nope"}, format="json"
    )

    assert resp.status_code == 400
    assert "secret" in resp.data


def test_webhooks_api_recover_resends_each_failed_once(auth_client, user, receiver, run_on_commit):
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, retry_count=0)
    old = failed_delivery(endpoint, receiver, run_on_commit)
    WebhookDelivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    since = timezone.now() - timedelta(days=1)
    recent = [failed_delivery(endpoint, receiver, run_on_commit) for _ in range(3)]
    already_redelivered = recent[2]
    with run_on_commit():
        auth_client.post(f"{API}/webhook-deliveries/{already_redelivered.pk}/redeliver/")
    with run_on_commit():
        publish("workflow.completed", {}, actor=user, targets={"webhook": [endpoint]})  # a success
    sent_before = len(receiver.requests)

    with run_on_commit():
        resp = auth_client.post(
            f"{API}/webhooks/{endpoint.pk}/recover/", {"since": since.isoformat()}, format="json"
        )

    assert resp.status_code == 202
    assert resp.data == {"recovered": 2}
    resent = receiver.wait_for(sent_before + 2)[sent_before:]
    assert sorted(r.headers["webhook-id"] for r in resent) == sorted(
        d.webhook_id for d in recent[:2]
    )
    for d in recent[:2]:
        assert WebhookDelivery.objects.filter(redelivery_of=d, status="success").count() == 1
    assert not WebhookDelivery.objects.filter(redelivery_of=old).exists()


def test_webhooks_api_recover_nothing_failed_zero(auth_client, user):
    endpoint = WebhookEndpointFactory(owner=user)

    resp = auth_client.post(
        f"{API}/webhooks/{endpoint.pk}/recover/", {"since": "2020-01-01T00:00:00Z"}, format="json"
    )

    assert resp.status_code == 202
    assert resp.data == {"recovered": 0}


def test_webhooks_api_recover_without_since_400(auth_client, user):
    endpoint = WebhookEndpointFactory(owner=user)

    resp = auth_client.post(
        f"{API}/webhooks/{endpoint.pk}/recover/", {"since": "yesterday"}, format="json"
    )

    assert resp.status_code == 400
    assert "since" in resp.data
