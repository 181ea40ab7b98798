"""Teams integrations' pages: connect, the integration's page (health, last card, switches),
Verify (a test card now), Send test card (through the pipeline), enable/disable, delete.

Thin: the API's serializer validates, TeamsService acts, permissions.py decides who may."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.integrations_external.page_support import (
    THROTTLED,
    answer,
    delete_answer,
    outbound_allowed,
    page_user,
    project_page_context,
    set_active_answer,
    validate_with,
)
from apps.integrations_external.permissions import MANAGERS_ONLY, can_manage, readable_q
from apps.integrations_external.pipeline.models import DeliveryStatus
from apps.integrations_external.pipeline.pages import DeliveryActions, register_actions
from apps.integrations_external.teams.forms import TeamsIntegrationForm
from apps.integrations_external.teams.models import TeamsDelivery, TeamsIntegration
from apps.integrations_external.teams.selectors import teams_integrations_of
from apps.integrations_external.teams.serializers import TeamsIntegrationSerializer
from apps.integrations_external.teams.services import TeamsService
from apps.projects.models import Project

API_VIEW = "TeamsIntegrationViewSet"  # the throttle budget pages share with the API
STATUS_PARTIAL = "integrations_external/teams/_status.html"


# The delivery log (pipeline/pages.py) links a delivery's target back to this page. No resend:
# a chat message is not worth sending twice; a test message checks the channel instead.
register_actions(
    "teams",
    DeliveryActions(
        target_url=lambda project_pk, target: reverse(
            "integrations:teams-detail", args=[project_pk, target.pk]
        )
    ),
)


def project_section(*, user: Any, project: Project) -> dict[str, Any]:
    integrations = TeamsIntegration.objects.filter(readable_q(user), project=project).order_by("id")
    return {
        "template": "integrations_external/teams/_project_section.html",
        "integrations": integrations,
    }


def _integration(request: HttpRequest, project: Project, pk: int) -> TeamsIntegration:
    """The project's Teams integration `pk` if the user may read it (404 otherwise)."""
    return get_object_or_404(teams_integrations_of(page_user(request)), project=project, pk=pk)


def _managed(request: HttpRequest, project_pk: int, pk: int) -> tuple[dict, TeamsIntegration]:
    context = project_page_context(request, project_pk)
    integration = _integration(request, context["project"], pk)
    if not can_manage(page_user(request), integration):
        raise PermissionDenied(MANAGERS_ONLY)
    return context, integration


def _detail_url(integration: TeamsIntegration) -> str:
    return reverse("integrations:teams-detail", args=[integration.project_id, integration.pk])


def _status_context(integration: TeamsIntegration, user: Any) -> dict[str, Any]:
    return {
        "integration": integration,
        "can_manage": can_manage(user, integration),
        "last_delivery": TeamsDelivery.objects.filter(integration=integration)
        .order_by("-created_at", "-id")
        .first(),
        "deliveries_url": reverse(
            "integrations:deliveries", args=[integration.project_id, "teams", integration.pk]
        ),
    }


@login_required
@require_http_methods(["GET", "POST"])
def teams_create(request: HttpRequest, project_pk: int) -> HttpResponse:
    context = project_page_context(request, project_pk)
    if not context["can_manage"]:
        raise PermissionDenied(MANAGERS_ONLY)
    project: Project = context["project"]
    form = TeamsIntegrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        serializer = TeamsIntegrationSerializer(
            data={**form.api_data(), "project": project.pk}, context={"request": request}
        )
        if validate_with(serializer, form):
            integration = serializer.save(owner=page_user(request))
            return answer(
                request,
                level="success",
                message=f"Teams connected to {integration.channel_name}. Verify it to post a "
                "test card.",
                redirect_to=_detail_url(integration),
            )
    context["form"] = form
    return render(request, "integrations_external/teams/create.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def teams_detail(request: HttpRequest, project_pk: int, pk: int) -> HttpResponse:
    context = project_page_context(request, project_pk)
    integration = _integration(request, context["project"], pk)
    manage = can_manage(page_user(request), integration)
    form = TeamsIntegrationForm(instance=integration) if manage else None
    if request.method == "POST":
        if not manage:
            raise PermissionDenied(MANAGERS_ONLY)
        form = TeamsIntegrationForm(request.POST, instance=integration)
        if form.is_valid():
            serializer = TeamsIntegrationSerializer(
                integration, data=form.api_data(), partial=True, context={"request": request}
            )
            if validate_with(serializer, form):
                saved = TeamsService(integration).update(**serializer.validated_data)  # as the API
                return answer(
                    request,
                    level="success",
                    message="Teams settings saved.",
                    redirect_to=_detail_url(saved),
                )
    context.update(_status_context(integration, page_user(request)))
    context["form"] = form
    return render(request, "integrations_external/teams/detail.html", context)


@login_required
@require_POST
def teams_verify(request: HttpRequest, project_pk: int, pk: int) -> HttpResponse:
    _, integration = _managed(request, project_pk, pk)
    if not outbound_allowed(request, view_name=API_VIEW, action="verify"):
        level, message = "error", THROTTLED
    else:
        result = TeamsService(integration).verify()
        level, message = ("success" if result.ok else "error"), result.detail
    return answer(
        request,
        level=level,
        message=message,
        redirect_to=_detail_url(integration),
        partial=STATUS_PARTIAL,
        context=_status_context(integration, page_user(request)),
    )


@login_required
@require_POST
def teams_test_card(request: HttpRequest, project_pk: int, pk: int) -> HttpResponse:
    _, integration = _managed(request, project_pk, pk)
    if not outbound_allowed(request, view_name=API_VIEW, action="test_message"):
        level, message = "error", THROTTLED
    else:
        delivery = TeamsService(integration).queue_test_card(actor=page_user(request))
        delivery.refresh_from_db()  # delivered on commit when the worker is eager
        integration.refresh_from_db()
        if delivery.status == DeliveryStatus.SUCCESS:
            level, message = "success", f"Test card posted to {integration.channel_name}."
        elif delivery.status == DeliveryStatus.FAILED:
            level = "error"
            message = f"The test card failed: {delivery.error_message or 'see its delivery'}"
        else:
            level, message = "info", f"Test card queued for {integration.channel_name}."
    return answer(
        request,
        level=level,
        message=message,
        redirect_to=_detail_url(integration),
        partial=STATUS_PARTIAL,
        context=_status_context(integration, page_user(request)),
    )


@login_required
@require_POST
def teams_set_active(request: HttpRequest, project_pk: int, pk: int) -> HttpResponse:
    """Enable (`is_active=1`) or disable (`is_active=0`), through the API's serializer."""
    _, integration = _managed(request, project_pk, pk)
    serializer = TeamsIntegrationSerializer(
        integration,
        data={"is_active": request.POST.get("is_active") == "1"},
        partial=True,
        context={"request": request},
    )
    return set_active_answer(
        request,
        serializer=serializer,
        update=TeamsService(integration).update,
        label="Teams integration",
        redirect_to=_detail_url(integration),
    )


@login_required
@require_http_methods(["GET", "POST"])
def teams_delete(request: HttpRequest, project_pk: int, pk: int) -> HttpResponse:
    context, integration = _managed(request, project_pk, pk)
    return delete_answer(
        request,
        context,
        integration=integration,
        name=integration.channel_name,
        label="Teams integration",
        template="integrations_external/teams/delete.html",
    )
