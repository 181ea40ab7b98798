"""GitHub's incoming webhooks: signature first, then one handler per event type."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.integrations_external.models.github import (
    GitHubIntegration,
    GitHubIssueLink,
    GitHubPullRequest,
    GitHubWebhookDelivery,
)
from apps.integrations_external.services.github_mirror import (
    upsert_pull_requests,
    upsert_workflow_runs,
)


def signature_is_valid(secret: str, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256` check over the raw body, in constant time."""
    if not secret or not header:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode("utf-8", "replace"))


def handle_webhook(
    integration: GitHubIntegration, event: str, delivery_id: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """Apply one verified delivery. Returns {"handled": bool, ...}; a repeated delivery id
    is ignored. The delivery row commits with the changes it caused."""
    if event == "ping":
        return {"handled": True, "event": "ping", "zen": payload.get("zen", "")}
    handlers = {
        "pull_request": _on_pull_request,
        "issues": _on_issues,
        "workflow_run": _on_workflow_run,
    }
    handler = handlers.get(event)
    if handler is None or (event == "workflow_run" and not integration.sync_workflows):
        return {"handled": False, "event": event}
    try:
        with transaction.atomic():
            if delivery_id:
                GitHubWebhookDelivery.objects.create(
                    integration=integration,
                    delivery_id=delivery_id[:100],
                    event=event,
                    action=str(payload.get("action") or "")[:50],
                )
            result = handler(integration, payload)
    except IntegrityError:
        return {"handled": True, "event": event, "duplicate": True}
    return {"handled": True, "event": event, "duplicate": False, **result}


def _on_pull_request(integration: GitHubIntegration, payload: dict[str, Any]) -> dict[str, Any]:
    pr = payload.get("pull_request") or {}
    if "number" not in pr:
        return {"pull_request": None}
    counts = upsert_pull_requests(integration, [pr], announce_new_merges=True)
    row = GitHubPullRequest.objects.get(integration=integration, number=pr["number"])
    return {"pull_request": row.number, "state": row.state, **counts}


def _on_issues(integration: GitHubIntegration, payload: dict[str, Any]) -> dict[str, Any]:
    issue = payload.get("issue") or {}
    number = issue.get("number")
    updated = GitHubIssueLink.objects.filter(integration=integration, issue_number=number).update(
        issue_state=(issue.get("state") or "")[:20],
        issue_title=(issue.get("title") or "")[:300],
        issue_url=issue.get("html_url") or "",
        updated_at=timezone.now(),
    )
    return {"issue": number, "links_updated": updated}


def _on_workflow_run(integration: GitHubIntegration, payload: dict[str, Any]) -> dict[str, Any]:
    run = payload.get("workflow_run") or {}
    return {"workflow_run": run.get("id"), **upsert_workflow_runs(integration, [run])}


def verify_and_handle_webhook(
    integration: GitHubIntegration, *, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any] | None]:
    """The receiver's whole job: (HTTP status, answer). The signature is checked over the raw
    body before anything is parsed; a bad or missing one stores nothing."""
    if not signature_is_valid(integration.webhook_secret, body, headers.get("x-hub-signature-256")):
        return 401, {"detail": "Missing or invalid X-Hub-Signature-256."}
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return 400, {"detail": "The body is not JSON (set the webhook's content type to json)."}
    if not isinstance(payload, dict):
        return 400, {"detail": "The body must be a JSON object."}
    event = headers.get("x-github-event", "")
    result = handle_webhook(integration, event, headers.get("x-github-delivery", ""), payload)
    if not result["handled"]:
        return 204, None
    return 200, result
