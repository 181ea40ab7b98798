"""The webhook transport: a signed HTTP request per delivery (Standard Webhooks)."""

from __future__ import annotations

import json
import time

import httpx
from django.utils import timezone

from apps.integrations_external.clients.base import (
    USER_AGENT,
    TargetRefused,
    TemporaryError,
    build_http_client,
)
from apps.integrations_external.delivery import signing, ssrf
from apps.integrations_external.delivery.backoff import parse_retry_after
from apps.integrations_external.delivery.channels import SendResult
from apps.integrations_external.models import WebhookDelivery

# Our headers win over an endpoint's custom headers: these (and every `webhook-*`) are ours.
RESERVED_HEADERS = frozenset({"content-type", "user-agent", "host", "content-length"})
RESERVED_PREFIXES = ("webhook-",)
RESPONSE_BODY_LIMIT = 8 * 1024


def is_reserved_header(name: str) -> bool:
    lowered = name.strip().lower()
    return lowered in RESERVED_HEADERS or lowered.startswith(RESERVED_PREFIXES)


def encode_body(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def active_secrets(endpoint) -> list[str]:
    secrets = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > timezone.now()
    ):
        secrets.append(endpoint.previous_secret)
    return secrets


def build_request_headers(delivery: WebhookDelivery, body: bytes, timestamp: int) -> dict[str, str]:
    endpoint = delivery.endpoint
    headers = {k: str(v) for k, v in (endpoint.headers or {}).items() if not is_reserved_header(k)}
    headers.update(
        {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": delivery.webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.signature_header(
                active_secrets(endpoint), delivery.webhook_id, timestamp, body
            ),
        }
    )
    return headers


def _read_limited(response: httpx.Response, limit: int, deadline: float) -> str:
    """The first `limit` bytes of the body. A body read to its end leaves the connection in the
    keep-alive pool; a longer one (or one that outlives the deadline) closes it."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit or time.monotonic() > deadline:
            break
    return b"".join(chunks)[:limit].decode(response.encoding or "utf-8", errors="replace")


class WebhookTransport:
    """One pooled keep-alive client per process; never follows redirects; never sleeps."""

    def __init__(self, client: httpx.Client | None = None):
        self.client = client or build_http_client(max_connections=200)

    def send(self, delivery: WebhookDelivery) -> SendResult:
        endpoint = delivery.endpoint
        body = encode_body(delivery.payload)
        headers = build_request_headers(delivery, body, int(time.time()))
        shown_headers = {k: v for k, v in headers.items() if k != "webhook-signature"}
        try:
            target = ssrf.pin(endpoint.url)
        except TargetRefused as exc:
            return SendResult(SendResult.FAILED, error=str(exc), request_headers=shown_headers)
        except TemporaryError as exc:
            return SendResult(SendResult.RETRY, error=str(exc), request_headers=shown_headers)
        extensions = {}
        if target.host_header:
            headers["Host"] = target.host_header
        if target.sni_hostname:
            extensions["sni_hostname"] = target.sni_hostname
        timeout = endpoint.timeout_seconds
        started = time.perf_counter()
        try:
            request = self.client.build_request(
                endpoint.method,
                target.url,
                content=body,
                headers=headers,
                timeout=httpx.Timeout(timeout, connect=min(5, timeout)),
                extensions=extensions,
            )
            response = self.client.send(request, stream=True)
            try:
                text = _read_limited(response, RESPONSE_BODY_LIMIT, time.monotonic() + timeout)
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            return SendResult(
                SendResult.RETRY,
                error=f"timed out after {timeout}s ({type(exc).__name__})",
                request_headers=shown_headers,
            )
        except httpx.HTTPError as exc:
            return SendResult(
                SendResult.RETRY,
                error=f"connection error: {type(exc).__name__}: {exc}",
                request_headers=shown_headers,
            )
        elapsed = int((time.perf_counter() - started) * 1000)
        status = response.status_code
        common = {
            "response_status": status,
            "response_body": text,
            "duration_ms": elapsed,
            "request_headers": shown_headers,
        }
        if 200 <= status < 300:
            return SendResult(SendResult.SUCCESS, **common)
        if status == 410:
            return SendResult(
                SendResult.FAILED,
                error="410 Gone: the receiver asked us to stop",
                target_problem="The endpoint answered 410 Gone.",
                **common,
            )
        retry_after = None
        if status in (429, 503):
            retry_after = parse_retry_after(response.headers.get("retry-after"))
        error = f"HTTP {status}"
        if 300 <= status < 400:
            location = response.headers.get("location", "")
            error += f" (redirects are not followed{': ' + location[:200] if location else ''})"
        return SendResult(SendResult.RETRY, error=error, retry_after=retry_after, **common)
