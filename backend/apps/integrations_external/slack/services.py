"""SlackService: the seed's Slack operations on top of the shared delivery pipeline.

The `send_*` methods build a Block Kit message (slack/messages.py) and post it with the Slack
client; they raise the named errors of http/errors.py. Notifications never call them directly
from a request: they are events, delivered by the engine, whose Slack transport
(slack/channel.py) calls `send_event()` for each delivery and turns errors into retries,
failures and health changes.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.integrations_external import catalog
from apps.integrations_external.access import activation_fields
from apps.integrations_external.http.errors import IntegrationError, PermanentError
from apps.integrations_external.http.verification import VerificationResult
from apps.integrations_external.slack import messages
from apps.integrations_external.slack.client import SlackClient, error_code
from apps.integrations_external.slack.models import SlackDelivery, SlackIntegration

logger = logging.getLogger(__name__)

TEST_EVENT_TYPE = "webhook.test"


def describe_problem(code: str, integration: SlackIntegration, detail: str = "") -> str:
    """A Slack error code in words the integration's owner can act on."""
    channel = f"#{integration.channel_name}" if integration.channel_name else integration.channel_id
    bot = f"@{integration.bot_user_name}" if integration.bot_user_name else "@<your bot>"
    if code in ("invalid_auth", "not_authed", "not_allowed_token_type"):
        return (
            "Invalid token: Slack does not accept this bot token "
            f"({code}). Copy the Bot User OAuth Token (xoxb-…) from your Slack app's "
            "OAuth & Permissions page and save it here."
        )
    if code in ("account_inactive", "token_revoked", "token_expired", "team_access_not_granted"):
        return (
            f"Invalid token: the token was revoked or the app/workspace is inactive ({code}). "
            "Reinstall the Slack app in the workspace and save its new bot token here."
        )
    if code in ("missing_scope", "no_permission", "ekm_access_denied"):
        return (
            f"The bot token lacks a permission ({detail or code}). Add the bot scopes chat:write, "
            "channels:read and groups:read, reinstall the app and save the new token."
        )
    if code == "channel_not_found":
        return (
            f"Channel not found: {integration.channel_id} does not exist or the bot cannot see it. "
            "Check the channel ID (channel details → About); for a private channel, invite the "
            f"bot first with /invite {bot}."
        )
    if code == "not_in_channel":
        return (
            f"Bot not in the channel: invite it to {channel} with /invite {bot}, then verify again."
        )
    if code == "is_archived":
        return f"Channel archived: {channel} is archived. Unarchive it or choose another channel."
    if code == "restricted_action":
        return (
            f"Slack refuses posting to {channel} (restricted_action): "
            "check the channel's posting permissions."
        )
    return f"Slack error: {code or detail or 'unknown'}."


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
        """Send one event (the delivery's payload: {id, type, timestamp, data}). Positional:
        the Slack channel's transport calls it so."""
        event_type, data, event_id = (
            envelope.get("type", ""),
            envelope.get("data") or {},
            envelope.get("id"),
        )
        category = catalog.category_of(event_type)
        if category == catalog.WORKFLOW:
            recovered = workflow_is_recovery(event_type=event_type, data=data)
            return self.send_workflow_notification(
                data=data, event_id=event_id, recovered=recovered
            )
        if category == catalog.COMMAND:
            return self.send_command_notification(data=data, event_id=event_id)
        if category == catalog.ALERT:
            return self.send_system_alert(data=data, event_id=event_id)
        if category == catalog.PROJECT:
            return self.send_project_update(event_type=event_type, data=data, event_id=event_id)
        if category == catalog.TEST:
            return self.send_test(data=data, event_id=event_id)
        return self._send(messages.generic_message(event_type, data, event_id=event_id))

    def queue_test_message(self, *, actor: Any = None) -> SlackDelivery:
        """Queue a test event on the real delivery path, addressed to this integration only
        (the engine sends it: nothing is posted by this call)."""
        from apps.integrations_external.pipeline.events import publish

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

    # --- what this integration wants (the Slack channel's hook, called on the class; it moves
    # to slack/channel.py with the channel's rewrite, as do the health and pacing hooks below)
    @classmethod
    def wants(cls, integration: SlackIntegration, event_type: str, data: dict) -> bool:
        """The per-integration filter on top of the routing rule: `notify_only_failures`."""
        if not integration.notify_only_failures:
            return True
        category = catalog.category_of(event_type)
        if category == catalog.WORKFLOW:
            status = (data.get("execution") or {}).get("status")
            return (
                event_type == "workflow.failed"
                or status == "failed"
                or workflow_is_recovery(event_type=event_type, data=data)
            )
        if category == catalog.COMMAND:
            return messages.command_failed(data)
        return True  # alerts, project updates and tests have switches of their own

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

    # --- health ----------------------------------------------------------------------------
    @staticmethod
    def mark_unhealthy(integration_id: int, reason: str) -> None:
        now = timezone.now()
        changed = SlackIntegration.objects.filter(pk=integration_id, is_healthy=True).update(
            is_healthy=False, health_reason=reason, health_changed_at=now
        )
        if not changed:
            SlackIntegration.objects.filter(pk=integration_id).update(health_reason=reason)
        else:
            logger.warning("slack integration %s marked unhealthy: %s", integration_id, reason)

    @staticmethod
    def mark_delivered(integration_ids: list[int]) -> None:
        """A message went through: the integration works (whatever it said before)."""
        if not integration_ids:
            return
        now = timezone.now()
        SlackIntegration.objects.filter(pk__in=integration_ids).update(last_message_at=now)
        restored = SlackIntegration.objects.filter(pk__in=integration_ids, is_healthy=False).update(
            is_healthy=True, health_reason="", health_changed_at=now
        )
        if restored:
            logger.info("slack integrations %s healthy again", integration_ids)

    # --- pacing ----------------------------------------------------------------------------
    @staticmethod
    def reserve_send_slot(integration_id: int, interval: float | None = None) -> float:
        """Take this channel's next send slot if it is free (0.0), else the seconds to wait.

        One conditional UPDATE: of any number of workers, one wins each slot.
        """
        interval = settings.SLACK_MIN_SEND_INTERVAL_SECONDS if interval is None else interval
        if interval <= 0:
            return 0.0
        now = timezone.now()
        won = (
            SlackIntegration.objects.filter(pk=integration_id)
            .filter(Q(next_send_at__isnull=True) | Q(next_send_at__lte=now))
            .update(next_send_at=now + timedelta(seconds=interval))
        )
        if won:
            return 0.0
        next_at = (
            SlackIntegration.objects.filter(pk=integration_id)
            .values_list("next_send_at", flat=True)
            .first()
        )
        if next_at is None:
            return 0.0
        return max((next_at - now).total_seconds(), 0.05)

    @staticmethod
    def hold_channel(integration_id: int, seconds: float) -> None:
        """Slack said slow down: nobody sends to this channel for `seconds`."""
        until = timezone.now() + timedelta(seconds=max(seconds, 0))
        SlackIntegration.objects.filter(pk=integration_id).filter(
            Q(next_send_at__isnull=True) | Q(next_send_at__lt=until)
        ).update(next_send_at=until)
