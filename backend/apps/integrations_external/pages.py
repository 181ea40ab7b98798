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
from apps.integrations_external.page_support import page_user, project_page_context
from apps.integrations_external.slack import pages as slack_pages
from apps.integrations_external.teams import pages as teams_pages
from apps.integrations_external.webhooks import pages as webhook_pages

Section = Callable[..., dict[str, Any]]

SECTIONS: list[Section] = [
    webhook_pages.project_section,
    slack_pages.project_section,
    teams_pages.project_section,
    github_pages.project_section,
]


@login_required
def project_integrations(request: HttpRequest, project_pk: int) -> HttpResponse:
    context = project_page_context(request, project_pk)
    context["sections"] = [
        section(user=page_user(request), project=context["project"]) for section in SECTIONS
    ]
    return render(request, "integrations_external/project_integrations.html", context)
