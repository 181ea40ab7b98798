"""The one client for Teams: posts a message to a Workflows webhook URL.

The URL is a secret (its `sig=` parameter lets anyone post), so it never appears in an error,
a log line or an exception message. Every connection goes through the SSRF guard
(http/guarded.py), and a whole post, connect to last byte, is bounded by TEAMS_TIMEOUT_SECONDS,
so a receiver that drips bytes cannot hold a worker. Answers become the named errors of
http/errors.py.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from django.conf import settings

from apps.integrations_external.http.defaults import USER_AGENT
from apps.integrations_external.http.errors import (
    AuthError,
    IntegrationError,
    NotFound,
    PermanentError,
    RateLimited,
    TemporaryError,
)
from apps.integrations_external.http.guarded import GuardedTransport
from apps.integrations_external.http.retry_after import parse_retry_after
from apps.integrations_external.teams.messages import encode

BODY_KEPT = 2000  # characters of an error answer kept for the delivery log


class TeamsClient:
    def __init__(self, webhook_url: str, *, timeout: float | None = None) -> None:
        self._url = webhook_url
        self.timeout = settings.TEAMS_TIMEOUT_SECONDS if timeout is None else timeout

    def post(self, message: dict[str, Any]) -> httpx.Response:
        """Post one message; returns Teams' answer (2xx) or raises a named error."""
        deadline = time.monotonic() + self.timeout
        transport = GuardedTransport(deadline=deadline, ca_bundle=settings.TEAMS_CA_BUNDLE)
        try:
            with httpx.Client(
                transport=transport,
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            ) as client:
                response = client.post(
                    self._url,
                    content=encode(message),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
        except IntegrationError:
            raise  # the SSRF guard's refusal, or the deadline
        except httpx.TimeoutException as exc:
            raise TemporaryError(f"Teams did not answer within {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            # httpx messages may quote the URL; name the failure's kind only.
            raise TemporaryError(f"could not reach Teams ({type(exc).__name__})") from exc
        self._raise_for(response)
        return response

    @staticmethod
    def _raise_for(response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        body = response.text[:BODY_KEPT]
        message = f"Teams answered {status}" + (f": {body}" if body else "")
        if status == 429:
            raise RateLimited(
                message,
                status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 500 or status == 408:
            raise TemporaryError(message, status=status)
        if status in (401, 403):
            raise AuthError(message, status=status)
        if status in (404, 410):
            raise NotFound(message, status=status)
        if 300 <= status < 400:
            raise PermanentError(
                f"Teams answered {status} (a redirect, not followed)", status=status
            )
        raise PermanentError(message, status=status)
