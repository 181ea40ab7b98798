"""Add to Slack (OAuth v2) and what follows an install: token rotation, uninstall events.

The flow, on slack_sdk's OAuth helpers:
1. The project's owner clicks Add to Slack: `authorize_url` issues a `state` bound to them and
   to the project (DatabaseStateStore: single-use, 10 minutes, only its hash stored) and sends
   them to Slack's authorize page (AuthorizeUrlGenerator) asking for SCOPES.
2. Slack sends them back to the callback with `code` and `state`; `slack_install_complete`
   claims the state (refused when missing, unknown, used, expired or started by someone else),
   exchanges the code with oauth.v2.access, stores the bot token (encrypted), the workspace,
   the bot user and the channel they picked, then the caller verifies the integration as a pasted
   token would be.
With Slack's token rotation the bot token expires after 12 hours: `token_refresh_if_due` gets
the next one shortly before, once, however many workers run (a row lock serialises them and
the second finds the work done). Slack's signed events (events.py) turn integrations off when
the app is uninstalled or its tokens are revoked.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.oauth.state_store import OAuthStateStore

from apps.integrations_external.http.errors import IntegrationError
from apps.integrations_external.slack.client import SlackClient
from apps.integrations_external.slack.models import SlackIntegration, SlackOAuthState
from apps.projects.models import Project
from apps.projects.selectors import user_can_manage_project

logger = logging.getLogger(__name__)

# What the app asks for, and why:
#   chat:write          post the notifications;
#   chat:write.public   post in a public channel the bot was not invited to;
#   channels:read       verification reads the channel (conversations.info), public ones;
#   groups:read         the same for private channels;
#   incoming-webhook    Slack shows a channel picker during the install and tells us the
#                       channel chosen (we post with the bot token, not the webhook URL).
SCOPES = ["chat:write", "chat:write.public", "channels:read", "groups:read", "incoming-webhook"]
STATE_TTL = timedelta(minutes=10)
# Refresh a rotating token this long before it expires (a send takes seconds; workers may be
# busy for a while).
REFRESH_MARGIN = timedelta(minutes=15)


def oauth_configured() -> bool:
    return bool(settings.SLACK_CLIENT_ID and settings.SLACK_CLIENT_SECRET)


def callback_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("integrations:slack-oauth-callback")


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


class InstallRefused(Exception):
    """The callback cannot complete; the message says why, for the person who clicked."""


@dataclass(frozen=True)
class Claim:
    project: Project | None
    problem: str = ""


class DatabaseStateStore(OAuthStateStore):
    """slack_sdk's state store interface, on our database, with the binding the interface
    leaves to us: a state belongs to the user who started the install and to one project."""

    @property
    def logger(self) -> logging.Logger:
        return logger

    def issue(self, *args: Any, **kwargs: Any) -> str:
        user: User = kwargs["user"]
        project: Project = kwargs["project"]
        state = secrets.token_urlsafe(32)
        SlackOAuthState.objects.create(state_hash=_hash(state), user=user, project=project)
        return state

    def consume(self, state: str) -> bool:
        """The interface's check without a user: only for callers that have none."""
        return self.claim(state=state, user=None).problem == ""

    def claim(self, *, state: str, user: User | None) -> Claim:
        if not state:
            return Claim(None, "The link from Slack has no state: start again from the project.")
        now = timezone.now()
        fresh = SlackOAuthState.objects.filter(
            state_hash=_hash(state), consumed_at__isnull=True, created_at__gte=now - STATE_TTL
        )
        if user is not None:
            fresh = fresh.filter(user=user)
        # One conditional UPDATE: of two callbacks racing with one state, one wins.
        row = fresh.first()
        if row is not None and fresh.filter(pk=row.pk).update(consumed_at=now) == 1:
            return Claim(row.project)
        known = SlackOAuthState.objects.filter(state_hash=_hash(state)).first()
        if known is None:
            return Claim(
                None, "This install link is not one we issued: start again from the project."
            )
        if user is not None and known.user_id != user.pk:
            return Claim(None, "This install was started by someone else: start your own.")
        if known.consumed_at is not None:
            return Claim(None, "This install link was already used: start again from the project.")
        return Claim(None, "This install link expired (10 minutes): start again from the project.")


def authorize_url(*, user: User, project: Project) -> str:
    state = DatabaseStateStore().issue(user=user, project=project)
    generator = AuthorizeUrlGenerator(
        client_id=settings.SLACK_CLIENT_ID,
        scopes=SCOPES,
        redirect_uri=callback_url(),
        authorization_url=settings.SLACK_OAUTH_BASE_URL,
    )
    return generator.generate(state)


