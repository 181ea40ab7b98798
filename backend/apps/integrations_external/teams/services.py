"""TeamsService: the operations on one Teams integration, and the rules they follow."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from apps.integrations_external.access import activation_fields
from apps.integrations_external.http.errors import IntegrationError, PermanentError
from apps.integrations_external.http.verification import VerificationResult
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.teams import messages
from apps.integrations_external.teams.channel import describe_problem, post_event
from apps.integrations_external.teams.client import TeamsClient
from apps.integrations_external.teams.models import TeamsDelivery, TeamsIntegration

TEST_EVENT_TYPE = "webhook.test"


class TeamsService:
    def __init__(self, integration: TeamsIntegration) -> None:
        self.integration = integration

    def client(self) -> TeamsClient:
        return TeamsClient(self.integration.webhook_url)

    def send_event(self, *, envelope: dict[str, Any]) -> None:
        """Post the card for one event now."""
        post_event(self.integration, envelope)

    def verify(self) -> VerificationResult:
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
            result = VerificationResult(
                True, f"Teams accepted a test card for {integration.channel_name}."
            )
        except PermanentError as exc:
            result = VerificationResult(False, describe_problem(exc), problem="refused")
        except IntegrationError as exc:
            result = VerificationResult(
                False,
                f"Teams could not be reached right now: {exc}. Try again.",
                problem="unreachable",
            )
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
        elif result.problem == "refused":
            update.update(is_healthy=False, health_reason=result.detail)
            if integration.is_healthy:
                update["health_changed_at"] = result.checked_at
        TeamsIntegration.objects.filter(pk=integration.pk).update(**update)
        integration.refresh_from_db()
        return result

    def queue_test_card(self, *, actor: User | None) -> TeamsDelivery:
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

    def update(self, **fields: Any) -> TeamsIntegration:
        """Change the integration's settings (the API's and the page's one path). Turning it on
        or off by hand is recorded; a new URL is a new workflow, so health and verification
        start over."""
        integration = self.integration
        url_before = integration.webhook_url
        fields.update(activation_fields(integration, fields))
        for name, value in fields.items():
            setattr(integration, name, value)
        if integration.webhook_url != url_before:
            integration.is_healthy = True
            integration.health_reason = ""
            integration.last_verified_at = None
            integration.last_verification_ok = None
            integration.last_verification_detail = ""
        integration.save()
        return integration
