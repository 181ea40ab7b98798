"""Who sees which webhooks, deliveries and events (read-side queries of the API).

Integrations follow permissions.py (docs/permissions.md): a project-scoped one is read by whoever
can see its project, an unscoped one by its creator only. Events are visible to whoever can see
their project; project-less events to their publisher; staff see every event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet

from apps.integrations_external.delivery import channels
from apps.integrations_external.models import (
    Event,
    SlackIntegration,
    WebhookDelivery,
    WebhookEndpoint,
)
from apps.integrations_external.models.github import GitHubIntegration
from apps.integrations_external.permissions import readable_q
from apps.projects.selectors import projects_visible_to, user_can_see_project


def webhook_endpoints_of(user: AbstractBaseUser) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(readable_q(user)).select_related("project")


def webhook_deliveries_of(user: AbstractBaseUser) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(readable_q(user, "endpoint__")).select_related(
        "endpoint", "endpoint__project"
    )


def slack_integrations_of(user: AbstractBaseUser) -> QuerySet[SlackIntegration]:
    return SlackIntegration.objects.filter(readable_q(user)).select_related("project")


def github_integrations_of(user: AbstractBaseUser) -> QuerySet[GitHubIntegration]:
    return GitHubIntegration.objects.filter(readable_q(user)).select_related("project")


def events_visible_to(user: AbstractBaseUser) -> QuerySet[Event]:
    if not user.is_authenticated:
        return Event.objects.none()
    if user.is_staff:
        return Event.objects.all()
    return Event.objects.filter(
        Q(project__in=projects_visible_to(user)) | Q(project__isnull=True, actor=user)
    )


def _own_deliveries_q(channel: channels.Channel, user: AbstractBaseUser) -> Q:
    """Deliveries of `channel` that went to `user`'s own targets."""
    model = channel.delivery_model
    target_model = model._meta.get_field(model.target_field).related_model
    if target_model is type(user):  # the target is the person (email)
        return Q(**{model.target_field: user})
    return Q(**{f"{model.target_field}__{channel.owner_path}": user})


def delivery_summaries(events: Iterable[Event], user: AbstractBaseUser) -> dict[str, dict]:
    """{event id: {channel: {status: count}}}: the deliveries to the caller's own targets
    (every delivery for staff), so an event's summary never reveals other people's targets."""
    ids = [e.pk for e in events]
    summary: dict[str, dict] = {i: {} for i in ids}
    if not ids:
        return summary
    for channel in channels.all_channels():
        rows = channel.delivery_model.objects.filter(event_id__in=ids)
        if not user.is_staff:
            rows = rows.filter(_own_deliveries_q(channel, user))
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for row in rows.values("event_id", "status").annotate(n=Count("pk")).order_by():
            counts[row["event_id"]][row["status"]] = row["n"]
        for event_id, by_status in counts.items():
            summary[event_id][channel.name] = by_status
    return summary


def github_integration_acts_for_project(integration: GitHubIntegration) -> bool:
    """Whether the integration may still act on its project (create issues, link pull requests
    to stories, publish into it, show story titles): only while its owner is an active user who
    is staff, the project's owner or a member. Checked at each use, so leaving a project stops
    everything of theirs at once."""
    return user_can_see_project(integration.owner, integration.project)
