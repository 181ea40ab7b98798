"""Who sees which events, and the summary of their deliveries (read side of the events API).

Events are visible to whoever can see their project; project-less events to their publisher;
staff see every event. A delivery summary counts only deliveries to the caller's own targets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet

from apps.integrations_external.pipeline import channels
from apps.integrations_external.pipeline.models import Event
from apps.projects.selectors import projects_visible_to


def events_visible_to(user: User) -> QuerySet[Event]:
    if not user.is_authenticated:
        return Event.objects.none()
    if user.is_staff:
        return Event.objects.all()
    return Event.objects.filter(
        Q(project__in=projects_visible_to(user)) | Q(project__isnull=True, actor=user)
    )


def _own_deliveries_q(channel: channels.Channel, user: User) -> Q:
    """Deliveries of `channel` that went to `user`'s own targets."""
    model = channel.delivery_model
    target_model = model._meta.get_field(model.target_field).related_model
    if target_model is type(user):  # the target is the person (email)
        return Q(**{model.target_field: user})
    return Q(**{f"{model.target_field}__{channel.owner_path}": user})


def delivery_summaries(events: Iterable[Event], user: User) -> dict[str, dict]:
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
