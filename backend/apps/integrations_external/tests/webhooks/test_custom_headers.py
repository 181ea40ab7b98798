"""Custom webhook headers: encrypted at rest, names only in the API, the admin and attempt
history, values on the wire; no line breaks, NULs, or headers the sender must own."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import Client

from apps.integrations_external.models import WebhookEndpoint
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.integrations_external.tests.webhooks.helpers import API, send_one
from apps.projects.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "Bearer s3cr3t-t0ken-value"


def stored_headers(endpoint: WebhookEndpoint) -> str:
    """The column's raw content, read with SQL (no field conversion)."""
    table = connection.ops.quote_name(WebhookEndpoint._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT headers FROM {table} WHERE id = %s", [endpoint.pk])
        return cursor.fetchone()[0]


def create(client, **fields):
    return client.post(
        f"{API}/webhooks/", {"url": "http://127.0.0.1:9/hook", **fields}, format="json"
    )


def test_custom_headers_encrypted_at_rest(auth_client):
    resp = create(auth_client, headers={"Authorization": TOKEN, "X-Team": "ops"})

    assert resp.status_code == 201, resp.data
    endpoint = WebhookEndpoint.objects.get(pk=resp.data["id"])
    raw = stored_headers(endpoint)
    assert raw.startswith("fernet:")
    assert "s3cr3t" not in raw
    assert "Authorization" not in raw
    assert endpoint.headers == {"Authorization": TOKEN, "X-Team": "ops"}


def test_custom_headers_read_shows_names_only(auth_client):
    created = create(auth_client, headers={"Authorization": TOKEN})
    pk = created.data["id"]
    patched = auth_client.patch(f"{API}/webhooks/{pk}/", {"name": "renamed"}, format="json")
    put = auth_client.put(
        f"{API}/webhooks/{pk}/", {"url": "http://127.0.0.1:9/other"}, format="json"
    )

    for resp in [
        created,
        patched,
        put,
        auth_client.get(f"{API}/webhooks/{pk}/"),
        auth_client.get(f"{API}/webhooks/"),
    ]:
        assert resp.status_code in (200, 201), resp.data
        assert "s3cr3t" not in resp.content.decode()
        body = resp.json()
        shown = body["results"][0] if "results" in body else body
        assert shown["header_names"] == ["Authorization"]
        assert "headers" not in shown


def test_custom_headers_patch_keeps_or_clears(auth_client):
    # when: patched without headers, then kept; with {}, then removed
    pk = create(auth_client, headers={"Authorization": TOKEN}).data["id"]

    auth_client.patch(f"{API}/webhooks/{pk}/", {"timeout_seconds": 5}, format="json")
    assert WebhookEndpoint.objects.get(pk=pk).headers == {"Authorization": TOKEN}

    replaced = auth_client.patch(
        f"{API}/webhooks/{pk}/", {"headers": {"X-Other": "1"}}, format="json"
    )
    assert replaced.data["header_names"] == ["X-Other"]

    cleared = auth_client.patch(f"{API}/webhooks/{pk}/", {"headers": {}}, format="json")
    assert cleared.data["header_names"] == []
    endpoint = WebhookEndpoint.objects.get(pk=pk)
    assert endpoint.headers == {}
    assert stored_headers(endpoint) == ""


@pytest.mark.parametrize(
    "headers",
    [
        {"X-A": "a\rb"},
        {"X-A": "a\nb"},
        {"X-A": "a\0b"},
        {"X-A\r\nX-B": "1"},
        {"X-A\n": "1"},
        {"X-A\0": "1"},
        {"Host": "evil.example"},
        {"content-length": "0"},
        {"Transfer-Encoding": "chunked"},
        {"Connection": "close"},
        {"Keep-Alive": "timeout=5"},
        {"TE": "trailers"},
        {"Trailer": "X-A"},
        {"Upgrade": "h2c"},
        {"Expect": "100-continue"},
        {"Content-Encoding": "gzip"},
        {"Proxy-Authorization": "Basic x"},
        {"webhook-signature": "v1,forged"},
        {"webhook-timestamp": "1"},
        {"X-Token": "a", "x-token": "b"},
    ],
)
def test_custom_headers_unsafe_or_reserved_400(auth_client, user, headers):
    endpoint = WebhookEndpointFactory(owner=user)

    created = create(auth_client, headers=headers)
    patched = auth_client.patch(
        f"{API}/webhooks/{endpoint.pk}/", {"headers": headers}, format="json"
    )

    assert created.status_code == 400
    assert "headers" in created.data
    assert patched.status_code == 400
    assert "headers" in patched.data
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).headers == {}


def test_custom_headers_sent_but_masked_in_history(auth_client, user, receiver, run_on_commit):
    endpoint = WebhookEndpointFactory(
        owner=user, url=receiver.url, headers={"Authorization": TOKEN}
    )

    delivery = send_one(endpoint, run_on_commit)

    [request] = receiver.wait_for(1)
    assert request.headers["authorization"] == TOKEN
    [attempt] = delivery.attempt_history()
    assert attempt.request_headers["Authorization"] == "[hidden]"
    assert attempt.request_headers["webhook-id"] == delivery.webhook_id
    resp = auth_client.get(f"{API}/webhook-deliveries/{delivery.pk}/")
    assert resp.status_code == 200
    assert "s3cr3t" not in resp.content.decode()
    assert resp.data["attempts"][0]["request_headers"]["Authorization"] == "[hidden]"


def test_custom_headers_admin_shows_names_only(user, receiver, run_on_commit):
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, headers={"X-Api-Key": TOKEN})
    delivery = send_one(endpoint, run_on_commit)
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    base = "/admin/integrations_external"

    pages = [
        admin.get(f"{base}/webhookendpoint/"),
        admin.get(f"{base}/webhookendpoint/{endpoint.pk}/change/"),
        admin.get(f"{base}/webhookdelivery/{delivery.pk}/change/"),
    ]

    for page in pages:
        assert page.status_code == 200
        assert "s3cr3t" not in page.content.decode()
    assert "X-Api-Key" in pages[1].content.decode()


def test_custom_headers_readable_after_key_rotation(settings):
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    endpoint = WebhookEndpointFactory(headers={"Authorization": TOKEN})
    before = stored_headers(endpoint)
    settings.FIELD_ENCRYPTION_KEYS = [new, old]

    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out, stderr=StringIO())

    assert "integrations_external.WebhookEndpoint.headers: 1 re-encrypted" in out.getvalue()
    assert stored_headers(endpoint) != before
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).headers == {"Authorization": TOKEN}
