"""Who receives what: one rule for every channel.

A target (webhook endpoint, Slack integration, a person's email settings) receives an event when
  - it is active and its switch for the event's category is on (custom types: subscribed by name);
  - its owner may see the event's project (owner or member), and its own project scope, if
    any, is that project (membership is read here, at routing: someone removed from a project
    stops receiving its events at once); a target scoped to the event's project may also be
    owned by staff, who may add integrations to any project (docs/permissions.md);
  - system alerts: only targets owned by staff;
  - events without a project (custom ones): only the publisher's own targets.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from apps.integrations_external import catalog
from apps.integrations_external.pipeline import compiled
from apps.integrations_external.pipeline.channels import Channel, all_channels
from apps.integrations_external.pipeline.models import Event

# Every query here runs through `compiled.fetch`: built and compiled once per shape (the
# channel, the event's category and kind, the project's head count), then run with each
# event's ids. Compiling them was most of routing's cost (docs/delivery.md).


def project_people(project: Any) -> list[int]:
    """The users who may see `project`: its owner and members."""
    members = compiled.fetch(
        "project-members",
        lambda v: (
            get_user_model()
            .objects.filter(member_projects=v["project"])
            .order_by()
            .values_list("pk", flat=True)
        ),
        {"project": project.pk},
    )
    return [project.owner_id, *members]


def _people(event: Event) -> list[int] | None:
    """`project_people` of the event's project where the rule reads them (not system alerts)."""
    if event.project is None or event.type == "system.alert":
        return None
    return project_people(event.project)


def _kind(event: Event) -> str | None:
    """Which of the rule's cases an event is: whose targets `owner_q` lets it reach."""
    if event.type == "system.alert":
        return "alert"
    if event.project_id is not None:
        return "project"
    if event.actor_id is not None:
        return "actor"
    return None


def _owners(kind: str, owner_path: str, v: compiled.Values) -> Q:
    active = Q(**{f"{owner_path}__is_active": True})
    if kind == "alert":
        return active & Q(**{f"{owner_path}__is_staff": True})
    if kind == "project":
        return active & Q(**{f"{owner_path}__pk__in": v["people"]})
    return active & Q(**{f"{owner_path}__pk": v["actor"]})


def owner_q(event: Event, owner_path: str, people: list[int] | None = None) -> Q | None:
    """Whose targets may receive `event`; None means nobody's. `people`: the event project's
    `project_people`, when the caller read them already (once per event, not per channel)."""
    kind = _kind(event)
    if kind is None:
        return None
    if kind == "project" and people is None:
        people = project_people(event.project)
    return _owners(kind, owner_path, {"people": people, "actor": event.actor_id})


def _switch_q(channel: Channel, model: type, category: str) -> Q | None:
    """The condition on the target's event switch; None: this category never reaches it."""
    if category == catalog.CUSTOM:
        return Q() if channel.custom_events else None
    switch = getattr(model, "EVENT_SWITCHES", {}).get(category)
    return None if switch is None else Q(**{switch: True})


def _candidates(channel: Channel, kind: str, v: compiled.Values) -> QuerySet[Any]:
    """A superset of the targets `owner_q` allows, on the target's own indexed columns (no
    join, no ordering), at most one row: its EXISTS is a fraction of the routing query's cost,
    so a channel nobody concerned uses costs next to nothing."""
    if kind == "project":
        candidates = Q(**{f"{channel.owner_path}__in": v["people"]})
        if channel.project_scoped:  # staff may add targets scoped to any project
            candidates |= Q(project_id=v["project"])
    else:
        candidates = Q(**{channel.owner_path: v["actor"]})
    return channel.targets().filter(candidates).order_by().values_list("pk", flat=True)[:1]


def _targets(
    channel: Channel, kind: str, switch_q: Q, with_project: bool, v: compiled.Values
) -> QuerySet[Any]:
    query = channel.targets()
    owners = _owners(kind, channel.owner_path, v)
    if channel.project_scoped and kind == "project":
        staff = {f"{channel.owner_path}__is_staff": True, f"{channel.owner_path}__is_active": True}
        owners |= Q(project_id=v["project"], **staff)
    conditions = [owners, switch_q]
    if hasattr(query.model, "is_active"):
        conditions.append(Q(is_active=True))
    if channel.project_scoped:
        scope = Q(project__isnull=True)
        if with_project:
            scope |= Q(project_id=v["project"])
        conditions.append(scope)
    # One filter() call: each call clones and re-resolves the query.
    return query.filter(*conditions)


def targets_for(event: Event, channel: Channel, people: list[int] | None = None) -> list[Any]:
    category = catalog.category_of(event.type)
    if category == catalog.TEST:
        return []  # tests are addressed to one target explicitly, never routed
    kind = _kind(event)
    switch_q = _switch_q(channel, channel.targets().model, category)
    if kind is None or switch_q is None:
        return []
    if kind == "project" and people is None:
        people = project_people(event.project)
    values: dict[str, Any] = {}
    if kind == "project":
        values["people"] = people
    if kind == "actor":
        values["actor"] = event.actor_id
    with_project = event.project_id is not None
    if with_project and channel.project_scoped:  # only what the queries read (compiled.fetch)
        values["project"] = event.project_id
    shape = (channel.name, category, kind, with_project)
    # System alerts reach any staff member's target: no cheaper test than the query itself.
    if kind != "alert" and not compiled.fetch(
        ("candidates", *shape), lambda v: _candidates(channel, kind, v), values
    ):
        return []
    targets = compiled.fetch(
        ("targets", *shape), lambda v: _targets(channel, kind, switch_q, with_project, v), values
    )
    if category == catalog.CUSTOM:
        targets = [t for t in targets if channel.accepts_custom(t, event.type)]
    return targets


def route(event: Event) -> dict[str, list[Any]]:
    plan: dict[str, list[Any]] = {}
    people = _people(event)  # once per event, not once per channel
    for channel in all_channels():
        if channel.event_types is not None and event.type not in channel.event_types:
            continue
        channel.prepare(event, people=people)
        targets = targets_for(event, channel, people)
        if targets:
            plan[channel.name] = targets
    return plan
