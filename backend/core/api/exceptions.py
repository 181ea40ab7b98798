"""API errors: domain exceptions become clear 4xx answers instead of 500s.

Every mapping from an exception to an HTTP status is here, once: views and actions let the
named errors of the services and clients rise (no try/except per action).
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from apps.integrations_external.http.errors import (
    Busy,
    IntegrationError,
    RateLimited,
    TemporaryError,
)


class Conflict(exceptions.APIException):
    """The request is well formed but the object's state forbids it (e.g. finishing twice)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This action conflicts with the object's current state."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request cannot be served as made."
    default_code = "bad_request"


class InvalidTransition(Exception):
    """A state machine was asked for a move it does not allow."""


class Refused(Exception):
    """A rule refuses the request as made and the caller can fix it (e.g. no email address):
    400 with the message as `detail`."""


def integration_error_status(exc: IntegrationError) -> int:
    """What a remote service's refusal means to our caller: 429 (its rate limit), 409 (another
    change in progress), 502 (it failed or could not be reached), 400 (it refuses the request
    as configured: credentials, repository, permissions)."""
    if isinstance(exc, RateLimited):
        return status.HTTP_429_TOO_MANY_REQUESTS
    if isinstance(exc, Busy):
        return status.HTTP_409_CONFLICT
    if isinstance(exc, TemporaryError):
        return status.HTTP_502_BAD_GATEWAY
    return status.HTTP_400_BAD_REQUEST


def _integration_error_response(exc: IntegrationError) -> Response:
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    # `github_status`: the remote service's own HTTP status (the name predates the other
    # integrations letting their errors reach the API; kept for existing clients).
    body = {"detail": str(exc), "github_status": exc.status}
    return Response(body, status=integration_error_status(exc), headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, IntegrationError):
        set_rollback()  # as DRF does for the errors it handles
        return _integration_error_response(exc)
    if isinstance(exc, Refused):
        exc = BadRequest(str(exc))
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, InvalidTransition):
        exc = Conflict(str(exc))
    elif isinstance(exc, RequestDataTooBig):
        # Django would answer with an HTML 400 page; API clients get JSON like every other error.
        exc = PayloadTooLarge(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    return drf_exception_handler(exc, context)
