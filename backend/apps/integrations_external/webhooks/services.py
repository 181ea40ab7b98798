"""Webhooks: one endpoint's operations (WebhookService) and what needs no endpoint (functions),
on top of the shared pipeline. `queue_…` and `trigger_…` only record events for the engine."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.integrations_external import catalog
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.pipeline.models import OPEN_STATUSES, DeliveryStatus, Event
from apps.integrations_external.pipeline.scheduling import enqueue_on_commit
from apps.integrations_external.webhooks.models import (
    WebhookDelivery,
    WebhookEndpoint,
    new_webhook_secret,
)
from core.api.exceptions import InvalidTransition

logger = logging.getLogger(__name__)

# After a rotation the old secret keeps signing this long, so receivers can switch over.
PREVIOUS_SECRET_GRACE = timedelta(hours=24)
_HEALTH_RESET = {
    "disabled_at": None,
    "disabled_reason": "",
    "consecutive_failures": 0,
    "failing_since": None,
}


def display_url(url: str) -> str:
    """The URL without credentials, query or fragment: those often hold a token, and an email
    is no place for one."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(invalid URL)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def _email_notice(user, *, subject: str, text: str) -> None:
    """Email one person a notice through the email integration (its durable delivery path).
    Never lets a problem there undo what the caller did."""
    from apps.integrations_external.email.services import EmailService

    try:
        with transaction.atomic():
            EmailService(user).queue_notice(subject=subject, text=text)
    except Exception:
        logger.exception("could not queue the email notice %r to user %s", subject, user.pk)


def webhook_endpoint_create(*, owner: Any, **fields: Any) -> WebhookEndpoint:
    """Create an endpoint; a secret is generated unless one is given."""
    if not fields.get("secret"):
        fields["secret"] = new_webhook_secret()
    return WebhookEndpoint.objects.create(owner=owner, **fields)


def webhook_trigger_for_event(
    *, event_type: str, data: dict, project: Any = None, actor: Any = None
) -> Event:
    """Publish an event to every matching target (webhooks and the other channels)."""
    return publish(event_type, data, project=project, actor=actor)


def _copy_for_resend(delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        payload=delivery.payload,
        webhook_id=delivery.webhook_id,  # same message: the receiver's idempotency key
        redelivery_of=delivery,
        next_attempt_at=now,
    )


