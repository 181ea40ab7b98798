"""Fields shared by the integrations' serializers."""

from __future__ import annotations

from typing import Any

from rest_framework.fields import empty

from apps.integrations_external import permissions
from apps.projects.serializers import VisibleProjectField


class IntegrationProjectField(VisibleProjectField):
    """An integration's project scope. A project the caller cannot see is "does not exist"
    (400); one they see but do not own is a 403 (permissions.check_scope)."""

    def run_validation(self, data: Any = empty) -> Any:
        project = super().run_validation(data)  # raises SkipField when absent from a PATCH
        request = self.context.get("request")
        if request is not None:
            permissions.check_scope(request.user, project, getattr(self.parent, "instance", None))
        return project


def check_still_acting(instance: Any, attrs: dict[str, Any]) -> None:
    """An update leaving an integration active in a project must keep its creator allowed there."""
    if instance is None:
        return
    active = attrs.get("is_active", instance.is_active)
    project = attrs.get("project", instance.project)
    turned_on = active and not instance.is_active
    moved = "project" in attrs and getattr(project, "pk", None) != instance.project_id
    if active and (turned_on or moved):
        permissions.check_creator_may_act(instance.owner, project)
