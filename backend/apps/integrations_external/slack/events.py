"""Slack's signed events for the app (Events API): the one endpoint Slack calls.

Verified with the signing secret by slack_sdk's SignatureVerifier (HMAC of the body and its
timestamp, refused when the timestamp is more than five minutes off). `app_uninstalled` turns
off every integration of the workspace, `tokens_revoked` those of the revoked bot, each with a
reason its owner sees; both are safe to receive twice. Slack's URL check (`url_verification`)
is answered with its challenge.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_sdk.signature import SignatureVerifier

from apps.integrations_external.slack.oauth import slack_integrations_turn_off

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024


def _reason(what: str, team: str) -> str:
    day = timezone.now().strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Turned off: {what} in the Slack workspace {team} ({day}). "
        "Connect it again with Add to Slack."
    )


def _object(value: Any) -> dict[str, Any]:
    """A JSON object of Slack's payload; anything else counts as an empty one."""
    return value if isinstance(value, dict) else {}


@csrf_exempt
@require_POST
def slack_events(request: HttpRequest) -> JsonResponse:
    if not settings.SLACK_SIGNING_SECRET:
        return JsonResponse({"detail": "Slack events are not configured here."}, status=404)
    body = request.body
    if len(body) > MAX_BODY:
        return JsonResponse({"detail": "Body too large."}, status=413)
    verifier = SignatureVerifier(settings.SLACK_SIGNING_SECRET)
    if not verifier.is_valid(
        body,
        request.headers.get("X-Slack-Request-Timestamp"),
        request.headers.get("X-Slack-Signature"),
    ):
        return JsonResponse({"detail": "Invalid or stale Slack signature."}, status=401)
    try:
        payload = json.loads(body)
    except ValueError:
        return JsonResponse({"detail": "The body is not JSON."}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"detail": "The body is not a JSON object."}, status=400)
    if payload.get("type") == "url_verification":
        return JsonResponse({"challenge": str(payload.get("challenge", ""))})
    event = _object(payload.get("event"))
    team_id = str(payload.get("team_id") or "")
    kind = event.get("type")
    if kind == "app_uninstalled":
        slack_integrations_turn_off(
            team_id=team_id, reason=_reason("the app was uninstalled", team_id)
        )
    elif kind == "tokens_revoked":
        tokens = _object(event.get("tokens"))
        bots = [str(bot) for bot in tokens.get("bot") or []]
        if bots:
            slack_integrations_turn_off(
                team_id=team_id,
                reason=_reason("the app's bot token was revoked", team_id),
                bot_user_ids=bots,
            )
    else:
        logger.info("slack event %s ignored", kind)
    return JsonResponse({"ok": True})
