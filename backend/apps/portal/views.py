"""The shell's pages: home, the user's projects and a project's tabs (stories, workflows,
executions). Every read goes through the apps' selectors, so a page shows exactly what the API
would; a project the user cannot see answers 404, as in the API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from apps.commands.selectors import command_executions_visible_to
from apps.integrations_external.github import pages as github_pages
from apps.portal.selectors import visible_project
from apps.projects.selectors import (
    projects_visible_to,
    user_can_manage_project,
    user_stories_visible_to,
)
from apps.workflows.selectors import workflow_executions_visible_to, workflows_visible_to

PAGE_SIZE = 25


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("portal:projects")
    return redirect("portal:login")


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    projects = projects_visible_to(request.user).select_related("owner").order_by("name", "id")
    page = Paginator(projects, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/projects.html", {"page": page})


def _project_context(request: HttpRequest, project_pk: int, tab: str) -> dict:
    project = visible_project(user=request.user, pk=project_pk)
    return {
        "project": project,
        "tab": tab,
        "can_manage": user_can_manage_project(request.user, project),
    }


@login_required
def project_stories(request: HttpRequest, project_pk: int) -> HttpResponse:
    context = _project_context(request, project_pk, "stories")
    stories = user_stories_visible_to(request.user).filter(project=context["project"])
    status = request.GET.get("status", "")
    if status:
        stories = stories.filter(status=status)
    context["page"] = Paginator(stories, PAGE_SIZE).get_page(request.GET.get("page"))
    context["status"] = status
    return render(request, "portal/project_stories.html", context)


@login_required
def project_workflows(request: HttpRequest, project_pk: int) -> HttpResponse:
    context = _project_context(request, project_pk, "workflows")
    workflows = workflows_visible_to(request.user).filter(project=context["project"])
    context["page"] = Paginator(workflows.order_by("name", "id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "portal/project_workflows.html", context)


@login_required
def project_executions(request: HttpRequest, project_pk: int) -> HttpResponse:
    context = _project_context(request, project_pk, "executions")
    project = context["project"]
    context["workflow_executions"] = workflow_executions_visible_to(request.user).filter(
        workflow__project=project
    )[:PAGE_SIZE]
    context["command_executions"] = command_executions_visible_to(request.user).filter(
        command__project=project
    )[:PAGE_SIZE]
    return render(request, "portal/project_executions.html", context)


@login_required
def story_detail(request: HttpRequest, project_pk: int, story_pk: int) -> HttpResponse:
    context = _project_context(request, project_pk, "stories")
    story = get_object_or_404(
        user_stories_visible_to(request.user), project=context["project"], pk=story_pk
    )
    context["story"] = story
    # What the integrations know about the story, one panel each.
    context["story_panels"] = [github_pages.story_panel(user=request.user, story=story)]
    return render(request, "portal/story.html", context)


@login_required
def workflow_execution_detail(
    request: HttpRequest, project_pk: int, execution_pk: int
) -> HttpResponse:
    context = _project_context(request, project_pk, "executions")
    context["execution"] = get_object_or_404(
        workflow_executions_visible_to(request.user),
        workflow__project=context["project"],
        pk=execution_pk,
    )
    return render(request, "portal/workflow_execution.html", context)


@login_required
def command_execution_detail(
    request: HttpRequest, project_pk: int, execution_pk: int
) -> HttpResponse:
    context = _project_context(request, project_pk, "executions")
    context["execution"] = get_object_or_404(
        command_executions_visible_to(request.user),
        command__project=context["project"],
        pk=execution_pk,
    )
    return render(request, "portal/command_execution.html", context)


# Short links for messages that leave the product (emails, Slack, GitHub issues): they know
# only an object's id; these find its project (404 when the reader may not see it) and go to
# its page.


@login_required
def workflow_execution_link(request: HttpRequest, execution_pk: int) -> HttpResponse:
    execution = get_object_or_404(
        workflow_executions_visible_to(request.user).select_related("workflow"), pk=execution_pk
    )
    return redirect(
        "portal:workflow_execution",
        project_pk=execution.workflow.project_id,
        execution_pk=execution.pk,
    )


@login_required
def command_execution_link(request: HttpRequest, execution_pk: int) -> HttpResponse:
    execution = get_object_or_404(
        command_executions_visible_to(request.user).select_related("command"), pk=execution_pk
    )
    return redirect(
        "portal:command_execution",
        project_pk=execution.command.project_id,
        execution_pk=execution.pk,
    )


@login_required
def story_link(request: HttpRequest, story_pk: int) -> HttpResponse:
    story = get_object_or_404(user_stories_visible_to(request.user), pk=story_pk)
    return redirect("portal:story", project_pk=story.project_id, story_pk=story.pk)
