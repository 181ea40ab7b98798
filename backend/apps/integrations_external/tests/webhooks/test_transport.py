"""The webhook transport against a real loopback receiver: wire format, signatures, and how each
kind of answer is handled."""

import base64
import email.utils
import socket
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from apps.alerts.models import SystemAlert
from apps.integrations_external.http import ssrf
from apps.integrations_external.models import EmailDelivery, WebhookDelivery
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.integrations_external.tests.webhooks.helpers import run_until_finished, send_one
from apps.integrations_external.webhooks import transport as transport_module
from apps.integrations_external.webhooks.channel import CHANNEL
from apps.integrations_external.webhooks.services import WebhookService
from tests_support.receivers import Receiver, Reply
from tests_support.tls import make_certificate, server_context

pytestmark = pytest.mark.django_db


def test_transport_sends_standard_webhooks_request(user, receiver, run_on_commit):
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, headers={"X-Team": "ops"})

    delivery = send_one(endpoint, run_on_commit, data={"answer": 42})

    [request] = receiver.wait_for(1)
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert set(payload) == {"id", "type", "timestamp", "data"}
    assert payload["type"] == "workflow.completed"
    assert payload["data"] == {"answer": 42}
    assert payload["id"] == delivery.event_id
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("IntegrationsHub/")
    assert request.headers["webhook-id"] == delivery.webhook_id
    assert request.headers["x-team"] == "ops"
    delivery.refresh_from_db()
    assert delivery.status == "success"
    assert delivery.response_status == 200


def test_transport_our_headers_win_over_custom_ones(user, receiver, run_on_commit):
    endpoint = WebhookEndpointFactory(
        owner=user,
        url=receiver.url,
        method="PUT",
        headers={
            "User-Agent": "evil",
            "webhook-id": "forged",
            "Content-Type": "text/plain",
            "X-Ok": "1",
        },
    )

    delivery = send_one(endpoint, run_on_commit)

    [request] = receiver.wait_for(1)
    assert request.method == "PUT"
    assert request.headers["user-agent"] != "evil"
    assert request.headers["webhook-id"] == delivery.webhook_id
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-ok"] == "1"
    Webhook(endpoint.secret).verify(request.body, request.headers)


def test_transport_rotated_secret_signs_with_both(user, receiver, run_on_commit):
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)
    old = endpoint.secret
    new = WebhookService(endpoint).rotate_secret()

    send_one(endpoint, run_on_commit)

    [request] = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(request.body, request.headers)["type"] == "workflow.completed"
    assert Webhook(new).verify(request.body, request.headers)["type"] == "workflow.completed"


def test_transport_day_old_rotation_signs_new_only(user, receiver, run_on_commit):
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)
    old = endpoint.secret
    WebhookService(endpoint).rotate_secret()
    endpoint.previous_secret_expires_at = timezone.now() - timedelta(seconds=1)
    endpoint.save()

    send_one(endpoint, run_on_commit)

    [request] = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    Webhook(endpoint.secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request.body, request.headers)


def test_transport_redirect_not_followed_fails(user, receiver, run_on_commit):
    receiver.script = [Reply(302, headers={"Location": receiver.url + "/elsewhere"})]
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, retry_count=0)

    delivery = send_one(endpoint, run_on_commit)

    delivery.refresh_from_db()
    assert len(receiver.requests) == 1
    assert delivery.status == "failed"
    assert delivery.response_status == 302
    assert "redirects are not followed" in delivery.error_message


def test_transport_410_disables_with_alert_and_email(user, receiver, run_on_commit):
    receiver.script = [Reply(410)]
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)

    delivery = send_one(endpoint, run_on_commit)

    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempt_number == 1
    assert not endpoint.is_active
    assert "410" in endpoint.disabled_reason
    assert not SystemAlert.objects.exists()  # the owner is told, not every user (issue 11)
    notice = EmailDelivery.objects.get(recipient=user, event_type="email.notice")
    assert str(endpoint) in notice.payload["data"]["subject"]


@pytest.mark.parametrize("status", [429, 503])
def test_transport_retry_after_sets_next_attempt(user, receiver, run_on_commit, status):
    receiver.script = [Reply(status, headers={"Retry-After": "120"})]
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)

    before = timezone.now()
    delivery = send_one(endpoint, run_on_commit)

    delivery.refresh_from_db()
    assert delivery.status == "retrying"
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 119 <= wait <= 125


