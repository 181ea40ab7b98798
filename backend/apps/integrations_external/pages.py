"""The project's Integrations tab: one section per provider, each built by its own package.

A provider adds itself by listing a `project_section` in SECTIONS: the function returns the
template to include and its context. The tab knows no provider beyond that list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.integrations_external.github import pages as github_pages
from apps.integrations_external.slack import pages as slack_pages
from apps.integrations_external.webhooks import pages as webhook_pages
from apps.portal.selectors import visible_project
from apps.projects.models import Project
from apps.projects.selectors import user_can_manage_project

Section = Callable[..., dict[str, Any]]

SECTIONS: list[Section] = [
    webhook_pages.project_section,
    slack_pages.project_section,
    github_pages.project_section,
]


def project_page_context(request: HttpRequest, project_pk: int) -> dict[str, Any]:
    """What every integration page of a project starts from: the project (404 for others),
    the Integrations tab marked, and whether the user may change things (members read)."""
    project: Project = visible_project(user=request.user, pk=project_pk)
    return {
        "project": project,
        "tab": "integrations",
        "can_manage": user_can_manage_project(request.user, project),
    }


@login_required
def project_integrations(request: HttpRequest, project_pk: int) -> HttpResponse:
    context = project_page_context(request, project_pk)
    context["sections"] = [
        section(user=request.user, project=context["project"]) for section in SECTIONS
    ]
    return render(request, "integrations_external/project_integrations.html", context)
