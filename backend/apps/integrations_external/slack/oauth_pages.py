"""The two pages of Add to Slack: the button's target (starts the install) and Slack's
callback (finishes it, or says in words why it cannot)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.integrations_external.page_support import page_user, project_page_context
from apps.integrations_external.permissions import MANAGERS_ONLY
from apps.integrations_external.slack.oauth import (
    InstallRefused,
    authorize_url,
    oauth_configured,
)
from apps.integrations_external.slack.services import slack_oauth_install


@login_required
@require_POST
def slack_oauth_start(request: HttpRequest, project_pk: int) -> HttpResponse:
    if not oauth_configured():
        raise Http404("Add to Slack is not set up on this site.")
    context = project_page_context(request, project_pk)
    if not context["can_manage"]:
        raise PermissionDenied(MANAGERS_ONLY)
    return redirect(authorize_url(user=page_user(request), project=context["project"]))


@login_required
@require_GET
def slack_oauth_callback(request: HttpRequest) -> HttpResponse:
    if not oauth_configured():
        raise Http404("Add to Slack is not set up on this site.")
    try:
        integration = slack_oauth_install(
            user=page_user(request),
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            error=request.GET.get("error", ""),
        )
    except InstallRefused as exc:
        return render(
            request,
            "integrations_external/slack/oauth_refused.html",
            {"reason": str(exc)},
            status=400,
        )
    if integration.last_verification_ok:
        messages.success(request, f"Slack is connected: {integration}.")
    else:
        messages.warning(
            request,
            f"Slack is connected ({integration}) but verification failed: "
            f"{integration.last_verification_detail}",
        )
    return redirect(reverse("integrations:project", args=[integration.project_id]) + "#slack")
