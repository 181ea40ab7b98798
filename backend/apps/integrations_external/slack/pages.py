"""Slack integrations' pages (issue 13)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from apps.integrations_external.permissions import readable_q
from apps.integrations_external.slack.models import SlackIntegration
from apps.integrations_external.slack.oauth import oauth_configured
from apps.projects.models import Project


def project_section(*, user: AbstractBaseUser, project: Project) -> dict[str, Any]:
    integrations = SlackIntegration.objects.filter(readable_q(user), project=project).order_by("id")
    return {
        "template": "integrations_external/slack/_project_section.html",
        "integrations": integrations,
        "add_to_slack": oauth_configured(),
    }
