"""Webhook endpoints' pages: the project's list, forms, actions, and the hooks the generic
delivery log (pipeline/pages.py) uses for Resend and Recover (issue 13).

Every rule is the API's: the form is validated by the API's serializer, changes go through
WebhookService, permissions through permissions.py (others 404, members read without secrets).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST
from rest_framework import exceptions as drf_exceptions

from apps.integrations_external import catalog, permissions
from apps.integrations_external.page_support import HtmxHttpRequest, page_user
from apps.integrations_external.pipeline.pages import (
    DeliveryActions,
    project_page_context,
    register_actions,
    throttled,
)
from apps.integrations_external.webhooks.channel import CHANNEL
from apps.integrations_external.webhooks.forms import WebhookEndpointForm
from apps.integrations_external.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.integrations_external.webhooks.selectors import webhook_endpoints_of
from apps.integrations_external.webhooks.serializers import (
    PUBLIC_REQUEST_HEADERS,
    WebhookEndpointSerializer,
    origin_only,
    secret_hint,
)
from apps.integrations_external.webhooks.services import (
    WebhookService,
    webhook_delivery_redeliver,
    webhook_endpoint_create,
)
from apps.projects.models import Project

RECENT_DELIVERIES = 5


# --- the delivery log's hooks ----------------------------------------------------------------
def _recover(endpoint: WebhookEndpoint, since: datetime) -> int:
    return WebhookService(endpoint).recover(since=since)


def _redeliver(delivery: Any) -> WebhookDelivery:
    return webhook_delivery_redeliver(delivery=delivery)


def _resent_as(delivery: Any) -> list[WebhookDelivery]:
    # Through webhook_id (copies keep it, and it is indexed and selective): SQLite's planner
    # scans the whole table for redelivery_of_id, whose index is nearly all NULL.
    return list(
        WebhookDelivery.objects.filter(
            webhook_id=delivery.webhook_id, redelivery_of=delivery
        ).order_by("created_at", "id")[:20]
    )


def _endpoint_url(project_pk: int, endpoint: WebhookEndpoint) -> str:
    return reverse("integrations:webhook-detail", args=[project_pk, endpoint.pk])


register_actions(
    CHANNEL.name,
    DeliveryActions(
        resend=_redeliver,
        recover=_recover,
        # The API's throttle names (ActionScopedThrottle: view class and action): one budget.
        throttle_names={
            "resend": "WebhookDeliveryViewSet.redeliver",
            "recover": "WebhookEndpointViewSet.recover",
        },
        public_headers=PUBLIC_REQUEST_HEADERS,
        target_url=_endpoint_url,
        resent_as=_resent_as,
    ),
)


# --- what a row shows ------------------------------------------------------------------------
@dataclass
class EndpointView:
    """An endpoint as a reader sees it: a member gets the URL's origin only (its path and query
    may hold credentials, as in the API) and never the secret's hint."""

    endpoint: WebhookEndpoint
    can_manage: bool

    @property
    def shown_url(self) -> str:
        return self.endpoint.url if self.can_manage else origin_only(self.endpoint.url)

    @property
    def status(self) -> tuple[str, str]:
        """(badge style word, text)."""
        e = self.endpoint
        if not e.is_active:
            return ("disabled", "Disabled")
        if e.failing_since:
            return ("failing", f"Failing since {e.failing_since:%Y-%m-%d %H:%M} UTC")
        return ("active", "Active")

    @property
    def events(self) -> list[str]:
        on = [
            category
            for category, switch in WebhookEndpoint.EVENT_SWITCHES.items()
            if getattr(self.endpoint, switch)
        ]
        names = [t.name for t in catalog.EVENT_TYPES.values() if t.category in on]
        return names + list(self.endpoint.custom_events or [])

    @property
    def success_rate(self) -> str:
        e = self.endpoint
        total = e.success_count + e.failure_count
        return f"{round(100 * e.success_count / total)}%" if total else "—"

    @property
    def secret_hint(self) -> str:
        return secret_hint(self.endpoint.secret) if self.can_manage else ""