def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a finished delivery again as a new delivery row with the same webhook-id,
    enqueued after commit. Raises InvalidTransition while the original is still open."""
    if delivery.status in OPEN_STATUSES:
        raise InvalidTransition("This delivery is still being attempted; wait for it to finish.")
    with transaction.atomic():
        copy = _copy_for_resend(delivery, timezone.now())
        copy.save()
        enqueue_on_commit("webhook", [copy.pk])
    return copy


class WebhookService:
    """One endpoint's settings, secret, tests and recovery."""

    def __init__(self, endpoint: WebhookEndpoint) -> None:
        self.endpoint = endpoint

    # --- endpoints -----------------------------------------------------------------------
    def update(self, **fields: Any) -> WebhookEndpoint:
        """Change an endpoint. Turning it on clears its health record (a re-enable); turning it
        off records that its owner did so."""
        endpoint = self.endpoint
        was_active = endpoint.is_active
        for name, value in fields.items():
            setattr(endpoint, name, value)
        if "is_active" in fields and fields["is_active"] != was_active:
            if endpoint.is_active:
                for name, value in _HEALTH_RESET.items():
                    setattr(endpoint, name, value)
            else:
                endpoint.disabled_at = timezone.now()
                endpoint.disabled_reason = "Disabled by its owner."
        endpoint.save()
        return endpoint

    def enable(self) -> bool:
        """Re-enable: active again, with a clean health record. False if it was already on."""
        changed = WebhookEndpoint.objects.filter(pk=self.endpoint.pk, is_active=False).update(
            is_active=True, **_HEALTH_RESET
        )
        self.endpoint.refresh_from_db()
        return bool(changed)

    def disable(self, *, reason: str = "Disabled by its owner.") -> bool:
        """Switch off by hand (no alert: nobody needs to be told what they did themselves)."""
        changed = WebhookEndpoint.objects.filter(pk=self.endpoint.pk, is_active=True).update(
            is_active=False, disabled_at=timezone.now(), disabled_reason=reason
        )
        self.endpoint.refresh_from_db()
        return bool(changed)

    def rotate_secret(self, *, secret: str | None = None) -> str:
        """Replace the secret; the old one keeps signing (a second signature) for 24 hours.
        Returns the new secret: the only time it is shown after rotation."""
        endpoint = self.endpoint
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + PREVIOUS_SECRET_GRACE
        endpoint.secret = secret or new_webhook_secret()
        endpoint.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
        )
        logger.info("webhook endpoint %s: secret rotated", endpoint.pk)
        return endpoint.secret

    # --- sending -------------------------------------------------------------------------
    def queue_test(self, *, actor: Any = None) -> WebhookDelivery:
        """Queue a `webhook.test` event on the real delivery path, to this endpoint only (even
        a disabled one: a successful test re-enables it, see `after_test_success`)."""
        event = publish(
            "webhook.test",
            {
                "message": "This is a test event.",
                "endpoint": {"id": self.endpoint.pk, "name": self.endpoint.name},
            },
            actor=actor,
            targets={"webhook": [self.endpoint]},
        )
        return WebhookDelivery.objects.get(event=event, endpoint=self.endpoint)

    @staticmethod
    def after_test_success(endpoint_ids: list[int]) -> None:
        """A test that got through proves the receiver is back: re-enable the endpoint."""
        if endpoint_ids:
            WebhookEndpoint.objects.filter(pk__in=endpoint_ids, is_active=False).update(
                is_active=True, **_HEALTH_RESET
            )

    def recover(self, *, since: datetime) -> int:
        """Re-send every message that failed since `since` and has not been delivered since
        (one new delivery per webhook-id, the most recent failure). Returns how many."""
        endpoint_deliveries = WebhookDelivery.objects.filter(endpoint=self.endpoint)
        settled = set(
            endpoint_deliveries.filter(
                Q(status=DeliveryStatus.SUCCESS) | Q(status__in=OPEN_STATUSES)
            ).values_list("webhook_id", flat=True)
        )
        latest: dict[str, WebhookDelivery] = {}
        for delivery in endpoint_deliveries.filter(
            status=DeliveryStatus.FAILED, created_at__gte=since
        ).order_by("created_at", "pk"):
            if delivery.webhook_id not in settled:
                latest[delivery.webhook_id] = delivery
        if not latest:
            return 0
        now = timezone.now()
        copies = [_copy_for_resend(d, now) for d in latest.values()]
        with transaction.atomic():
            WebhookDelivery.objects.bulk_create(copies, batch_size=500)
            ids = [c.pk for c in copies]
            if None in ids:  # backends without RETURNING
                ids = list(
                    WebhookDelivery.objects.filter(
                        endpoint=self.endpoint,
                        redelivery_of__in=list(latest.values()),
                        status=DeliveryStatus.PENDING,
                    ).values_list("pk", flat=True)
                )
            enqueue_on_commit("webhook", ids)
        logger.info("webhook endpoint %s: recovering %d deliveries", self.endpoint.pk, len(copies))
        return len(copies)

    def trigger_workflow_completion(self, *, execution: Any) -> Event:
        """Queue a workflow execution's event to this endpoint only."""
        event_type = "workflow.completed" if execution.status == "completed" else "workflow.failed"
        return publish(
            event_type,
            catalog.workflow_execution_data(execution, None),
            project=execution.workflow.project,
            targets={"webhook": [self.endpoint]},
        )

    def trigger_command_execution(self, *, execution: Any) -> Event:
        """Queue a command execution's event to this endpoint only."""
        return publish(
            "command.executed",
            catalog.command_execution_data(execution),
            project=execution.command.project,
            targets={"webhook": [self.endpoint]},
        )

    # --- health: the webhook channel's hooks, called on the class (they move to
    # webhooks/channel.py with the channel's rewrite) ---------------------------------------
    @staticmethod
    def disable_endpoint(endpoint_id: int, reason: str) -> bool:
        """Switch a failing endpoint off and tell its owner alone (the endpoint's status and
        reason in the API, and an email). No system alert: those reach every user, and the
        endpoint's name and URL are its owner's text. Operators get a log line of ids."""
        now = timezone.now()
        with transaction.atomic():
            changed = WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True).update(
                is_active=False, disabled_at=now, disabled_reason=reason
            )
            if changed:
                endpoint = WebhookEndpoint.objects.select_related("owner").get(pk=endpoint_id)
                logger.warning(
                    "webhook endpoint %s (owner %s) disabled automatically",
                    endpoint_id,
                    endpoint.owner_id,
                )
                WebhookService.notify_owner_disabled(endpoint, reason)
        return bool(changed)

    @staticmethod
    def notify_owner_disabled(endpoint: WebhookEndpoint, reason: str) -> None:
        """Email the owner that their endpoint was disabled, and why."""
        shown_url = display_url(endpoint.url)
        _email_notice(
            endpoint.owner,
            subject=f"Webhook endpoint disabled: {endpoint.name or shown_url}",
            text=(
                f"Your webhook endpoint {endpoint.name or shown_url} ({shown_url}, id "
                f"{endpoint.pk}) was disabled.\n\n{reason}\n\n"
                "Fix the receiver, then re-enable it (PATCH is_active=true) or send a test event."
            ),
        )

    @staticmethod
    def check_auto_disable(endpoint_ids: list[int]) -> None:
        """Disable endpoints that kept failing: N exhausted deliveries in a row, or failing for
        days (anchors: GitLab, Svix)."""
        if not endpoint_ids:
            return
        limit = settings.WEBHOOK_AUTO_DISABLE_AFTER_FAILURES
        cutoff = timezone.now() - timedelta(days=settings.WEBHOOK_AUTO_DISABLE_AFTER_DAYS)
        for endpoint in WebhookEndpoint.objects.filter(pk__in=endpoint_ids, is_active=True):
            if endpoint.consecutive_failures >= limit:
                WebhookService.disable_endpoint(
                    endpoint.pk,
                    f"{endpoint.consecutive_failures} deliveries in a row failed "
                    "after all retries.",
                )
            elif endpoint.failing_since and endpoint.failing_since < cutoff:
                WebhookService.disable_endpoint(
                    endpoint.pk,
                    f"Every delivery has failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC.",
                )
