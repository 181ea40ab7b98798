"""GitHub integrations' pages (issue 13): connect, the integration's page (verification, hook,
sync with its progress, pull requests with their stories, workflow runs), Verify, Create
repository webhook, Sync now, enable/disable, delete; and a story's GitHub panel.

Thin: the API's serializer validates, GitHubService acts, permissions.py decides."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.integrations_external.github.forms import GitHubIntegrationForm
from apps.integrations_external.github.models import GitHubIntegration
from apps.integrations_external.github.selectors import (
    github_integration_acts_for_project,
    github_integrations_of,
    story_github,
)
from apps.integrations_external.github.serializers import GitHubIntegrationSerializer
from apps.integrations_external.github.services import (
    WEBHOOK_EVENTS,
    GitHubService,
    webhook_url,
)
from apps.integrations_external.http.errors import IntegrationError
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
from apps.projects.models import Project, UserStory

API_VIEW = "GitHubIntegrationViewSet"  # the throttle budget pages share with the API
SYNC_PARTIAL = "integrations_external/github/_sync.html"
STATUS_PARTIAL = "integrations_external/github/_status.html"
LIST_SIZE = 50
SECRET_ONCE = "github-webhook-secret-{}"  # session key: the secret, shown on the next page only
RUNNING = (GitHubIntegration.SyncState.QUEUED, GitHubIntegration.SyncState.RUNNING)


def project_section(*, user: User, project: Project) -> dict[str, Any]:
    integrations = GitHubIntegration.objects.filter(readable_q(user), project=project).order_by(
        "id"
    )
    return {
        "template": "integrations_external/github/_project_section.html",
        "integrations": integrations,
    }


def story_panel(*, user: User, story: UserStory) -> dict[str, Any]:
    """The story page's GitHub panel: its issues and the pull requests naming its key (the same
    selector as the API's `user-stories/{id}/github/`; the story is one `user` can see)."""
    links, pulls = story_github(story)
    return {
        "template": "integrations_external/github/_story_panel.html",
        "issues": list(links),
        "pull_requests": list(pulls[:LIST_SIZE]),
        "has_integration": GitHubIntegration.objects.filter(project=story.project_id).exists(),
    }


def _integration(request: HttpRequest, project: Project, pk: int) -> GitHubIntegration:
    return get_object_or_404(github_integrations_of(page_user(request)), project=project, pk=pk)


def _managed(request: HttpRequest, project_pk: int, pk: int) -> tuple[dict, GitHubIntegration]:
    context = project_page_context(request, project_pk)
    integration = _integration(request, context["project"], pk)
    if not can_manage(page_user(request), integration):
        raise PermissionDenied(MANAGERS_ONLY)
    return context, integration


def _detail_url(integration: GitHubIntegration) -> str:
    return reverse("integrations:github-detail", args=[integration.project_id, integration.pk])


def _sync_context(integration: GitHubIntegration, user: User) -> dict[str, Any]:
    """The sync's state with what it brought: pull requests (stories only while the integration
    still acts for the project, as in the API) and workflow runs."""
    integration.refresh_from_db()
    stories = UserStory.objects.only("id", "title", "project_id")
    if not github_integration_acts_for_project(integration):
        stories = stories.none()
    pulls = integration.pull_requests.prefetch_related(Prefetch("stories", queryset=stories))
    return {
        "integration": integration,
        "project": integration.project,
        "can_manage": can_manage(user, integration),
        # A disabled integration's queued sync never starts: no polling for it.
        "running": integration.sync_state in RUNNING and integration.is_active,
        "pull_requests": list(pulls[:LIST_SIZE]),
        "pull_request_count": integration.pull_requests.count(),
        "workflow_runs": list(integration.workflow_runs.all()[:20]),
    }


def _status_context(integration: GitHubIntegration, user: User) -> dict[str, Any]:
    return {
        "integration": integration,
        "project": integration.project,
        "can_manage": can_manage(user, integration),
        "webhook_url": webhook_url(integration),
        "webhook_events": WEBHOOK_EVENTS,
    }