def _expiry(answer: dict[str, Any]) -> Any:
    seconds = answer.get("expires_in")
    return timezone.now() + timedelta(seconds=int(seconds)) if seconds else None


@transaction.atomic
def _store_install(*, user: User, project: Project, answer: dict[str, Any]) -> SlackIntegration:
    team = answer.get("team") or {}
    webhook = answer.get("incoming_webhook") or {}
    channel_id = webhook.get("channel_id") or ""
    if not answer.get("access_token") or not channel_id:
        raise InstallRefused(
            "Slack did not return a bot token and a channel: try the install again."
        )
    fields = {
        "owner": user,
        "workspace_name": team.get("name") or "",
        "team_id": team.get("id") or "",
        "channel_name": (webhook.get("channel") or "").lstrip("#"),
        "bot_token": answer["access_token"],
        "bot_user_id": answer.get("bot_user_id") or "",
        "app_id": answer.get("app_id") or "",
        "refresh_token": answer.get("refresh_token") or "",
        "token_expires_at": _expiry(answer),
        "installed_with_oauth": True,
        "is_active": True,
        "is_healthy": True,
        "health_reason": "",
        "disabled_at": None,
        "disabled_reason": "",
    }
    # Installing again into the same channel reconnects the integration instead of doubling it.
    integration, _created = SlackIntegration.objects.update_or_create(
        project=project, team_id=fields["team_id"], channel_id=channel_id, defaults=fields
    )
    return integration


def slack_install_complete(
    *, user: User, state: str, code: str, error: str = ""
) -> SlackIntegration:
    """The callback's work; raises InstallRefused with a sentence for the person."""
    claim = DatabaseStateStore().claim(state=state, user=user)
    if claim.problem:
        raise InstallRefused(claim.problem)
    project = claim.project
    assert project is not None
    if error:
        raise InstallRefused(f"Slack was not connected: the install was cancelled ({error}).")
    if not user_can_manage_project(user, project):
        raise InstallRefused("Only the project's owner can connect Slack to it.")
    if not code:
        raise InstallRefused("Slack sent no authorization code: try the install again.")
    try:
        answer = SlackClient("").oauth_access(code=code, redirect_uri=callback_url())
    except IntegrationError as exc:
        raise InstallRefused(f"Slack refused the install: {exc}.") from exc
    return _store_install(user=user, project=project, answer=answer)


def token_refresh_if_due(*, integration: SlackIntegration) -> None:
    """Swap a rotating bot token for the next one shortly before it expires. Workers that get
    here together queue on the row lock; the ones after the first find it fresh and only
    reload it."""
    expires = integration.token_expires_at
    if (
        not integration.refresh_token
        or expires is None
        or expires > timezone.now() + REFRESH_MARGIN
    ):
        return
    with transaction.atomic():
        row = SlackIntegration.objects.select_for_update().get(pk=integration.pk)
        if row.token_expires_at and row.token_expires_at > timezone.now() + REFRESH_MARGIN:
            pass  # another worker refreshed it while this one waited
        else:
            answer = SlackClient("").oauth_access(
                grant_type="refresh_token", refresh_token=row.refresh_token
            )
            row.bot_token = answer["access_token"]
            row.refresh_token = answer.get("refresh_token") or row.refresh_token
            row.token_expires_at = _expiry(answer)
            row.save(update_fields=["bot_token", "refresh_token", "token_expires_at", "updated_at"])
            logger.info("slack integration %s: bot token rotated", row.pk)
    integration.bot_token = row.bot_token
    integration.refresh_token = row.refresh_token
    integration.token_expires_at = row.token_expires_at


def slack_integrations_turn_off(
    *, team_id: str, reason: str, bot_user_ids: list[str] | None = None
) -> int:
    """Slack says the app is gone from a workspace (or its bot's tokens are): every
    integration it fed stops, with the reason its owner sees."""
    if not team_id:
        return 0
    now = timezone.now()
    targets = SlackIntegration.objects.filter(team_id=team_id, is_active=True)
    if bot_user_ids is not None:
        targets = targets.filter(bot_user_id__in=bot_user_ids)
    count = targets.update(is_active=False, disabled_at=now, disabled_reason=reason, updated_at=now)
    if count:
        logger.info("slack team %s: %s integration(s) turned off: %s", team_id, count, reason)
    return count