def project_section(*, user: User, project: Project) -> dict[str, Any]:
    endpoints = webhook_endpoints_of(user).filter(project=project).order_by("id")
    return {
        "template": "integrations_external/webhooks/_project_section.html",
        "endpoints": [EndpointView(e, permissions.can_manage(user, e)) for e in endpoints],
        "can_create": _may_create(user, project),
        "project": project,
    }


def _may_create(user: User, project: Project) -> bool:
    try:
        permissions.check_scope(user, project)
    except drf_exceptions.PermissionDenied:
        return False
    return True


# --- finding things --------------------------------------------------------------------------
def _endpoint(request: HttpRequest, context: dict[str, Any], endpoint_pk: int) -> WebhookEndpoint:
    """An endpoint of this project the user may read (404 otherwise)."""
    return get_object_or_404(
        webhook_endpoints_of(page_user(request)), project=context["project"], pk=endpoint_pk
    )


def _managed(
    request: HttpRequest, project_pk: int, endpoint_pk: int
) -> tuple[dict[str, Any], WebhookEndpoint]:
    context = project_page_context(request, project_pk)
    endpoint = _endpoint(request, context, endpoint_pk)
    if not permissions.can_manage(page_user(request), endpoint):
        raise PermissionDenied(permissions.MANAGERS_ONLY)
    return context, endpoint


def _flash(level: str, message: str) -> str:
    return json.dumps({"flash": {"level": level, "message": message}})


def _detail_url(endpoint: WebhookEndpoint) -> str:
    return reverse("integrations:webhook-detail", args=[endpoint.project_id, endpoint.pk])


def _form_context(context: dict[str, Any], form: WebhookEndpointForm) -> dict[str, Any]:
    return {**context, "form": form}


# --- pages -----------------------------------------------------------------------------------
@login_required
def webhook_list(request: HttpRequest, project_pk: int) -> HttpResponse:
    context = project_page_context(request, project_pk)
    context["section"] = project_section(user=page_user(request), project=context["project"])
    return render(request, "integrations_external/webhooks/list.html", context)


@login_required
def webhook_create(request: HttpRequest, project_pk: int) -> HttpResponse:
    context = project_page_context(request, project_pk)
    if not _may_create(page_user(request), context["project"]):
        raise PermissionDenied(permissions.MANAGERS_ONLY)
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        serializer = form.validate_with_api(request, project_pk)
        if serializer is not None:
            endpoint = webhook_endpoint_create(
                owner=page_user(request), **serializer.validated_data
            )
            messages.success(request, f"Endpoint {endpoint} created.")
            # The secret is shown in this answer only (never stored outside the encrypted
            # column, never in a session): the page says so.
            response = render(
                request,
                "integrations_external/webhooks/secret.html",
                {**context, "endpoint": endpoint, "secret": endpoint.secret, "created": True},
                status=201,
            )
            add_never_cache_headers(response)  # a secret: kept by no cache, not even history
            return response
    return render(request, "integrations_external/webhooks/form.html", _form_context(context, form))


@login_required
def webhook_edit(request: HttpRequest, project_pk: int, endpoint_pk: int) -> HttpResponse:
    context, endpoint = _managed(request, project_pk, endpoint_pk)
    form = WebhookEndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST" and form.is_valid():
        serializer = form.validate_with_api(request, project_pk)
        if serializer is not None:
            WebhookService(endpoint).update(**serializer.validated_data)
            messages.success(request, f"Endpoint {endpoint} saved.")
            return redirect(_detail_url(endpoint))
    context.update(endpoint=endpoint)
    return render(request, "integrations_external/webhooks/form.html", _form_context(context, form))


@login_required
def webhook_detail(request: HttpRequest, project_pk: int, endpoint_pk: int) -> HttpResponse:
    context = project_page_context(request, project_pk)
    endpoint = _endpoint(request, context, endpoint_pk)
    can_manage = permissions.can_manage(page_user(request), endpoint)
    context.update(
        endpoint=endpoint,
        view=EndpointView(endpoint, can_manage),
        can_manage=can_manage,
        target=endpoint,  # for the chart, loaded by its own request
        recent=WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")[
            :RECENT_DELIVERIES
        ],
        channel=CHANNEL,
        header_names=list(endpoint.headers or {}),
    )
    return render(request, "integrations_external/webhooks/detail.html", context)


