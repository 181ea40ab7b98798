"""SlackService: the seed's Slack operations on top of the shared delivery pipeline.

The `send_*` methods build a Block Kit message (slack/messages.py) and post it with the Slack
client; they raise the named errors of http/errors.py. Notifications never call them directly
from a request: they are events, delivered by the engine, whose Slack transport
(slack/channel.py) posts each delivery with `post_event()` and turns errors into retries,
failures and health changes. Health and pacing live in channel.py too.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from apps.integrations_external.http.errors import IntegrationError
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.slack import messages
from apps.integrations_external.slack.channel import describe_problem, post_event, post_message
from apps.integrations_external.slack.client import SlackClient, error_code
from apps.integrations_external.slack.models import SlackDelivery, SlackIntegration
from apps.integrations_external.slack.oauth import slack_install_complete, token_refresh_if_due

logger = logging.getLogger(__name__)

TEST_EVENT_TYPE = "webhook.test"


@dataclass
class Verification:
    ok: bool
    detail: str
    problem: str = ""  # Slack's error code (or not_in_channel / is_archived / unreachable)
    checked_at: datetime = field(default_factory=timezone.now)
    team: str = ""
    team_id: str = ""
    bot_user_id: str = ""
    bot_user_name: str = ""
    channel: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checked_at"] = self.checked_at.isoformat().replace("+00:00", "Z")
        return data


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
    def send_message(self, text: str, blocks: list[dict] | None = None) -> dict[str, Any]:
        """Post to the integration's channel; returns Slack's answer ({"ok", "ts", …})."""
        message = messages.SlackMessage(text=text, blocks=blocks or [])
        return post_message(self.client, self.integration.channel_id, message)

    def _send(self, message: messages.SlackMessage) -> dict[str, Any]:
        return self.send_message(message.text, message.blocks)

    def send_workflow_notification(
        self, data: dict, *, event_id: str | None = None, recovered: bool = False
    ) -> dict[str, Any]:
        return self._send(messages.workflow_message(data, event_id=event_id, recovered=recovered))

    def send_command_notification(
        self, data: dict, *, event_id: str | None = None
    ) -> dict[str, Any]:
        return self._send(messages.command_message(data, event_id=event_id))

    def send_system_alert(self, data: dict, *, event_id: str | None = None) -> dict[str, Any]:
        return self._send(messages.alert_message(data, event_id=event_id))

    def send_project_update(
        self, event_type: str, data: dict, *, event_id: str | None = None
    ) -> dict[str, Any]:
        return self._send(messages.project_message(event_type, data, event_id=event_id))

    def send_test(self, data: dict, *, event_id: str | None = None) -> dict[str, Any]:
        return self._send(messages.test_message(str(self.integration), data, event_id=event_id))

    def send_event(self, envelope: dict) -> dict[str, Any]:
        """Send one event (the delivery's payload: {id, type, timestamp, data})."""
        return post_event(self.integration, envelope, client=self.client)

    def send_test_message(self, actor=None) -> SlackDelivery:
        """A test event through the real delivery path, addressed to this integration only."""
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
    def verify_connection(self) -> Verification:
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
            update.update(
                team_id=result.team_id,
                bot_user_id=result.bot_user_id,
                bot_user_name=result.bot_user_name,
                workspace_name=integration.workspace_name or result.team,
                channel_name=result.channel.get("name") or integration.channel_name,
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

    def _check(self) -> Verification:
        integration = self.integration
        try:
            auth = self.client.auth_test()
        except IntegrationError as exc:
            return self._failed(exc)
        result = Verification(
            ok=False,
            detail="",
            team=auth.get("team") or "",
            team_id=auth.get("team_id") or "",
            bot_user_id=auth.get("user_id") or "",
            bot_user_name=auth.get("user") or "",
        )
        # The words below name the bot the owner must invite.
        integration.bot_user_name = result.bot_user_name or integration.bot_user_name
        try:
            info = self.client.conversation_info(integration.channel_id)
        except IntegrationError as exc:
            failed = self._failed(exc)
            failed.team, failed.team_id = result.team, result.team_id
            failed.bot_user_id, failed.bot_user_name = result.bot_user_id, result.bot_user_name
            return failed
        channel = info.get("channel") or {}
        result.channel = {
            "id": channel.get("id") or integration.channel_id,
            "name": channel.get("name") or "",
            "is_private": bool(channel.get("is_private")),
            "is_archived": bool(channel.get("is_archived")),
            "is_member": bool(channel.get("is_member")),
        }
        integration.channel_name = result.channel["name"] or integration.channel_name
        if result.channel["is_archived"]:
            result.problem = "is_archived"
        elif not result.channel["is_member"]:
            result.problem = "not_in_channel"
        if result.problem:
            result.detail = describe_problem(result.problem, integration)
            return result
        result.ok = True
        result.detail = (
            f"Connected to {result.team or 'the workspace'} as @{result.bot_user_name or 'bot'}; "
            f"it can post to #{result.channel['name'] or integration.channel_id}."
        )
        return result

    def _failed(self, exc: IntegrationError) -> Verification:
        code = error_code(exc)
        if code == "ratelimited":
            return Verification(
                False, "Slack is rate-limiting us; try again in a minute.", problem=code
            )
        if exc.retryable:
            return Verification(
                False,
                f"Could not reach Slack ({exc}); the settings may be fine: try again.",
                problem="unreachable",
            )
        needed = getattr(exc, "needed", "") or ""
        return Verification(False, describe_problem(code, self.integration, needed), problem=code)

    # --- settings --------------------------------------------------------------------------
    @staticmethod
    def settings_changed(
        integration: SlackIntegration, token_before: str, channel_before: str
    ) -> None:
        """A new token or channel makes the old verification and health verdict moot: the
        owner fixed something, so the integration gets another chance (verify to be sure)."""
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


def slack_oauth_install(
    *, user: AbstractBaseUser, state: str, code: str, error: str = ""
) -> SlackIntegration:
    """Finish an Add to Slack install (slack/oauth.py), then verify the integration as a pasted
    token would be. Raises oauth.InstallRefused with a sentence for the person."""
    integration = slack_install_complete(user=user, state=state, code=code, error=error)
    SlackService(integration).verify_connection()
    integration.refresh_from_db()
    return integration
