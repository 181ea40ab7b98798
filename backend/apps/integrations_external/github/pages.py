"""GitHub integrations' pages (issue 13)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from apps.integrations_external.github.models import GitHubIntegration
from apps.integrations_external.permissions import readable_q
from apps.projects.models import Project


def project_section(*, user: AbstractBaseUser, project: Project) -> dict[str, Any]:
    integrations = GitHubIntegration.objects.filter(readable_q(user), project=project).order_by(
        "id"
    )
    return {
        "template": "integrations_external/github/_project_section.html",
        "integrations": integrations,
    }
