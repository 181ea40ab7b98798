# Custom webhook headers encrypted at rest (issue 11): a new encrypted column takes the old
# JSON column's place, and the values of custom headers already stored in attempt history are
# masked (they were recorded in clear before).

import core.fields
from django.db import migrations

# The headers the transport itself sets and records; every other recorded one was custom.
PLATFORM_HEADERS = {"content-type", "user-agent", "webhook-id", "webhook-timestamp"}
MASKED_VALUE = "[hidden]"
BATCH = 500


def encrypt_headers(apps, schema_editor):
    WebhookEndpoint = apps.get_model("integrations_external", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.only("pk", "headers").iterator():
        if endpoint.headers:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                encrypted_headers=endpoint.headers
            )


def mask_attempt_headers(apps, schema_editor):
    Attempt = apps.get_model("integrations_external", "WebhookDeliveryAttempt")
    changed = []
    for attempt in Attempt.objects.only("pk", "request_headers").iterator(chunk_size=BATCH):
        headers = attempt.request_headers or {}
        masked = {
            name: value if name.lower() in PLATFORM_HEADERS else MASKED_VALUE
            for name, value in headers.items()
        }
        if masked != headers:
            attempt.request_headers = masked
            changed.append(attempt)
        if len(changed) >= BATCH:
            Attempt.objects.bulk_update(changed, ["request_headers"])
            changed = []
    if changed:
        Attempt.objects.bulk_update(changed, ["request_headers"])


def decrypt_headers(apps, schema_editor):
    WebhookEndpoint = apps.get_model("integrations_external", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.only("pk", "encrypted_headers").iterator():
        if endpoint.encrypted_headers:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                headers=endpoint.encrypted_headers
            )


class Migration(migrations.Migration):
    dependencies = [
        ("integrations_external", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookendpoint",
            name="encrypted_headers",
            field=core.fields.EncryptedJSONField(blank=True, default=dict),
        ),
        migrations.RunPython(encrypt_headers, decrypt_headers),
        # Masked values cannot be unmasked: going back leaves them masked.
        migrations.RunPython(mask_attempt_headers, migrations.RunPython.noop),
        migrations.RemoveField(model_name="webhookendpoint", name="headers"),
        migrations.RenameField(
            model_name="webhookendpoint", old_name="encrypted_headers", new_name="headers"
        ),
    ]
