"""The SSRF guard: refused at create/update and again at send time on the resolved address."""

import ipaddress

import pytest
from django.test import override_settings

from apps.integrations_external.http import ssrf
from apps.integrations_external.http.errors import TargetRefused
from apps.integrations_external.models import WebhookEndpoint
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.integrations_external.tests.webhooks.helpers import API, send_one

pytestmark = pytest.mark.django_db

guarded = override_settings(INTEGRATIONS_ALLOW_PRIVATE_TARGETS=False)

FORBIDDEN_URLS = [
    "http://127.0.0.1/x",
    "http://localhost:8000/x",
    "http://127.1/x",
    "http://2130706433/x",  # 127.0.0.1 as one number
    "http://0.0.0.0/x",
    "http://10.1.2.3/x",
    "http://172.16.0.1/x",
    "http://192.168.1.1/x",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/x",
    "http://224.0.0.1/x",
    "http://240.0.0.1/x",
    "http://[::1]/x",
    "http://[::]/x",
    "http://[fe80::1]/x",
    "http://[fc00::1]/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://[::ffff:169.254.169.254]/x",
    "http://[64:ff9b::a00:1]/x",  # NAT64 of 10.0.0.1
    "http://[2002:a00:1::]/x",  # 6to4 of 10.0.0.1
]


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"],
)
def test_ssrf_public_address_allowed(address):
    assert ssrf.forbidden_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "CGNAT"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:10.0.0.1", "embeds 10.0.0.1"),
    ],
)
def test_ssrf_internal_address_refused_with_reason(address, reason):
    assert reason in ssrf.forbidden_reason(ipaddress.ip_address(address))


@guarded
@pytest.mark.parametrize("url", FORBIDDEN_URLS)
def test_ssrf_create_internal_url_400(auth_client, url):
    resp = auth_client.post(f"{API}/webhooks/", {"url": url}, format="json")

    assert resp.status_code == 400
    assert "SSRF" in str(resp.data["url"])
    assert not WebhookEndpoint.objects.exists()


@guarded
def test_ssrf_update_to_internal_url_400(auth_client, user):
    endpoint = WebhookEndpointFactory(owner=user, url="http://93.184.216.34/hook")

    resp = auth_client.patch(
        f"{API}/webhooks/{endpoint.pk}/", {"url": "http://localhost/x"}, format="json"
    )

    assert resp.status_code == 400
    assert "url" in resp.data
    endpoint.refresh_from_db()
    assert endpoint.url == "http://93.184.216.34/hook"


@guarded
def test_ssrf_create_public_ip_accepted(auth_client):
    resp = auth_client.post(
        f"{API}/webhooks/", {"url": "https://93.184.216.34/hook"}, format="json"
    )

    assert resp.status_code == 201


@guarded
def test_ssrf_send_refuses_name_resolving_to_loopback(user, receiver, run_on_commit):
    # then: refused for good (no retry)
    # Saved while the name was harmless (or before the guard was on); now it points inside.
    port = receiver.server.server_address[1]
    endpoint = WebhookEndpointFactory(owner=user, url=f"http://localhost:{port}/hook")

    delivery = send_one(endpoint, run_on_commit)

    assert delivery.status == "failed"
    assert delivery.attempt_number == 1
    assert "SSRF" in delivery.error_message
    assert "localhost resolves to" in delivery.error_message
    assert receiver.requests == []


@guarded
def test_ssrf_pin_ip_literal_resolves_nothing():
    target = ssrf.pin("https://93.184.216.34:8443/hook?a=1")

    assert target == ssrf.PinnedTarget("https://93.184.216.34:8443/hook?a=1", resolve=None)


@guarded
@pytest.mark.parametrize(
    ("address", "entry"),
    [("93.184.216.34", "93.184.216.34"), ("2606:4700:4700::1111", "[2606:4700:4700::1111]")],
)
def test_ssrf_pin_name_keeps_url_pins_connection(monkeypatch, address, entry):
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: [address])

    target = ssrf.pin("https://hooks.example.test/in")

    assert target.url == "https://hooks.example.test/in"
    assert target.resolve == f"hooks.example.test:443:{entry}"


@guarded
def test_ssrf_pinned_send_goes_to_validated_address(user, receiver, run_on_commit, monkeypatch):
    # then: the request goes there, under its name
    # A name nobody's DNS knows, "validated" to the receiver's address: only the pin can reach it.
    port = receiver.server.server_address[1]
    monkeypatch.setattr(ssrf, "resolve", lambda host, p: ["127.0.0.1"])
    monkeypatch.setattr(ssrf, "forbidden_reason", lambda ip: None)
    endpoint = WebhookEndpointFactory(owner=user, url=f"http://hooks.example.test:{port}/hook")

    delivery = send_one(endpoint, run_on_commit)

    [request] = receiver.wait_for(1)
    assert request.headers["host"] == f"hooks.example.test:{port}"
    assert delivery.status == "success"


@guarded
def test_ssrf_socket_on_loopback_refused_after_check(user, receiver, run_on_commit, monkeypatch):
    # given: the check passed on another DNS answer
    # DNS rebinding past the name check: the address actually connected to is checked again.
    monkeypatch.setattr(ssrf, "pin", lambda url: ssrf.PinnedTarget(url))
    port = receiver.server.server_address[1]
    endpoint = WebhookEndpointFactory(owner=user, url=f"http://localhost:{port}/hook")

    delivery = send_one(endpoint, run_on_commit)

    assert delivery.status == "failed"
    assert delivery.attempt_number == 1
    assert "SSRF guard" in delivery.error_message
    assert "loopback" in delivery.error_message
    assert receiver.requests == []


@guarded
def test_ssrf_pin_internal_target_refused():
    with pytest.raises(TargetRefused):
        ssrf.pin("http://[::ffff:127.0.0.1]:80/x")


def test_ssrf_pin_with_private_allowed_leaves_url():
    assert ssrf.pin("http://localhost:1/x") == ssrf.PinnedTarget("http://localhost:1/x")