@login_required
@require_http_methods(["GET", "POST"])
def github_create(request: HttpRequest, project_pk: int) -> HttpResponse:
    context = project_page_context(request, project_pk)
    if not context["can_manage"]:
        raise PermissionDenied(MANAGERS_ONLY)
    form = GitHubIntegrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        serializer = GitHubIntegrationSerializer(
            data={**form.api_data(), "project": context["project"].pk},
            context={"request": request},
        )
        if validate_with(serializer, form):
            integration = serializer.save(owner=page_user(request))
            # Shown once on the next page (GitHub needs it if the hook is made by hand).
            request.session[SECRET_ONCE.format(integration.pk)] = integration.webhook_secret
            return answer(
                request,
                level="success",
                message=f"GitHub repository {integration.full_name} connected. Verify it, then "
                "create the repository webhook and sync.",
                redirect_to=_detail_url(integration),
            )
    context["form"] = form
    return render(request, "integrations_external/github/create.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def github_detail(request: HttpRequest, project_pk: int, pk: int) -> HttpResponse:
    context = project_page_context(request, project_pk)
    integration = _integration(request, context["project"], pk)
    manage = can_manage(page_user(request), integration)
    form = GitHubIntegrationForm(instance=integration) if manage else None
    if request.method == "POST":
        if not manage:
            raise PermissionDenied(MANAGERS_ONLY)
        form = GitHubIntegrationForm(request.POST, instance=integration)
        if form.is_valid():
            serializer = GitHubIntegrationSerializer(
                integration, data=form.api_data(), partial=True, context={"request": request}
            )
            if validate_with(serializer, form):
                GitHubService(integration).update(**serializer.validated_data)  # as the API
                return answer(
                    request,
                    level="success",
                    message="GitHub settings saved.",
                    redirect_to=_detail_url(integration),
                )
    context.update(_status_context(integration, page_user(request)))
    context.update(_sync_context(integration, page_user(request)))
    context["form"] = form
    if manage:
        context["webhook_secret"] = request.session.pop(SECRET_ONCE.format(integration.pk), None)
    return render(request, "integrations_external/github/detail.html", context)


@login_required
@require_POST
def github_verify(request: HttpRequest, project_pk: int, pk: int) -> HttpResponse:
    _, integration = _managed(request, project_pk, pk)
    if not outbound_allowed(request, view_name=API_VIEW, action="verify"):
        level, message = "error", THROTTLED
    else:
        result = GitHubService(integration).verify_connection()
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
def github_create_webhook(request: HttpRequest, project_pk: int, pk: int) -> HttpResponse:
    _, integration = _managed(request, project_pk, pk)
    if not outbound_allowed(request, view_name=API_VIEW, action="create_webhook"):
        level, message = "error", THROTTLED
    else:
        try:
            GitHubService(integration).create_webhook()
        except IntegrationError as exc:
            level, message = "error", f"GitHub refused to create the webhook: {exc}"
        else:
            level = "success"
            message = (
                f"Repository webhook created on {integration.full_name}: GitHub now sends "
                f"{', '.join(WEBHOOK_EVENTS)} events here."
            )
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
def github_sync(request: HttpRequest, project_pk: int, pk: int) -> HttpResponse:
    _, integration = _managed(request, project_pk, pk)
    if not outbound_allowed(request, view_name=API_VIEW, action="sync_prs"):
        level, message = "error", THROTTLED
    else:
        try:
            queued = GitHubService(integration).queue_sync()
        except IntegrationError as exc:  # GitHub's rate limit: a run is scheduled already
            level, message = "warning", str(exc)
        else:
            level = "info" if queued else "warning"
            message = "Sync queued." if queued else "A sync is already queued or running."
    context = _sync_context(integration, page_user(request))
    if integration.sync_state == GitHubIntegration.SyncState.SUCCEEDED and level == "info":
        level, message = "success", "Sync finished."  # an eager worker ran it already
    return answer(
        request,
        level=level,
        message=message,
        redirect_to=_detail_url(integration),
        partial=SYNC_PARTIAL,
        context=context,
    )


@login_required
@require_GET
def github_sync_status(request: HttpRequest, project_pk: int, pk: int) -> HttpResponse:
    """The sync section alone: htmx polls it every 2 s while a sync is queued or running."""
    context = project_page_context(request, project_pk)
    integration = _integration(request, context["project"], pk)
    return render(request, SYNC_PARTIAL, _sync_context(integration, page_user(request)))


@login_required
@require_POST
def github_set_active(request: HttpRequest, project_pk: int, pk: int) -> HttpResponse:
    """Enable (`is_active=1`) or disable (`is_active=0`), through the API's serializer."""
    _, integration = _managed(request, project_pk, pk)
    serializer = GitHubIntegrationSerializer(
        integration,
        data={"is_active": request.POST.get("is_active") == "1"},
        partial=True,
        context={"request": request},
    )
    return set_active_answer(
        request,
        serializer=serializer,
        update=GitHubService(integration).update,
        label="GitHub integration",
        redirect_to=_detail_url(integration),
    )


@login_required
@require_http_methods(["GET", "POST"])
def github_delete(request: HttpRequest, project_pk: int, pk: int) -> HttpResponse:
    context, integration = _managed(request, project_pk, pk)
    return delete_answer(
        request,
        context,
        integration=integration,
        name=integration.full_name,
        label="GitHub integration",
        template="integrations_external/github/delete.html",
    )
