"""The OpenAPI schema's shape (DEFAULT_SCHEMA_CLASS): one tag per resource group, and every
error status an operation can answer, with its body.

drf-spectacular documents the success answer of each operation; the errors come from layers it
does not see (authentication, permissions, the exception handler of core/api/exceptions.py,
throttles, the parsers' size limit). The rules below say which apply where, from what the view
declares: its authentication, its throttled actions (`throttle_scopes`), the actions whose
state may forbid them (`conflict_actions`: 409) and those that call a remote service now
(`remote_actions`: its refusals are 400/409/429/502).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from core.api.openapi import ERROR_COMPONENTS, TAGS

__all__ = ["ERROR_COMPONENTS", "TAGS", "AutoSchema"]

# The first path segments under /api/v1/ of each tag (longest first where they share a start).
_SEGMENT_TAGS = {
    "projects": "projects",
    "user-stories": "stories",
    "workflows": "workflows",
    "workflow-executions": "workflows",
    "commands": "commands",
    "command-executions": "commands",
    "system-alerts": "alerts",
    "webhooks": "webhooks",
    "webhook-deliveries": "webhooks",
    "events": "events",
    "slack": "slack",
    "teams": "teams",
    "github": "github",
    "email": "email",
}

_ERROR = {"$ref": "#/components/schemas/ErrorDetail"}
_FIELD_ERRORS = {"$ref": "#/components/schemas/FieldErrors"}
_REMOTE_ERROR = {"$ref": "#/components/schemas/RemoteError"}


def _answer(description: str, schema: dict[str, Any], headers: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        answer["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "schema": {"type": "integer"},
            }
        }
    return answer


class AutoSchema(SpectacularAutoSchema):
    def get_tags(self) -> list[str]:
        segments = self.path.removeprefix("/api/v1/").removeprefix("integrations-external/")
        parts = [p for p in segments.split("/") if p]
        if parts[:1] == ["user-stories"] and any("github" in p for p in parts[2:]):
            return ["github"]  # a story's GitHub side is the GitHub integration's
        tag = _SEGMENT_TAGS.get(parts[0] if parts else "")
        return [tag] if tag else super().get_tags()

    def _map_serializer(self, serializer: Any, direction: Any, *args: Any, **kwargs: Any) -> Any:
        schema = super()._map_serializer(serializer, direction, *args, **kwargs)
        # A serializer that answers 400 to a key it does not know: the schema must say so, or a
        # client (or fuzzer) following it sends bodies the API refuses.
        if direction == "request" and getattr(serializer, "refuses_unknown_fields", False):
            schema["additionalProperties"] = False
        return schema

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, answer in self._error_answers(operation).items():
            responses.setdefault(str(code), answer)
        return operation

    def _error_answers(self, operation: dict[str, Any]) -> dict[int, dict[str, Any]]:
        view, method = self.view, self.method.upper()
        action = getattr(view, "action", None)
        authenticated = bool(view.get_authenticators())
        has_body = "requestBody" in operation
        queried = any(p.get("in") == "query" for p in operation.get("parameters", []))
        remote = action in getattr(view, "remote_actions", ())
        throttled = bool(
            getattr(view, "throttle_scopes", {}).get(action) or getattr(view, "throttle_scope", "")
        )
        answers: dict[int, dict[str, Any]] = {}
        if has_body or queried:
            answers[400] = _answer("Invalid input (fields or query parameters).", _FIELD_ERRORS)
        if remote:
            answers[400] = _answer(
                "Invalid input, or refused by the remote service.", _REMOTE_ERROR
            )
        if authenticated:
            answers[401] = _answer("No credentials, or invalid ones.", _ERROR)
            if method not in ("GET", "HEAD", "OPTIONS"):
                answers[403] = _answer("Not allowed to change this (read-only access).", _ERROR)
        if "{" in self.path or (method == "GET" and self._is_list_view()):
            answers[404] = _answer("Not found, not visible to you, or no such page.", _ERROR)
        if action in getattr(view, "conflict_actions", ()) or remote:
            answers[409] = _answer("The object's current state forbids this now.", _ERROR)
        if has_body:
            answers[413] = _answer("The request body is too large.", _ERROR)
        if throttled or remote:
            answers[429] = _answer("Too many requests: wait Retry-After seconds.", _ERROR, True)
        if remote:
            answers[502] = _answer(
                "The remote service failed or could not be reached.", _REMOTE_ERROR
            )
        return answers