def test_transport_retry_after_http_date_sets_next_attempt(user, receiver, run_on_commit):
    in_90s = email.utils.formatdate(time.time() + 90, usegmt=True)
    receiver.script = [Reply(503, headers={"Retry-After": in_90s})]
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)

    before = timezone.now()
    delivery = send_one(endpoint, run_on_commit)

    delivery.refresh_from_db()
    assert delivery.status == "retrying"
    assert 85 <= (delivery.next_attempt_at - before).total_seconds() <= 95


def test_transport_huge_retry_after_capped(user, receiver, run_on_commit, settings):
    settings.WEBHOOK_RETRY_AFTER_MAX_SECONDS = 60
    receiver.script = [Reply(429, headers={"Retry-After": "99999999"})]
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)

    before = timezone.now()
    delivery = send_one(endpoint, run_on_commit)

    delivery.refresh_from_db()
    assert (delivery.next_attempt_at - before).total_seconds() <= 65


def test_transport_timeout_is_an_attempt_that_retries(user, receiver, run_on_commit, time_machine):
    # given: a receiver slower than the endpoint's timeout
    receiver.script = [Reply(200, delay=2.0)]
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, timeout_seconds=1)

    delivery = run_until_finished(send_one(endpoint, run_on_commit), time_machine)

    assert delivery.status == "success"
    first, second = delivery.attempt_history()
    assert first.outcome == "retry"
    assert "timed out" in first.error_message
    assert second.outcome == "success"


def test_transport_connection_error_retries_to_exhaustion(user, run_on_commit, time_machine):
    # given: nothing listening on the port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    endpoint = WebhookEndpointFactory(
        owner=user, url=f"http://127.0.0.1:{port}/hook", retry_count=2
    )

    delivery = run_until_finished(send_one(endpoint, run_on_commit), time_machine)

    assert delivery.status == "failed"
    assert delivery.attempt_number == 3
    assert all("connection error" in a.error_message for a in delivery.attempt_history())
    assert "retries exhausted" in delivery.error_message
    endpoint.refresh_from_db()
    assert endpoint.failure_count == 3
    assert endpoint.consecutive_failures == 1


def test_transport_large_response_keeps_first_8_kib(user, receiver, run_on_commit):
    receiver.script = [Reply(500, body=b"x" * 100_000)]
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, retry_count=0)

    delivery = send_one(endpoint, run_on_commit)

    delivery.refresh_from_db()
    assert delivery.response_body == "x" * 8192
    assert delivery.attempt_history()[0].response_body == "x" * 8192


def test_transport_two_failures_keep_three_attempts(user, receiver, run_on_commit, time_machine):
    receiver.script = [Reply(500, body=b"boom"), Reply(502)]
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)

    delivery = run_until_finished(send_one(endpoint, run_on_commit), time_machine)

    requests = receiver.wait_for(3)
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    for r in requests:
        Webhook(endpoint.secret).verify(r.body, r.headers)
    attempts = list(delivery.attempt_history())
    assert [(a.attempt_number, a.outcome, a.response_status) for a in attempts] == [
        (1, "retry", 500),
        (2, "retry", 502),
        (3, "success", 200),
    ]
    assert attempts[0].response_body == "boom"
    assert "webhook-signature" not in attempts[0].request_headers
    endpoint.refresh_from_db()
    assert (endpoint.success_count, endpoint.failure_count) == (1, 2)
    assert endpoint.last_triggered_at is not None


def test_transport_32_byte_secret_verifies(user, receiver, run_on_commit):
    secret = "whsec_" + base64.b64encode(b"s" * 32).decode()
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, secret=secret)

    send_one(endpoint, run_on_commit)

    [request] = receiver.wait_for(1)
    Webhook(secret).verify(request.body, request.headers)


def test_transport_success_large_body_keeps_first_8_kib(user, receiver, run_on_commit):
    receiver.script = [Reply(200, body=b"y" * 50_000)]
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, retry_count=0)

    delivery = send_one(endpoint, run_on_commit)

    delivery.refresh_from_db()
    assert delivery.status == "success"
    assert delivery.response_body == "y" * 8192


def test_transport_line_break_in_header_injects_nothing(user, receiver, run_on_commit):
    # The API refuses such values; a row written another way (admin, shell) must not inject.
    endpoint = WebhookEndpointFactory(
        owner=user, url=receiver.url, headers={"X-Evil": "a\r\nX-Injected: 1", "X-Fine": "ok"}
    )

    send_one(endpoint, run_on_commit)

    [request] = receiver.wait_for(1)
    assert "x-injected" not in request.headers
    assert "x-evil" not in request.headers
    assert request.headers["x-fine"] == "ok"


