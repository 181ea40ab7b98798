"""Business actions on projects and user stories; each sends its domain signal after commit."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from apps.projects import signals
from apps.projects.models import Project, UserStory
from core.api.exceptions import InvalidTransition
from core.signals import send_on_commit

_TRACKED_PROJECT_FIELDS = ("name", "description", "owner", "members")


@transaction.atomic
def project_create(
    *, owner: AbstractBaseUser, name: str, description: str = "", members=()
) -> Project:
    project = Project.objects.create(owner=owner, name=name, description=description)
    if members:
        project.members.set(members)
    return project


@transaction.atomic
def project_update(*, project: Project, actor: AbstractBaseUser, data: dict[str, Any]) -> Project:
    changed: list[str] = []
    members = data.pop("members", None)
    people_before = _people(project)  # before any change: an owner change removes someone too
    for field, value in data.items():
        if getattr(project, field) != value:
            setattr(project, field, value)
            changed.append(field)
    if changed:
        project.save()
    if members is not None:
        before = set(project.members.values_list("pk", flat=True))
        after = {m.pk for m in members}
        if before != after:
            project.members.set(members)
            changed.append("members")
    _access_lost(project, people_before - _people(project), actor)
    if changed:
        send_on_commit(
            signals.project_updated,
            sender=Project,
            project=project,
            changed_fields=changed,
            actor=actor,
        )
    return project


def _people(project: Project) -> set[int]:
    return {project.owner_id, *project.members.values_list("pk", flat=True)}


def _access_lost(project: Project, user_ids: set[int], actor: AbstractBaseUser) -> None:
    if user_ids:
        # Inside the transaction: nothing of theirs may act on the project once this commits.
        signals.project_access_lost.send(
            sender=Project, project=project, user_ids=sorted(user_ids), actor=actor
        )


@transaction.atomic
def project_leave(*, project: Project, user: AbstractBaseUser) -> Project:
    """A member leaves; the owner cannot (they transfer or delete the project instead)."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    if project.owner_id == user.pk:
        raise InvalidTransition(
            "The owner cannot leave their project; delete it or make someone else its owner."
        )
    if not project.members.filter(pk=user.pk).exists():
        raise InvalidTransition("You are not a member of this project.")
    project.members.remove(user)
    _access_lost(project, {user.pk}, user)
    send_on_commit(
        signals.project_updated,
        sender=Project,
        project=project,
        changed_fields=["members"],
        actor=user,
    )
    return project


@transaction.atomic
def user_story_create(*, actor: AbstractBaseUser, project: Project, **fields: Any) -> UserStory:
    story = UserStory.objects.create(project=project, created_by=actor, **fields)
    send_on_commit(signals.user_story_created, sender=UserStory, story=story, actor=actor)
    return story
