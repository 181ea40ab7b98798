"""SlackService: the seed's Slack operations on top of the shared delivery pipeline.

The `send_*` methods build a Block Kit message (slack/messages.py) and post it with the Slack
client; they raise the named errors of http/errors.py. Notifications never call them directly
from a request: they are events, delivered by the engine, whose Slack transport
(slack/channel.py) calls `send_event()` for each delivery and turns errors into retries,
failures and health changes.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from apps.integrations_external.access import activation_fields
from apps.integrations_external.http.errors import IntegrationError, PermanentError
from apps.integrations_external.http.verification import VerificationResult
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.slack import messages
from apps.integrations_external.slack.channel import describe_problem, post_event
from apps.integrations_external.slack.client import SlackClient, error_code
from apps.integrations_external.slack.models import SlackDelivery, SlackIntegration
from apps.integrations_external.slack.oauth import slack_install_complete, token_refresh_if_due

logger = logging.getLogger(__name__)

TEST_EVENT_TYPE = "webhook.test"


def _facts(
    team: str = "",
    team_id: str = "",
    bot_user_id: str = "",
    bot_user_name: str = "",
    channel: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What a Slack verification learned (every key always there, empty when not known)."""
    return {
        "team": team,
        "team_id": team_id,
        "bot_user_id": bot_user_id,
        "bot_user_name": bot_user_name,
        "channel": channel or {},
    }


def workflow_is_recovery(*, event_type: str, data: dict) -> bool:
    """A workflow that failed last time completed: "back to normal"."""
    return event_type == "workflow.completed" and data.get("previous_status") == "failed"


