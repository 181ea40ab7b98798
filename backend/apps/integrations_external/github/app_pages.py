"""The GitHub App's install pages: Install (sends the owner to GitHub), the setup URL GitHub
sends them back to, and the repository picker. The rules are in github/app.py."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.integrations_external.github.app import (
    InstallRefused,
    app_configured,
    confirm_install,
    install_url,
    installation_repositories,
    pending_attempt,
)
from apps.integrations_external.github.app_forms import PickRepositoryForm
from apps.integrations_external.github.services import github_app_connect
from apps.integrations_external.http.errors import IntegrationError
from apps.integrations_external.page_support import page_user, project_page_context
from apps.integrations_external.permissions import MANAGERS_ONLY

REFUSED = "integrations_external/github/app_refused.html"


def _require_app() -> None:
    if not app_configured():
        raise Http404("No GitHub App is set up on this site.")


def _refused(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, REFUSED, {"reason": reason}, status=400)


@login_required
@require_POST
def github_app_install(request: HttpRequest, project_pk: int) -> HttpResponse:
    _require_app()
    context = project_page_context(request, project_pk)
    if not context["can_manage"]:
        raise PermissionDenied(MANAGERS_ONLY)
    return redirect(install_url(user=page_user(request), project=context["project"]))


@login_required
@require_GET
def github_app_setup(request: HttpRequest) -> HttpResponse:
    _require_app()
    try:
        attempt = confirm_install(
            user=page_user(request),
            state=request.GET.get("state", ""),
            installation_id=request.GET.get("installation_id", ""),
            setup_action=request.GET.get("setup_action", ""),
            code=request.GET.get("code", ""),
        )
    except InstallRefused as exc:
        return _refused(request, str(exc))
    messages.success(request, "The GitHub App is installed: pick the project's repository.")
    return redirect("integrations:github-app-repositories", attempt.project_id, attempt.pk)


@login_required
@require_http_methods(["GET", "POST"])
def github_app_repositories(request: HttpRequest, project_pk: int, attempt_pk: int) -> HttpResponse:
    _require_app()
    context = project_page_context(request, project_pk)
    if not context["can_manage"]:
        raise PermissionDenied(MANAGERS_ONLY)
    attempt = pending_attempt(
        user=page_user(request), project=context["project"], attempt_pk=attempt_pk
    )
    if attempt is None:
        return _refused(
            request,
            "This install is finished, expired or not yours: start again from the project.",
        )
    assert attempt.installation_id is not None
    try:
        choices = installation_repositories(attempt.installation_id)
    except IntegrationError as exc:
        return _refused(request, f"GitHub did not list the installation's repositories: {exc}.")
    form = PickRepositoryForm(request.POST or None, choices=choices)
    if request.method == "POST" and form.is_valid():
        try:
            integration = github_app_connect(
                user=page_user(request), attempt=attempt, full_name=form.cleaned_data["repository"]
            )
        except InstallRefused as exc:
            form.add_error("repository", str(exc))
        else:
            if integration.last_verification_ok:
                messages.success(request, f"GitHub is connected: {integration.full_name}.")
            else:
                messages.warning(
                    request,
                    f"GitHub is connected ({integration.full_name}) but verification failed: "
                    f"{integration.last_verification_detail}",
                )
            return redirect(reverse("integrations:project", args=[project_pk]) + "#github")
    context.update({"form": form, "choices": choices, "attempt": attempt})
    return render(request, "integrations_external/github/app_repositories.html", context)