def test_transport_non_ascii_header_and_path_as_utf_8(user, receiver, run_on_commit):
    endpoint = WebhookEndpointFactory(
        owner=user, url=receiver.url + "/équipe?q=ü", headers={"X-Team": "Équipe ☃"}
    )

    delivery = send_one(endpoint, run_on_commit)

    [request] = receiver.wait_for(1)
    assert request.path == "/hook/%C3%A9quipe?q=%C3%BC"
    # http.server reads header bytes as Latin-1: undo that to see the UTF-8 we sent.
    assert request.headers["x-team"].encode("latin-1").decode() == "Équipe ☃"
    Webhook(endpoint.secret).verify(request.body, request.headers)
    delivery.refresh_from_db()
    assert delivery.status == "success"


def test_transport_batch_unbuildable_request_fails_alone(user, receiver, run_on_commit):
    # given: one delivery of a batch whose request cannot be built
    # A method outside the API's choices, which libcurl cannot take (not ASCII): a row written
    # around the API's validation must not sink the rest of its batch.
    broken = WebhookEndpointFactory(owner=user, url=receiver.url, method="PÜT")
    fine = WebhookEndpointFactory(owner=user, url=receiver.url)

    with run_on_commit():
        publish("workflow.completed", {}, actor=user, targets={"webhook": [broken, fine]})

    outcome = {d.endpoint_id: d for d in WebhookDelivery.objects.all()}
    assert outcome[fine.pk].status == "success"
    assert outcome[broken.pk].status == "failed"
    assert "could not be built" in outcome[broken.pk].error_message
    assert len(receiver.wait_for(1)) == 1


def test_transport_more_than_slots_delivers_each_once(user, receiver, run_on_commit, monkeypatch):
    # given: more deliveries than transfer slots
    monkeypatch.setattr(transport_module, "MAX_IN_FLIGHT", 3)
    endpoints = WebhookEndpointFactory.create_batch(10, owner=user, url=receiver.url)

    with run_on_commit():
        publish("workflow.completed", {}, actor=user, targets={"webhook": endpoints})

    requests = receiver.wait_for(10)
    assert len({r.headers["webhook-id"] for r in requests}) == 10
    deliveries = WebhookDelivery.objects.filter(endpoint__in=endpoints)
    assert sorted(d.status for d in deliveries) == ["success"] * 10


def test_transport_slow_host_over_slots_none_time_out(user, receiver, run_on_commit):
    # given: more slow deliveries to one host than slots; then: none times out waiting
    # Each answer takes 1.2 s of a 2 s timeout: a request that waited one round for a connection
    # while its timeout ran would fail without the receiver ever seeing it.
    receiver.default = Reply(200, delay=1.2)
    count = transport_module.MAX_IN_FLIGHT + 6
    endpoints = WebhookEndpointFactory.create_batch(
        count, owner=user, url=receiver.url, timeout_seconds=2, retry_count=0
    )

    with run_on_commit():
        publish("workflow.completed", {}, actor=user, targets={"webhook": endpoints})

    deliveries = WebhookDelivery.objects.filter(endpoint__in=endpoints)
    assert [d.error_message for d in deliveries if d.status != "success"] == []
    assert len(receiver.wait_for(count)) == count


@override_settings(INTEGRATIONS_ALLOW_PRIVATE_TARGETS=False)
def test_transport_batch_refused_target_results_own(user, receiver, run_on_commit, monkeypatch):
    # then: each result is its own
    # 127.0.0.1 stands for a public address here; 127.0.0.2 stays forbidden.
    real_reason = ssrf.forbidden_reason
    monkeypatch.setattr(
        ssrf, "forbidden_reason", lambda ip: None if str(ip) == "127.0.0.1" else real_reason(ip)
    )
    port = receiver.server.server_address[1]
    first, refused, last = (
        WebhookEndpointFactory(owner=user, url=f"http://{host}:{port}/hook")
        for host in ("127.0.0.1", "127.0.0.2", "127.0.0.1")
    )
    refused.refresh_from_db()

    with run_on_commit():
        publish("workflow.completed", {}, actor=user, targets={"webhook": [first, refused, last]})

    statuses = {d.endpoint_id: d for d in WebhookDelivery.objects.all()}
    assert statuses[first.pk].status == statuses[last.pk].status == "success"
    assert statuses[refused.pk].status == "failed"
    assert "SSRF guard" in statuses[refused.pk].error_message
    assert len(receiver.wait_for(2)) == 2