@require_POST
@login_required
def webhook_rotate(request: HtmxHttpRequest, project_pk: int, endpoint_pk: int) -> HttpResponse:
    context, endpoint = _managed(request, project_pk, endpoint_pk)
    secret = WebhookService(endpoint).rotate_secret()
    message = "Secret rotated. The old one keeps signing for 24 hours."
    context.update(endpoint=endpoint, secret=secret, created=False)
    if request.htmx:
        context["oob_hint"] = secret_hint(secret)  # the page's hint changes with it
        response = render(request, "integrations_external/webhooks/_secret_once.html", context)
        response["HX-Trigger"] = _flash("success", message)
    else:
        messages.success(request, message)
        response = render(request, "integrations_external/webhooks/secret.html", context)
    add_never_cache_headers(response)
    return response


def _switch(request: HttpRequest, project_pk: int, endpoint_pk: int, on: bool) -> HttpResponse:
    """Enable or disable through the API's serializer (its rule: a creator who lost access to
    the project cannot turn it back on) and WebhookService.update, as PATCH is_active does."""
    _context, endpoint = _managed(request, project_pk, endpoint_pk)
    serializer = WebhookEndpointSerializer(
        endpoint, data={"is_active": on}, partial=True, context={"request": request}
    )
    if serializer.is_valid():
        WebhookService(endpoint).update(**serializer.validated_data)
        messages.success(request, f"Endpoint {endpoint} {'enabled' if on else 'disabled'}.")
    else:
        errors = [str(m) for messages_ in serializer.errors.values() for m in messages_]
        messages.error(request, " ".join(errors))
    return redirect(_detail_url(endpoint))


@require_POST
@login_required
def webhook_enable(request: HttpRequest, project_pk: int, endpoint_pk: int) -> HttpResponse:
    return _switch(request, project_pk, endpoint_pk, True)


@require_POST
@login_required
def webhook_disable(request: HttpRequest, project_pk: int, endpoint_pk: int) -> HttpResponse:
    return _switch(request, project_pk, endpoint_pk, False)


@require_POST
@login_required
def webhook_test(request: HtmxHttpRequest, project_pk: int, endpoint_pk: int) -> HttpResponse:
    context, endpoint = _managed(request, project_pk, endpoint_pk)
    wait = throttled(request, "outbound", "WebhookEndpointViewSet.test")
    delivery = None
    if wait is not None:
        level, message = "error", f"Too many tests. Try again in {wait} seconds."
    else:
        delivery = WebhookService(endpoint).queue_test(actor=page_user(request))
        delivery.refresh_from_db()  # sent on commit (at once with eager workers)
        level = "success" if delivery.status == "success" else "info"
        message = (
            f"Test event sent: delivery #{delivery.pk} {delivery.get_status_display().lower()}."
        )
    if request.htmx:
        context.update(endpoint=endpoint, delivery=delivery, level=level, message=message)
        response = render(request, "integrations_external/webhooks/_test_result.html", context)
        response["HX-Trigger"] = _flash(level, message)
        return response
    getattr(messages, level)(request, message)
    if delivery is not None:
        return redirect("integrations:delivery", project_pk, CHANNEL.name, endpoint.pk, delivery.pk)
    return redirect(_detail_url(endpoint))


@login_required
def webhook_delete(request: HttpRequest, project_pk: int, endpoint_pk: int) -> HttpResponse:
    context, endpoint = _managed(request, project_pk, endpoint_pk)
    if request.method == "POST":
        name = str(endpoint)
        endpoint.delete()
        messages.success(request, f"Endpoint {name} deleted, with its delivery log.")
        return redirect("integrations:webhook-list", project_pk)
    context.update(endpoint=endpoint, view=EndpointView(endpoint, True))
    return render(request, "integrations_external/webhooks/confirm_delete.html", context)
