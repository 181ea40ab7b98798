"""The GitHub App's one webhook: every installation's deliveries, signed with the app's secret.

The signature (GITHUB_APP_WEBHOOK_SECRET) is checked over the raw body first. `installation`
(deleted, suspend) and `installation_repositories` (removed) turn the affected integrations off
with the reason their owners see. Every other event is routed by installation id and
repository to the app-installed integrations of that repository, and each gets exactly what
its repository webhook would do (receiver.apply_signed_delivery: dedupe by X-GitHub-Delivery,
the pull-request mirror, story links, workflow runs).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from apps.integrations_external.github.app import (
    app_integrations_for,
    app_integrations_turn_off,
)
from apps.integrations_external.github.receiver import (
    apply_signed_delivery,
    delivery_id_of,
    signature_is_valid,
)

INSTALLATION_GONE = {
    "deleted": "The GitHub App was uninstalled from {account} on GitHub: install it again "
    "to reconnect.",
    "suspend": "The GitHub App's installation on {account} was suspended on GitHub: "
    "unsuspend it, then turn this integration on again.",
}
REPOSITORY_REMOVED = (
    "This repository was removed from the GitHub App's installation on {account}: add it "
    "back on GitHub, then turn this integration on again."
)


def _installation_id(payload: dict[str, Any]) -> int | None:
    installation = payload.get("installation")
    value = installation.get("id") if isinstance(installation, dict) else None
    return value if type(value) is int and 0 < value < 2**63 else None


def _account(payload: dict[str, Any]) -> str:
    installation = payload.get("installation")
    account = installation.get("account") if isinstance(installation, dict) else None
    login = account.get("login") if isinstance(account, dict) else None
    return login[:100] if isinstance(login, str) and login else "its account"


def _full_names(items: Any) -> list[str]:
    if not isinstance(items, list):
        return []
    return [
        i["full_name"] for i in items if isinstance(i, dict) and isinstance(i.get("full_name"), str)
    ]


def _verified_payload(
    body: bytes, headers: dict[str, str]
) -> tuple[dict[str, Any] | None, tuple[int, dict[str, Any]] | None]:
    """The delivery's JSON object once its signature and id check out, or the refusal."""
    secret = settings.GITHUB_APP_WEBHOOK_SECRET
    if not secret:
        return None, (404, {"detail": "No GitHub App webhook is set up on this site."})
    if not signature_is_valid(secret, body, headers.get("x-hub-signature-256")):
        return None, (401, {"detail": "Missing or invalid X-Hub-Signature-256."})
    if delivery_id_of(headers) is None:
        detail = "X-GitHub-Delivery is required (an id of at most 100 characters)."
        return None, (400, {"detail": detail})
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, (400, {"detail": "The body is not usable JSON."})
    if not isinstance(payload, dict):
        return None, (400, {"detail": "The body must be a JSON object."})
    return payload, None


def _installation_event(
    event: str, payload: dict[str, Any], installation_id: int
) -> tuple[int, dict[str, Any]]:
    """`installation` and `installation_repositories`: what goes away turns integrations off."""
    action = payload.get("action")
    account = _account(payload)
    count = 0
    if event == "installation" and action in INSTALLATION_GONE:
        reason = INSTALLATION_GONE[action].format(account=account)
        count = app_integrations_turn_off(installation_id=installation_id, reason=reason)
    elif event == "installation_repositories" and action == "removed":
        removed = _full_names(payload.get("repositories_removed"))
        if removed:
            count = app_integrations_turn_off(
                installation_id=installation_id,
                reason=REPOSITORY_REMOVED.format(account=account),
                repositories=removed,
            )
    return (200 if count else 202), {"event": event, "action": action, "turned_off": count}


def handle_app_webhook(*, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """(HTTP status, answer) for one delivery to the app's webhook; never a 500."""
    payload, refusal = _verified_payload(body, headers)
    if refusal is not None or payload is None:
        return refusal or (400, {"detail": "The body must be a JSON object."})
    event = headers.get("x-github-event", "")
    installation_id = _installation_id(payload)
    if installation_id is None:
        return 202, {"detail": "No installation in this delivery: nothing to do.", "event": event}
    if event in ("installation", "installation_repositories"):
        return _installation_event(event, payload, installation_id)
    repository = payload.get("repository")
    full_name = repository.get("full_name") if isinstance(repository, dict) else None
    if not isinstance(full_name, str) or full_name.count("/") != 1:
        return 202, {"detail": "No repository in this delivery: nothing to do.", "event": event}
    results = []
    for integration in app_integrations_for(installation_id=installation_id, full_name=full_name):
        code, answer = apply_signed_delivery(integration, body=body, headers=headers)
        results.append({"integration": integration.pk, "status": code, "result": answer})
    return 200, {"event": event, "integrations": results}


__all__ = ["handle_app_webhook"]
