"""Who may do what with an integration: the one place that decides (docs/permissions.md).

An integration (webhook endpoint, Slack integration, GitHub integration) is either
  - project-scoped (`project` set; GitHub always): the project's owner and staff manage it
    (create, change, delete, every action that calls out or sends); members read it (list,
    detail, deliveries, mirrors) with secrets masked; anyone else gets 404;
  - unscoped (webhook endpoints and Slack integrations without a project): its creator's own;
    anyone else, staff included, gets 404 (staff use the admin).
An integration acts for its creator (`owner`): it only acts on its project while the creator may
see that project; when they lose access it is turned off with a reason (access.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q
from rest_framework import permissions
from rest_framework.exceptions import NotAuthenticated, PermissionDenied, ValidationError
from rest_framework.request import Request

from apps.projects.models import Project
from apps.projects.selectors import (
    projects_visible_to,
    user_can_manage_project,
    user_can_see_project,
)

READ = "read"
MANAGE = "manage"

# Every view action of the integrations API and the right it needs; an action missing here
# needs MANAGE (a new action is closed until it is listed).
ACTION_RIGHTS: dict[str, str] = {
    "list": READ,
    "retrieve": READ,
    "deliveries": READ,
    "pull_requests": READ,
    "workflow_runs": READ,
    "create": MANAGE,
    "update": MANAGE,
    "partial_update": MANAGE,
    "destroy": MANAGE,
    "verify": MANAGE,
    "test": MANAGE,
    "test_message": MANAGE,
    "rotate_secret": MANAGE,
    "recover": MANAGE,
    "redeliver": MANAGE,
    "sync_prs": MANAGE,
    "create_webhook": MANAGE,
    "create_github_issue": MANAGE,
}

MANAGERS_ONLY = "Only the project's owner (or staff) can change its integrations or act on them."


def request_user(request: Request) -> User:
    """The user of a request the permission classes let through (never anonymous there)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def readable_q(user: User, prefix: str = "") -> Q:
    """Integrations `user` may read (a filter on the integration, or via `prefix`)."""
    if not _active(user):
        return Q(pk__in=[])
    scoped = Q(**{f"{prefix}project__in": projects_visible_to(user)})
    own_unscoped = Q(**{f"{prefix}project__isnull": True, f"{prefix}owner": user})
    return own_unscoped | scoped


def _target(obj: Any) -> Any:
    """The integration an object belongs to (a webhook delivery belongs to its endpoint)."""
    return getattr(obj, "endpoint", None) or obj


def can_read(user: User, obj: Any) -> bool:
    target = _target(obj)
    if not _active(user):
        return False
    if target.project_id is None:
        return target.owner_id == user.pk
    return user_can_see_project(user, target.project)


def can_manage(user: User, obj: Any) -> bool:
    target = _target(obj)
    if not _active(user):
        return False
    if target.project_id is None:
        return target.owner_id == user.pk
    return user_can_manage_project(user, target.project)


def check_scope(user: User, project: Project | None, instance: Any = None) -> None:
    """May `user` put an integration (new, or `instance`) in `project` (None: unscoped)?
    The project is one `user` can see (the serializer's field answers 400 otherwise); seeing
    without managing is a 403."""
    if project is None:
        if instance is not None and instance.owner_id != user.pk:
            raise PermissionDenied("Only its creator can make an integration project-less.")
        return
    if not user_can_manage_project(user, project):
        raise PermissionDenied(MANAGERS_ONLY)


def creator_may_act(target: Any) -> bool:
    """An integration acts for its creator: only while they may still see its project."""
    if target.project_id is None:
        return True
    return user_can_see_project(target.owner, target.project)


def acting_owner_q(project: Project, prefix: str = "") -> Q:
    """Integrations (via `prefix`) whose creator may still act on `project`."""
    return (
        Q(**{f"{prefix}owner_id": project.owner_id})
        | Q(**{f"{prefix}owner__in": project.members.all()})
        | Q(**{f"{prefix}owner__is_staff": True})
    ) & Q(**{f"{prefix}owner__is_active": True})


class IntegrationPermission(permissions.IsAuthenticated):
    """The views' glue: reads need READ, everything else MANAGE (see ACTION_RIGHTS). Objects a
    caller cannot read never reach this (their querysets use readable_q: 404)."""

    message = MANAGERS_ONLY

    def has_object_permission(self, request, view, obj) -> bool:
        if ACTION_RIGHTS.get(getattr(view, "action", None) or "", MANAGE) == READ:
            return can_read(request.user, obj)
        return can_manage(request.user, obj)


def check_manage_project(user: User, project: Project) -> None:
    """Project-level integration actions (create-github-issue): its owner or staff."""
    if not user_can_manage_project(user, project):
        raise PermissionDenied(MANAGERS_ONLY)


def check_creator_may_act(owner: User, project: Project | None) -> None:
    """An active integration must act for someone who may see its project: refuse to turn
    one on (or move one) where its creator has no access any more."""
    if project is not None and not user_can_see_project(owner, project):
        raise ValidationError(
            {
                "is_active": [
                    f"Its creator ({owner.get_username()}) is not a member of this project any "
                    "more, so it cannot act on it. Create a new integration instead."
                ]
            }
        )
