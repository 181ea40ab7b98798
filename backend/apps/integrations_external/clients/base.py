"""The shared base of every outgoing client: timeouts always set, no redirects, and errors
turned into a few named exceptions the delivery engine understands."""

from __future__ import annotations

import httpx

USER_AGENT = "IntegrationsHub/1.0 (+workflow platform webhooks)"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class IntegrationError(Exception):
    """Base of the named errors; `retryable` tells the engine whether to try again."""

    retryable = True

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class TemporaryError(IntegrationError):
    """Network trouble, a timeout, 5xx, 429: worth trying again later."""


class RateLimited(TemporaryError):
    """The service asked us to slow down; `retry_after` says for how long."""


class PermanentError(IntegrationError):
    """The request itself will never succeed as is (bad input, 4xx)."""

    retryable = False


class AuthError(PermanentError):
    """Credentials are wrong or revoked: the integration needs its owner's attention."""


class NotFound(PermanentError):
    """The remote object (repository, channel…) does not exist or is not visible to us."""


class TargetRefused(PermanentError):
    """The target refuses us for good (SSRF guard, 410 Gone)."""


def build_http_client(
    *, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT, max_connections: int = 100, **kwargs
) -> httpx.Client:
    """One pooled, keep-alive client per worker process and service."""
    headers = {"User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
    return httpx.Client(
        timeout=timeout,
        follow_redirects=False,
        headers=headers,
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        **kwargs,
    )


__all__ = [
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "AuthError",
    "IntegrationError",
    "NotFound",
    "PermanentError",
    "RateLimited",
    "TargetRefused",
    "TemporaryError",
    "build_http_client",
]
