"""Webhook endpoints' pages: the project's list, forms, delivery log (issue 13)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from apps.integrations_external.permissions import readable_q
from apps.integrations_external.webhooks.models import WebhookEndpoint
from apps.projects.models import Project


def project_section(*, user: AbstractBaseUser, project: Project) -> dict[str, Any]:
    endpoints = WebhookEndpoint.objects.filter(readable_q(user), project=project).order_by("id")
    return {
        "template": "integrations_external/webhooks/_project_section.html",
        "endpoints": endpoints,
    }
