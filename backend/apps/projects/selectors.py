"""Who sees what: every object is visible to its project's owner and members; staff see all."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from apps.projects.models import Project, UserStory


def visible_project_q(user: AbstractBaseUser, prefix: str = "") -> Q:
    """A filter on a model reaching Project via `prefix` (e.g. "workflow__project__")."""
    if user.is_staff:
        return Q()
    return Q(**{f"{prefix}owner": user}) | Q(**{f"{prefix}members": user})


def projects_visible_to(user: AbstractBaseUser) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    if user.is_staff:
        return Project.objects.all()
    ids = Project.objects.filter(visible_project_q(user)).values("id")
    return Project.objects.filter(id__in=ids)


def user_can_see_project(user: AbstractBaseUser, project: Project | None) -> bool:
    if project is None or not user.is_active:
        return False
    return (
        user.is_staff or project.owner_id == user.pk or project.members.filter(pk=user.pk).exists()
    )


def user_can_manage_project(user: AbstractBaseUser, project: Project) -> bool:
    """Change or delete the project itself, and manage its integrations: its owner or staff."""
    return user.is_active and (user.is_staff or project.owner_id == user.pk)


def user_stories_visible_to(user: AbstractBaseUser) -> QuerySet[UserStory]:
    return UserStory.objects.filter(project__in=projects_visible_to(user)).select_related(
        "project", "created_by"
    )