class SlackService:
    def __init__(self, integration: SlackIntegration, client: SlackClient | None = None):
        self.integration = integration
        self._client = client

    @property
    def client(self) -> SlackClient:
        if self._client is None:
            token_refresh_if_due(integration=self.integration)  # installs with token rotation
            self._client = SlackClient(self.integration.bot_token)
        return self._client

    # --- sending ---------------------------------------------------------------------------
    def send_message(self, *, text: str, blocks: list[dict] | None = None) -> dict[str, Any]:
        """Post to the integration's channel; returns Slack's answer ({"ok", "ts", …})."""
        problems = messages.limit_problems(messages.SlackMessage(text=text, blocks=blocks or []))
        if problems:  # a builder bug, not Slack's: don't send what Slack would reject
            raise PermanentError("message breaks Slack's limits: " + "; ".join(problems))
        return self.client.post_message(self.integration.channel_id, text=text, blocks=blocks)

    def _send(self, message: messages.SlackMessage) -> dict[str, Any]:
        return self.send_message(text=message.text, blocks=message.blocks)

    def send_workflow_notification(
        self, *, data: dict, event_id: str | None = None, recovered: bool = False
    ) -> dict[str, Any]:
        return self._send(messages.workflow_message(data, event_id=event_id, recovered=recovered))

    def send_command_notification(
        self, *, data: dict, event_id: str | None = None
    ) -> dict[str, Any]:
        return self._send(messages.command_message(data, event_id=event_id))

    def send_system_alert(self, *, data: dict, event_id: str | None = None) -> dict[str, Any]:
        return self._send(messages.alert_message(data, event_id=event_id))

    def send_project_update(
        self, *, event_type: str, data: dict, event_id: str | None = None
    ) -> dict[str, Any]:
        return self._send(messages.project_message(event_type, data, event_id=event_id))

    def send_test(self, *, data: dict, event_id: str | None = None) -> dict[str, Any]:
        return self._send(messages.test_message(str(self.integration), data, event_id=event_id))

    def send_event(self, envelope: dict) -> dict[str, Any]:
        """Send one event (the delivery's payload: {id, type, timestamp, data}) now."""
        return post_event(self.integration, envelope, client=self.client)

    def queue_test_message(self, *, actor: Any = None) -> SlackDelivery:
        """Queue a test event on the real delivery path, addressed to this integration only
        (the engine sends it: nothing is posted by this call)."""
        event = publish(
            TEST_EVENT_TYPE,
            {
                "message": "This is a test message.",
                "integration": {"kind": "slack", "id": self.integration.pk},
            },
            actor=actor,
            targets={"slack": [self.integration]},
        )
        return SlackDelivery.objects.get(event=event, integration=self.integration)

    # --- verification ----------------------------------------------------------------------
    def verify_connection(self) -> VerificationResult:
        """auth.test, then conversations.info for the channel; the result is stored on the
        integration (and a confirmed problem marks it unhealthy, a success restores it)."""
        integration = self.integration
        result = self._check()
        now = result.checked_at
        update: dict[str, Any] = {
            "last_verified_at": now,
            "last_verification_ok": result.ok,
            "last_verification_detail": result.detail,
        }
        if result.ok:
            facts = result.facts
            update.update(
                team_id=facts["team_id"],
                bot_user_id=facts["bot_user_id"],
                bot_user_name=facts["bot_user_name"],
                workspace_name=integration.workspace_name or facts["team"],
                channel_name=facts["channel"].get("name") or integration.channel_name,
                is_healthy=True,
                health_reason="",
            )
            if not integration.is_healthy:
                update["health_changed_at"] = now
        elif result.problem not in ("unreachable", "ratelimited"):
            # A confirmed problem: the integration cannot post until its owner fixes it.
            update.update(is_healthy=False, health_reason=result.detail)
            if integration.is_healthy:
                update["health_changed_at"] = now
        SlackIntegration.objects.filter(pk=integration.pk).update(**update)
        for name, value in update.items():
            setattr(integration, name, value)
        logger.info(
            "slack integration %s verified: ok=%s problem=%s",
            integration.pk,
            result.ok,
            result.problem or "-",
        )
        return result

    def _check(self) -> VerificationResult:
        integration = self.integration
        try:
            auth = self.client.auth_test()
        except IntegrationError as exc:
            return self._failed(exc)
        facts = _facts(
            team=auth.get("team") or "",
            team_id=auth.get("team_id") or "",
            bot_user_id=auth.get("user_id") or "",
            bot_user_name=auth.get("user") or "",
        )
        # The words below name the bot the owner must invite.
        integration.bot_user_name = facts["bot_user_name"] or integration.bot_user_name
        try:
            info = self.client.conversation_info(integration.channel_id)
        except IntegrationError as exc:
            failed = self._failed(exc)
            failed.facts.update({k: v for k, v in facts.items() if k != "channel"})
            return failed
        channel = info.get("channel") or {}
        facts["channel"] = {
            "id": channel.get("id") or integration.channel_id,
            "name": channel.get("name") or "",
            "is_private": bool(channel.get("is_private")),
            "is_archived": bool(channel.get("is_archived")),
            "is_member": bool(channel.get("is_member")),
        }
        integration.channel_name = facts["channel"]["name"] or integration.channel_name
        problem = ""
        if facts["channel"]["is_archived"]:
            problem = "is_archived"
        elif not facts["channel"]["is_member"]:
            problem = "not_in_channel"
        if problem:
            detail = describe_problem(problem, integration)
            return VerificationResult(False, detail, problem=problem, facts=facts)
        detail = (
            f"Connected to {facts['team'] or 'the workspace'} as "
            f"@{facts['bot_user_name'] or 'bot'}; it can post to "
            f"#{facts['channel']['name'] or integration.channel_id}."
        )
        return VerificationResult(True, detail, facts=facts)

    def _failed(self, exc: IntegrationError) -> VerificationResult:
        code = error_code(exc)
        if code == "ratelimited":
            detail = "Slack is rate-limiting us; try again in a minute."
            return VerificationResult(False, detail, problem=code, facts=_facts())
        if exc.retryable:
            detail = f"Could not reach Slack ({exc}); the settings may be fine: try again."
            return VerificationResult(False, detail, problem="unreachable", facts=_facts())
        needed = getattr(exc, "needed", "") or ""
        detail = describe_problem(code, self.integration, needed)
        return VerificationResult(False, detail, problem=code, facts=_facts())

    # --- settings --------------------------------------------------------------------------
    def update(self, **fields: Any) -> SlackIntegration:
        """Change the integration's settings; see `settings_changed` for what a new token or
        channel resets. Turning it on or off by hand is recorded."""
        integration = self.integration
        token_before, channel_before = integration.bot_token, integration.channel_id
        fields.update(activation_fields(integration, fields))
        for name, value in fields.items():
            setattr(integration, name, value)
        integration.save()
        self.settings_changed(token_before=token_before, channel_before=channel_before)
        return integration

    def settings_changed(self, *, token_before: str, channel_before: str) -> None:
        """A new token or channel makes the old verification and health verdict moot: the
        owner fixed something, so the integration gets another chance (verify to be sure)."""
        integration = self.integration
        if integration.bot_token == token_before and integration.channel_id == channel_before:
            return
        update: dict[str, Any] = {
            "last_verification_ok": None,
            "last_verification_detail": "",
            "last_verified_at": None,
        }
        if not integration.is_healthy:
            update.update(is_healthy=True, health_reason="", health_changed_at=timezone.now())
        if integration.channel_id != channel_before:
            update["next_send_at"] = None
        SlackIntegration.objects.filter(pk=integration.pk).update(**update)
        for name, value in update.items():
            setattr(integration, name, value)


def slack_oauth_install(*, user: User, state: str, code: str, error: str = "") -> SlackIntegration:
    """Finish an Add to Slack install (slack/oauth.py), then verify the integration as a pasted
    token would be. Raises oauth.InstallRefused with a sentence for the person."""
    integration = slack_install_complete(user=user, state=state, code=code, error=error)
    SlackService(integration).verify_connection()
    integration.refresh_from_db()
    return integration
