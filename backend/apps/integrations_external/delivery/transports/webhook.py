"""The webhook transport: a signed HTTP request per delivery (Standard Webhooks)."""

from __future__ import annotations

import json
import time

import httpx
from django.utils import timezone

from apps.integrations_external.clients.base import USER_AGENT, build_http_client
from apps.integrations_external.delivery import signing
from apps.integrations_external.delivery.backoff import parse_retry_after
from apps.integrations_external.delivery.channels import SendResult
from apps.integrations_external.models import WebhookDelivery

# Our headers win over an endpoint's custom headers.
RESERVED_HEADERS = {
    "content-type",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "host",
    "content-length",
}


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
    headers = {
        k: str(v) for k, v in (endpoint.headers or {}).items() if k.lower() not in RESERVED_HEADERS
    }
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


class WebhookTransport:
    def __init__(self, client: httpx.Client | None = None):
        self.client = client or build_http_client(max_connections=200)

    def send(self, delivery: WebhookDelivery) -> SendResult:
        endpoint = delivery.endpoint
        body = encode_body(delivery.payload)
        headers = build_request_headers(delivery, body, int(time.time()))
        shown_headers = {k: v for k, v in headers.items() if k != "webhook-signature"}
        started = time.perf_counter()
        try:
            response = self.client.request(
                endpoint.method,
                endpoint.url,
                content=body,
                headers=headers,
                timeout=httpx.Timeout(endpoint.timeout_seconds, connect=min(5, endpoint.timeout_seconds)),
            )
        except httpx.TimeoutException as exc:
            return SendResult(
                SendResult.RETRY,
                error=f"timed out after {endpoint.timeout_seconds}s ({type(exc).__name__})",
                request_headers=shown_headers,
            )
        except httpx.HTTPError as exc:
            return SendResult(
                SendResult.RETRY, error=f"connection error: {exc}", request_headers=shown_headers
            )
        elapsed = int((time.perf_counter() - started) * 1000)
        status = response.status_code
        text = response.text[:8192]
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
            error += " (redirects are not followed)"
        return SendResult(SendResult.RETRY, error=error, retry_after=retry_after, **common)
