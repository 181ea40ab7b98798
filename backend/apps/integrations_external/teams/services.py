"""TeamsService: the operations on one Teams integration, and the rules they follow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from apps.integrations_external.http.errors import IntegrationError, PermanentError
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.teams import messages
from apps.integrations_external.teams.channel import describe_problem, post_event
from apps.integrations_external.teams.client import TeamsClient
from apps.integrations_external.teams.models import TeamsDelivery, TeamsIntegration

TEST_EVENT_TYPE = "webhook.test"


@dataclass
class Verification:
    ok: bool
    detail: str
    checked_at: datetime = field(default_factory=timezone.now)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail, "checked_at": self.checked_at}


class TeamsService:
    def __init__(self, integration: TeamsIntegration) -> None:
        self.integration = integration

    def client(self) -> TeamsClient:
        return TeamsClient(self.integration.webhook_url)

    def send_event(self, *, envelope: dict[str, Any]) -> None:
        """Post the card for one event now."""
        post_event(self.integration, envelope)

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
