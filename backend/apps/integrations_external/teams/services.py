"""TeamsService: the operations on one Teams integration, and the rules they follow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from apps.integrations_external import catalog
from apps.integrations_external.http.errors import (
    AuthError,
    IntegrationError,
    NotFound,
    PermanentError,
    TargetRefused,
)
from apps.integrations_external.teams import messages
from apps.integrations_external.teams.client import TeamsClient
from apps.integrations_external.teams.models import TeamsDelivery, TeamsIntegration

TEST_EVENT_TYPE = "webhook.test"
WORKFLOW_HELP = (
    "In Teams, open the channel's Workflows, choose 'Post to a channel when a webhook request "
    "is received', and paste the URL it gives here."
)


def describe_problem(exc: IntegrationError) -> str:
    """A permanent refusal in words the integration's owner can act on."""
    if isinstance(exc, TargetRefused):
        return f"{exc} Use the URL Teams gives, on its public address."
    if isinstance(exc, AuthError):
        return (
            f"Teams refused the webhook URL ({exc.status}): its signature is no longer valid. "
            "Copy the URL again from the workflow in Teams and save it here."
        )
    if isinstance(exc, NotFound):
        return (
            f"The workflow is gone ({exc.status}): it was deleted or turned off in Teams. "
            + WORKFLOW_HELP
        )
    return (
        f"Teams refused the message ({exc.status or 'no status'}): the workflow may no longer "
        "post the card it receives. Check its 'Post card in a chat or channel' step, then "
        "verify again."
    )


@dataclass
class Verification:
    ok: bool
    detail: str
    checked_at: datetime = field(default_factory=timezone.now)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail, "checked_at": self.checked_at}


def is_recovery(event_type: str, data: dict[str, Any]) -> bool:
    """A workflow that failed last time completed: "back to normal"."""
    return event_type == "workflow.completed" and data.get("previous_status") == "failed"


def teams_wants(*, integration: TeamsIntegration, event_type: str, data: dict[str, Any]) -> bool:
    """The integration's own filter on top of the routing rule (failures only, back to
    normal)."""
    if not integration.notify_only_failures:
        return True
    category = catalog.category_of(event_type)
    if category == catalog.WORKFLOW:
        status = (data.get("execution") or {}).get("status")
        if event_type == "workflow.failed" or status == "failed":
            return True
        return integration.notify_back_to_normal and is_recovery(event_type, data)
    if category == catalog.COMMAND:
        return messages.command_failed(data)
    return True  # alerts and project updates have switches of their own


def teams_mark_unhealthy(*, integration_id: int, reason: str) -> None:
    now = timezone.now()
    TeamsIntegration.objects.filter(pk=integration_id, is_healthy=True).update(
        is_healthy=False, health_reason=reason, health_changed_at=now, updated_at=now
    )
    TeamsIntegration.objects.filter(pk=integration_id).exclude(health_reason=reason).update(
        health_reason=reason
    )


def teams_mark_delivered(*, integration_ids: list[int]) -> None:
    if integration_ids:
        TeamsIntegration.objects.filter(pk__in=integration_ids).update(
            last_message_at=timezone.now()
        )


class TeamsService:
    def __init__(self, integration: TeamsIntegration) -> None:
        self.integration = integration

    def client(self) -> TeamsClient:
        return TeamsClient(self.integration.webhook_url)

    def send_event(self, *, envelope: dict[str, Any]) -> None:
        """Post the card for one event now (the transport calls this for each delivery)."""
        message = messages.build_message(envelope.get("type", ""), envelope.get("data") or {})
        self.client().post(message)

    def verify(self) -> Verification:
        """Post a test card now; the outcome is stored on the integration. Success makes an
        unhealthy integration healthy again; a permanent refusal marks it unhealthy."""
        integration = self.integration
        try:
            self.client().post(
                messages.build_message(
                    TEST_EVENT_TYPE,
                    {"message": f"Verification for {integration.channel_name}."},
                )
            )
            result = Verification(
                True, f"Teams accepted a test card for {integration.channel_name}."
            )
        except PermanentError as exc:
            result = Verification(False, describe_problem(exc))
        except IntegrationError as exc:
            result = Verification(False, f"Teams could not be reached right now: {exc}. Try again.")
        update: dict[str, Any] = {
            "last_verified_at": result.checked_at,
            "last_verification_ok": result.ok,
            "last_verification_detail": result.detail,
            "updated_at": result.checked_at,
        }
        if result.ok:
            update.update(is_healthy=True, health_reason="", last_message_at=result.checked_at)
            if not integration.is_healthy:
                update["health_changed_at"] = result.checked_at
        elif result.detail and not result.detail.startswith("Teams could not be reached"):
            update.update(is_healthy=False, health_reason=result.detail)
            if integration.is_healthy:
                update["health_changed_at"] = result.checked_at
        TeamsIntegration.objects.filter(pk=integration.pk).update(**update)
        integration.refresh_from_db()
        return result

    def queue_test_card(self, *, actor: AbstractBaseUser | None) -> TeamsDelivery:
        """A test event through the real delivery path, addressed to this integration only."""
        from apps.integrations_external.pipeline.events import publish

        event = publish(
            TEST_EVENT_TYPE,
            {
                "message": "This is a test message.",
                "integration": {"kind": "teams", "id": self.integration.pk},
            },
            actor=actor,
            targets={"teams": [self.integration]},
        )
        return TeamsDelivery.objects.get(event=event, integration=self.integration)

    def url_changed(self) -> None:
        """A new URL is a new workflow: health and verification start over."""
        integration = self.integration
        integration.is_healthy = True
        integration.health_reason = ""
        integration.last_verified_at = None
        integration.last_verification_ok = None
        integration.last_verification_detail = ""
        integration.save(
            update_fields=[
                "is_healthy",
                "health_reason",
                "last_verified_at",
                "last_verification_ok",
                "last_verification_detail",
                "updated_at",
            ]
        )
