"""What the Slack, GitHub and email pages share: the API's serializer as the form's judge, one
answer for an action (htmx partial + flash, or redirect + message), and the API's throttle.

A page holds no rule of its own: its Django form only renders and parses the inputs; the
serializer the API uses decides, and its errors land on the form's fields in words."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_htmx.middleware import HtmxDetails
from rest_framework import serializers

from apps.portal.selectors import visible_project
from apps.projects.models import Project
from apps.projects.selectors import user_can_manage_project
from core.api.throttling import ActionScopedThrottle

LEVELS = {
    "success": messages.SUCCESS,
    "info": messages.INFO,
    "warning": messages.WARNING,
    "error": messages.ERROR,
}


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (the type hint django-htmx
    documents): `request.htmx` tells whether htmx sent it."""

    htmx: HtmxDetails


def page_user(request: HttpRequest) -> User:
    """The user of a page request behind @login_required (never anonymous there)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def error_sentences(errors: Any) -> Iterable[str]:
    """A serializer's error tree flattened to its sentences."""
    if isinstance(errors, dict):
        for value in errors.values():
            yield from error_sentences(value)
    elif isinstance(errors, list | tuple):
        for value in errors:
            yield from error_sentences(value)
    else:
        yield str(errors)


def copy_errors(errors: Any, form: forms.Form) -> None:
    """Put a serializer's errors on the form: a field's on that field, the rest on the form."""
    if not isinstance(errors, dict):
        errors = {"non_field_errors": errors}
    for name, detail in errors.items():
        target = name if name in form.fields else None
        for sentence in error_sentences(detail):
            form.add_error(target, sentence)


def validate_with(serializer: serializers.Serializer, form: forms.Form) -> bool:
    """Run the API's serializer; on refusal copy its errors onto `form` and answer False."""
    if serializer.is_valid():
        return True
    copy_errors(serializer.errors, form)
    return False


def answer(
    request: HttpRequest,
    *,
    level: str,
    message: str,
    redirect_to: str,
    partial: str | None = None,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """The outcome of an action: for htmx the refreshed partial with a flash event; without
    JavaScript a flash message and a redirect (POST → redirect → GET)."""
    if partial and getattr(request, "htmx", False):
        response = render(request, partial, context or {})
        response["HX-Trigger"] = json.dumps({"flash": {"level": level, "message": message}})
        return response
    messages.add_message(request, LEVELS.get(level, messages.INFO), message)
    return redirect(redirect_to)


def outbound_allowed(request: HttpRequest, *, view_name: str, action: str) -> bool:
    """The API's per-user budget for actions that call out (THROTTLE_OUTBOUND_RATE), counted in
    the same cache key as the API view `view_name`: a page and the API share one budget."""
    view = type(view_name, (), {"action": action, "throttle_scopes": {action: "outbound"}})()
    return ActionScopedThrottle().allow_request(request, view)


THROTTLED = "Too many of these in a short time; wait a minute and try again."


def project_page_context(request: HttpRequest, project_pk: int) -> dict[str, Any]:
    """What every integration page of a project starts from: the project (404 for others),
    the Integrations tab marked, and whether the user may change things (members read)."""
    user = page_user(request)
    project: Project = visible_project(user=user, pk=project_pk)
    return {
        "project": project,
        "tab": "integrations",
        "can_manage": user_can_manage_project(user, project),
    }


def set_active_answer(
    request: HttpRequest,
    *,
    serializer: serializers.Serializer,
    update: Callable[..., Any],
    label: str,
    redirect_to: str,
) -> HttpResponse:
    """Enable or disable an integration (`is_active=1/0` posted) through the API's serializer
    (`serializer`, bound to `{"is_active": …}`) and the service's `update`, as the API does."""
    if not serializer.is_valid():  # e.g. its creator left the project: it cannot act there
        message = " ".join(error_sentences(serializer.errors))
        return answer(request, level="error", message=message, redirect_to=redirect_to)
    update(**serializer.validated_data)
    state = "enabled" if serializer.validated_data.get("is_active") else "disabled"
    return answer(request, level="success", message=f"{label} {state}.", redirect_to=redirect_to)


def delete_answer(
    request: HttpRequest,
    context: dict[str, Any],
    *,
    integration: Any,
    name: str,
    label: str,
    template: str,
) -> HttpResponse:
    """GET: the confirmation page; POST: delete and go back to the Integrations tab."""
    if request.method == "POST":
        integration.delete()
        return answer(
            request,
            level="success",
            message=f"{label} {name} deleted.",
            redirect_to=reverse("integrations:project", args=[context["project"].pk]),
        )
    context["integration"] = integration
    return render(request, template, context)