@pytest.fixture
def pinned_tls_receiver(tmp_path, settings, monkeypatch):
    """Starts HTTPS receivers at hooks.example.test, a name no DNS knows: the guard is on and
    the name "resolves" to the receiver's address, which counts as public here, so only the pin
    reaches it. Every certificate served is trusted: only its name can make it fail."""
    trusted = tmp_path / "trusted.pem"
    trusted.touch()
    settings.INTEGRATIONS_ALLOW_PRIVATE_TARGETS = False
    settings.WEBHOOK_CA_BUNDLE = str(trusted)
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["127.0.0.1"])
    monkeypatch.setattr(ssrf, "forbidden_reason", lambda ip: None)
    started: list[Receiver] = []

    def start(certificate_name: str = "hooks.example.test") -> Receiver:
        cert, key = make_certificate(certificate_name, tmp_path)
        with trusted.open("ab") as bundle:
            bundle.write(cert.read_bytes())
        started.append(Receiver(tls=server_context(cert, key), host="hooks.example.test"))
        return started[-1].start()

    yield start
    for r in started:
        r.stop()


def test_transport_https_pinned_name_matches_cert_and_sni(user, pinned_tls_receiver, run_on_commit):
    tls_receiver = pinned_tls_receiver()
    endpoint = WebhookEndpointFactory(owner=user, url=tls_receiver.url)

    delivery = send_one(endpoint, run_on_commit)

    [request] = tls_receiver.wait_for(1)
    Webhook(endpoint.secret).verify(request.body, request.headers)
    assert tls_receiver.server_names == ["hooks.example.test"]
    assert request.headers["host"].startswith("hooks.example.test:")
    delivery.refresh_from_db()
    assert delivery.status == "success"


def test_transport_wrong_name_certificate_sends_nothing(user, pinned_tls_receiver, run_on_commit):
    # given: a certificate for another name; then: not trusted, nothing sent
    tls_receiver = pinned_tls_receiver("elsewhere.example.test")
    endpoint = WebhookEndpointFactory(owner=user, url=tls_receiver.url)

    delivery = send_one(endpoint, run_on_commit)

    delivery.refresh_from_db()
    assert delivery.status == "retrying"
    assert "connection error" in delivery.error_message
    assert "hooks.example.test" in delivery.error_message  # refused for the name, not the CA
    assert tls_receiver.requests == []


class _CountingPoller:
    """The client's select.poll object, counting how many sockets each wait found ready."""

    def __init__(self, real) -> None:
        self.real = real
        self.ready: list[int] = []

    def poll(self, timeout):
        found = self.real.poll(timeout)
        self.ready.append(len(found))
        return found

    def __getattr__(self, name):
        return getattr(self.real, name)


def _polls_for_a_batch(user, receiver, run_on_commit, monkeypatch, count: int) -> list[int]:
    """Publish one event to `count` new endpoints of `receiver`; the sockets each wait of the
    transport's loop found ready."""
    endpoints = WebhookEndpointFactory.create_batch(count, owner=user, url=receiver.url)
    client = CHANNEL.transport()._client()  # this thread's, which the eager tasks use
    poller = _CountingPoller(client.poller)
    monkeypatch.setattr(client, "poller", poller)
    with run_on_commit():
        publish("workflow.completed", {}, actor=user, targets={"webhook": endpoints})
    deliveries = WebhookDelivery.objects.filter(endpoint__in=endpoints)
    assert sorted(d.status for d in deliveries) == ["success"] * count
    return poller.ready


def test_transport_answers_trickling_in_wake_the_loop_a_few_at_a_time(
    user, receiver, run_on_commit, monkeypatch
):
    # given: a receiver that answers one request at a time, 0.5 ms apart. The spacing and the
    # gathering pause are scaled up from production's so that the outcome does not hang on the
    # machine's speed: a slow CI machine's loop took 0.2-0.3 ms per answer, so answers 0.1 ms
    # apart piled up without any gathering.
    def one_at_a_time(request):  # called under the receiver's lock: answers are serial
        time.sleep(0.0005)
        return Reply(200)

    receiver.handler = one_at_a_time
    _polls_for_a_batch(user, receiver, run_on_commit, monkeypatch, 60)  # 60 connections open
    monkeypatch.undo()

    # when: a batch of 60 goes out without gathering answers, then one with it
    monkeypatch.setattr(transport_module, "GATHER_BELOW", 0)
    one_by_one = _polls_for_a_batch(user, receiver, run_on_commit, monkeypatch, 60)
    monkeypatch.undo()
    receiver.handler = one_at_a_time
    monkeypatch.setattr(transport_module, "GATHER_SECONDS", 0.005)
    gathered = _polls_for_a_batch(user, receiver, run_on_commit, monkeypatch, 60)

    # then: the loop waited at most half as often for the same answers
    assert len(gathered) * 2 <= len(one_by_one), (gathered, one_by_one)
