"""Data migrations, run forward from the state before them on rows written by that state."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

APP = "integrations_external"


@pytest.fixture
def migrator():
    """`migrate(target)`: migrate the test database to `target`, return that state's apps.
    Puts every app back on its latest migration afterwards."""
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()

    def migrate(target: tuple[str, str]):
        executor = MigrationExecutor(connection)
        executor.migrate([target])
        return executor.loader.project_state([target]).apps

    yield migrate
    MigrationExecutor(connection).migrate(leaves)


@pytest.mark.django_db(transaction=True)
def test_migration_encrypts_headers_and_masks_history(
    migrator,
):
    # given: plaintext webhook headers
    old = migrator((APP, "0001_initial"))
    user = old.get_model("auth", "User").objects.create(username="owner")
    endpoint = old.get_model(APP, "WebhookEndpoint").objects.create(
        owner=user, url="http://127.0.0.1:9/", headers={"Authorization": "Bearer s3cr3t"}
    )
    bare = old.get_model(APP, "WebhookEndpoint").objects.create(owner=user, url="http://x.test/")
    event = old.get_model(APP, "Event").objects.create(type="t.t", occurred_at=timezone.now())
    delivery = old.get_model(APP, "WebhookDelivery").objects.create(
        event=event, event_type="t.t", endpoint=endpoint
    )
    attempt = old.get_model(APP, "WebhookDeliveryAttempt").objects.create(
        delivery=delivery,
        attempt_number=1,
        started_at=timezone.now(),
        outcome="success",
        request_headers={
            "Authorization": "Bearer s3cr3t",
            "Content-Type": "application/json",
            "webhook-id": "msg_1",
        },
    )

    new = migrator((APP, "0002_encrypted_webhook_headers"))

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, headers FROM integrations_external_webhookendpoint ORDER BY id")
        raw = dict(cursor.fetchall())
    assert raw[endpoint.pk].startswith("fernet:")
    assert "s3cr3t" not in raw[endpoint.pk]
    assert raw[bare.pk] == ""
    endpoints = new.get_model(APP, "WebhookEndpoint").objects
    assert endpoints.get(pk=endpoint.pk).headers == {"Authorization": "Bearer s3cr3t"}
    assert endpoints.get(pk=bare.pk).headers == {}
    history = new.get_model(APP, "WebhookDeliveryAttempt").objects.get(pk=attempt.pk)
    assert history.request_headers == {
        "Authorization": "[hidden]",
        "Content-Type": "application/json",
        "webhook-id": "msg_1",
    }
