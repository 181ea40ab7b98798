"""The few named exceptions every outgoing client turns its library's errors into, so the engine
and the API treat Slack, GitHub, SMTP and webhook failures alike."""

from __future__ import annotations


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


class Busy(TemporaryError):
    """Another change to the same remote object is in progress: try again shortly (the API
    answers 409)."""


class PermanentError(IntegrationError):
    """The request itself will never succeed as is (bad input, 4xx)."""

    retryable = False


class AuthError(PermanentError):
    """Credentials are wrong or revoked: the integration needs its owner's attention."""


class NotFound(PermanentError):
    """The remote object (repository, channel…) does not exist or is not visible to us."""


class TargetRefused(PermanentError):
    """The target refuses us for good (SSRF guard, 410 Gone)."""


__all__ = [
    "AuthError",
    "Busy",
    "IntegrationError",
    "NotFound",
    "PermanentError",
    "RateLimited",
    "TargetRefused",
    "TemporaryError",
]
