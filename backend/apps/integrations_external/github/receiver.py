"""GitHub's incoming webhooks: signature first, then one handler per event type."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.integrations_external.github.mirror import (
    Unusable,
    issue_fields,
    pull_request_fields,
    upsert_pull_requests,
    upsert_workflow_runs,
    workflow_run_fields,
)
from apps.integrations_external.github.models import (
    GitHubIntegration,
    GitHubIssueLink,
    GitHubPullRequest,
    GitHubWebhookDelivery,
)
from apps.integrations_external.github.selectors import github_integration_acts_for_project

logger = logging.getLogger(__name__)


def signature_is_valid(secret: str, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256` check over the raw body, in constant time."""
    if not secret or not header:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode("utf-8", "replace"))


MAX_DELIVERY_ID_LENGTH = 100


def handle_webhook(
    integration: GitHubIntegration, event: str, delivery_id: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """Apply one verified delivery. Returns {"handled": bool, ...}; a repeated delivery id
    is ignored. The delivery row commits with the changes it caused. Raises Unusable (nothing
    applied) when a field we read is not what GitHub sends."""
    if event == "ping":
        return {"handled": True, "event": "ping", "zen": str(payload.get("zen", ""))[:200]}
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
            GitHubWebhookDelivery.objects.create(
                integration=integration,
                delivery_id=delivery_id,
                event=event[:50],
                action=_action(payload),
            )
            result = handler(integration, payload)
    except IntegrityError:
        return {"handled": True, "event": event, "duplicate": True}
    return {"handled": True, "event": event, "duplicate": False, **result}


def _action(payload: dict[str, Any]) -> str:
    action = payload.get("action")
    return action[:50] if isinstance(action, str) else ""


def _on_pull_request(integration: GitHubIntegration, payload: dict[str, Any]) -> dict[str, Any]:
    number, _ = pull_request_fields(payload.get("pull_request"))
    counts = upsert_pull_requests(integration, [payload["pull_request"]], announce_new_merges=True)
    row = GitHubPullRequest.objects.get(integration=integration, number=number)
    return {"pull_request": row.number, "state": row.state, **counts}


def _on_issues(integration: GitHubIntegration, payload: dict[str, Any]) -> dict[str, Any]:
    number, fields = issue_fields(payload.get("issue"))
    updated = GitHubIssueLink.objects.filter(integration=integration, issue_number=number).update(
        **fields, updated_at=timezone.now()
    )
    return {"issue": number, "links_updated": updated}


def _on_workflow_run(integration: GitHubIntegration, payload: dict[str, Any]) -> dict[str, Any]:
    run_id, _ = workflow_run_fields(payload.get("workflow_run"))
    return {"workflow_run": run_id, **upsert_workflow_runs(integration, [payload["workflow_run"]])}


def _refuse(
    integration: GitHubIntegration, delivery_id: str, event: str, action: str, reason: str
) -> tuple[int, dict[str, Any]]:
    """A signed delivery we cannot use: recorded with its reason (once per delivery id), 400."""
    logger.warning(
        "github %s: delivery %s (%s) refused: %s", integration.pk, delivery_id, event, reason
    )
    try:
        with transaction.atomic():
            GitHubWebhookDelivery.objects.create(
                integration=integration,
                delivery_id=delivery_id,
                event=event[:50],
                action=action,
                error=reason[:300],
            )
    except IntegrityError:
        pass  # the same delivery again: recorded already
    return 400, {"detail": reason}


def verify_and_handle_webhook(
    integration: GitHubIntegration, *, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any] | None]:
    """The receiver's whole job: (HTTP status, answer). The signature is checked over the raw
    body before anything is parsed; a bad or missing one stores nothing. A signed delivery
    without an `X-GitHub-Delivery` id is refused (it could be replayed at will); one whose
    owner may no longer act on the project is refused; one we cannot use is recorded and
    answered 400, never 500."""
    if not signature_is_valid(integration.webhook_secret, body, headers.get("x-hub-signature-256")):
        return 401, {"detail": "Missing or invalid X-Hub-Signature-256."}
    return apply_signed_delivery(integration, body=body, headers=headers)


def delivery_id_of(headers: dict[str, str]) -> str | None:
    """The `X-GitHub-Delivery` id, or None when missing or too long to be GitHub's."""
    delivery_id = headers.get("x-github-delivery", "").strip()
    if not delivery_id or len(delivery_id) > MAX_DELIVERY_ID_LENGTH:
        return None
    return delivery_id


def apply_signed_delivery(
    integration: GitHubIntegration, *, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any] | None]:
    """Everything after the signature (the repository's webhook or the GitHub App's, github/
    app_webhook.py): the delivery id, the owner's access, the body, the event's handler."""
    delivery_id = delivery_id_of(headers)
    if delivery_id is None:
        return 400, {"detail": "X-GitHub-Delivery is required (an id of at most 100 characters)."}
    if not github_integration_acts_for_project(integration):
        return 403, {
            "detail": "This integration's owner no longer has access to its project; "
            "deliveries are not applied."
        }
    event = headers.get("x-github-event", "")
    try:
        payload = json.loads(body)
    except RecursionError:
        return _refuse(integration, delivery_id, event, "", "The JSON body is nested too deeply.")
    except (ValueError, UnicodeDecodeError):
        return _refuse(
            integration,
            delivery_id,
            event,
            "",
            "The body is not JSON (set the webhook's content type to json).",
        )
    if not isinstance(payload, dict):
        return _refuse(integration, delivery_id, event, "", "The body must be a JSON object.")
    try:
        result = handle_webhook(integration, event, delivery_id, payload)
    except Unusable as exc:
        return _refuse(integration, delivery_id, event, _action(payload), f"Unusable: {exc}.")
    if not result["handled"]:
        return 204, None
    return 200, result
