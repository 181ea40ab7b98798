"""What happens to integrations when people lose access to a project, or are switched by hand."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone

from apps.integrations_external.github.models import GitHubIntegration
from apps.integrations_external.pipeline import channels
from apps.integrations_external.pipeline.models import OPEN_STATUSES, DeliveryStatus
from apps.projects.models import Project
from apps.projects.selectors import user_can_see_project

logger = logging.getLogger(__name__)


def scoped_models() -> list[type[models.Model]]:
    """Every kind of integration that lives in a project: the targets of each project-scoped
    channel (so a new channel is covered without a line here), and GitHub's."""
    targets = [
        channel.targets().model for channel in channels.all_channels() if channel.project_scoped
    ]
    return list(dict.fromkeys([*targets, GitHubIntegration]))


def open_delivery_lookups() -> list[tuple[type[models.Model], str]]:
    """Each project-scoped channel's deliveries and the lookup from one to its target's owner:
    open deliveries to a person's targets about a project they left are not sent any more."""
    return [
        (
            channel.delivery_model,
            f"{channel.delivery_model.target_field}__{channel.owner_path}_id__in",
        )
        for channel in channels.all_channels()
        if channel.project_scoped
    ]


def lost_access_reason(username: str, project_name: str) -> str:
    return (
        f"Turned off: its creator {username} is no longer a member of the project "
        f"“{project_name}”, so it no longer acts on it."
    )


@transaction.atomic
def integrations_stop_for_lost_access(*, project: Project, user_ids: Iterable[int]) -> int:
    """Turn off the integrations `user_ids` created in `project` (with a reason its owner sees)
    and end their open deliveries about it. People who still see the project (staff) keep
    theirs. Returns how many integrations were turned off. Safe to run twice."""
    users = [u for u in get_user_model().objects.filter(pk__in=list(user_ids))]
    gone = [u for u in users if not user_can_see_project(u, project)]
    if not gone:
        return 0
    now = timezone.now()
    turned_off = 0
    for user in gone:
        reason = lost_access_reason(user.get_username(), project.name)
        for model in scoped_models():
            turned_off += model._default_manager.filter(
                project=project, owner=user, is_active=True
            ).update(is_active=False, disabled_at=now, disabled_reason=reason)
    ids = [u.pk for u in gone]
    for model, owner_lookup in open_delivery_lookups():
        model._default_manager.filter(
            status__in=OPEN_STATUSES, event__project=project, **{owner_lookup: ids}
        ).update(
            status=DeliveryStatus.FAILED,
            next_attempt_at=None,
            completed_at=now,
            error_message="Not sent: its target's creator is no longer a member of the project.",
        )
    if turned_off:
        logger.info(
            "project %s: %s integration(s) turned off, users %s lost access",
            project.pk,
            turned_off,
            ids,
        )
    return turned_off


def activation_fields(instance: Any, attrs: dict[str, Any]) -> dict[str, Any]:
    """The bookkeeping of a change of `is_active` by hand (Slack, GitHub): turning one on
    clears why it was off; turning one off records that it was done by hand."""
    if "is_active" not in attrs or attrs["is_active"] == instance.is_active:
        return {}
    if attrs["is_active"]:
        return {"disabled_at": None, "disabled_reason": ""}
    return {"disabled_at": timezone.now(), "disabled_reason": "Turned off by hand."}
