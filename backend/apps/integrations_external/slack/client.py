"""The Slack Web API client: the official `slack_sdk` WebClient on the shared client rules.

- Base URL from `settings.SLACK_API_BASE_URL` (read when the client is built, so tests and
  local demos point it at a fake Slack).
- A timeout is always set.
- The SDK's own retry handlers are switched off (`retry_handlers=[]`): no sleeping on a 429, no
  hidden second retry loop. The delivery engine is the only place that retries.
- `SlackApiError` and network errors become the named exceptions of `http.errors`, each
  carrying Slack's error code (`.code`) so callers can word the problem for a person.
"""

from __future__ import annotations

import http.client
import logging
from typing import Any

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from apps.integrations_external.http.errors import (
    AuthError,
    IntegrationError,
    NotFound,
    PermanentError,
    RateLimited,
    TargetRefused,
    TemporaryError,
)
from apps.integrations_external.http.retry_after import parse_retry_after

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10

# Slack error codes that mean the token (or the workspace behind it) is unusable.
AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "no_permission",
        "team_access_not_granted",
        "ekm_access_denied",
        "not_allowed_token_type",
    }
)
NOT_FOUND_ERRORS = frozenset({"channel_not_found"})
# The channel exists but refuses the bot.
REFUSED_ERRORS = frozenset(
    {"not_in_channel", "is_archived", "restricted_action", "cannot_reply_to_message"}
)
# Slack's own trouble: try again later.
TEMPORARY_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) else value
    return None


def map_slack_error(exc: SlackApiError) -> IntegrationError:
    """Turn a SlackApiError into one of the named exceptions (with `.code` set)."""
    response = exc.response
    status = getattr(response, "status_code", None)
    data = getattr(response, "data", None)
    code = data.get("error", "") if isinstance(data, dict) else ""
    if status == 429 or code == "ratelimited":
        retry_after = parse_retry_after(_header(getattr(response, "headers", None), "Retry-After"))
        error: IntegrationError = RateLimited(
            f"Slack rate limit (429), retry after {'?' if retry_after is None else retry_after} s",
            status=status,
            retry_after=retry_after,
        )
        code = code or "ratelimited"
    elif status is not None and status >= 500:
        error = TemporaryError(f"Slack answered HTTP {status}", status=status)
    elif code in AUTH_ERRORS:
        needed = data.get("needed") if isinstance(data, dict) else None
        suffix = f" (needs scope {needed})" if needed else ""
        error = AuthError(f"Slack error: {code}{suffix}", status=status)
    elif code in NOT_FOUND_ERRORS:
        error = NotFound(f"Slack error: {code}", status=status)
    elif code in REFUSED_ERRORS:
        error = TargetRefused(f"Slack error: {code}", status=status)
    elif code in TEMPORARY_ERRORS:
        error = TemporaryError(f"Slack error: {code}", status=status)
    else:
        # invalid_blocks, msg_too_long, invalid_arguments…: this message will never go through.
        error = PermanentError(f"Slack error: {code or 'unknown'} (HTTP {status})", status=status)
    error.code = code  # type: ignore[attr-defined]
    error.needed = (data.get("needed") or "") if isinstance(data, dict) else ""  # type: ignore[attr-defined]
    return error


class SlackClient:
    """A thin wrapper over `slack_sdk.WebClient` for the three calls the integration makes."""

    def __init__(self, token: str, *, base_url: str | None = None, timeout: int | None = None):
        self.web = WebClient(
            token=token,
            base_url=base_url or settings.SLACK_API_BASE_URL,
            timeout=timeout
            or int(getattr(settings, "SLACK_API_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)),
            retry_handlers=[],  # the delivery engine retries; the SDK must not (nor sleep)
        )

    def _call(self, method: str, **kwargs: Any) -> dict:
        try:
            response = getattr(self.web, method)(**kwargs)
        except SlackApiError as exc:
            raise map_slack_error(exc) from None
        except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
            error = TemporaryError(f"network error talking to Slack: {type(exc).__name__}: {exc}")
            error.code = "network_error"  # type: ignore[attr-defined]
            raise error from None
        except SlackClientError as exc:  # e.g. an invalid base URL: configuration, not Slack
            refused = PermanentError(f"Slack client error: {exc}")
            refused.code = "client_error"  # type: ignore[attr-defined]
            raise refused from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    def auth_test(self) -> dict:
        return self._call("auth_test")

    def conversation_info(self, channel: str) -> dict:
        return self._call("conversations_info", channel=channel)

    def oauth_access(self, **params: str) -> dict:
        """oauth.v2.access with the app's credentials: a code for tokens (`code`,
        `redirect_uri`), or the next rotated token (`grant_type="refresh_token"`)."""
        return self._call(
            "oauth_v2_access",
            client_id=settings.SLACK_CLIENT_ID,
            client_secret=settings.SLACK_CLIENT_SECRET,
            **params,
        )

    def post_message(self, channel: str, *, text: str, blocks: list[dict] | None = None) -> dict:
        kwargs: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False}
        if blocks:
            kwargs["blocks"] = blocks
        return self._call("chat_postMessage", **kwargs)


def error_code(exc: BaseException) -> str:
    return getattr(exc, "code", "") or ""
