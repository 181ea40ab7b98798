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

from django.db.models import Q

from apps.integrations_external import catalog
from apps.integrations_external.pipeline.channels import Channel, all_channels
from apps.integrations_external.pipeline.models import Event


def project_people(project: Any) -> list[int]:
    """The users who may see `project`: its owner and members."""
    return [project.owner_id, *project.members.values_list("pk", flat=True)]


def _people(event: Event) -> list[int] | None:
    """`project_people` of the event's project where the rule reads them (not system alerts)."""
    if event.project is None or event.type == "system.alert":
        return None
    return project_people(event.project)


def owner_q(event: Event, owner_path: str, people: list[int] | None = None) -> Q | None:
    """Whose targets may receive `event`; None means nobody's. `people`: the event project's
    `project_people`, when the caller read them already (once per event, not per channel)."""
    active = Q(**{f"{owner_path}__is_active": True})
    if event.type == "system.alert":
        return active & Q(**{f"{owner_path}__is_staff": True})
    if event.project is not None:
        if people is None:
            people = project_people(event.project)
        return active & Q(**{f"{owner_path}__pk__in": people})
    if event.actor_id is not None:
        return active & Q(**{f"{owner_path}__pk": event.actor_id})
    return None


def _switch_q(channel: Channel, model: type, category: str) -> Q | None:
    """The condition on the target's event switch; None: this category never reaches it."""
    if category == catalog.CUSTOM:
        return Q() if channel.custom_events else None
    switch = getattr(model, "EVENT_SWITCHES", {}).get(category)
    return None if switch is None else Q(**{switch: True})


def _nobody_concerned(event: Event, channel: Channel, query: Any, people: list[int] | None) -> bool:
    """Whether no target of this kind belongs to anyone `event` may reach: one EXISTS on the
    target's own indexed columns (no join, no ordering, no rows loaded), a fraction of the
    routing query's cost, so a channel nobody concerned uses costs next to nothing. It checks
    a superset of what `owner_q` allows: False decides nothing."""
    if event.type == "system.alert":
        return False  # any staff member's target: no cheaper test than the query itself
    if event.project is not None:
        candidates = Q(**{f"{channel.owner_path}__in": people or []})
        if channel.project_scoped:  # staff may add targets scoped to any project
            candidates |= Q(project_id=event.project_id)
    elif event.actor_id is not None:
        candidates = Q(**{channel.owner_path: event.actor_id})
    else:
        return True
    return not query.filter(candidates).exists()


def targets_for(event: Event, channel: Channel, people: list[int] | None = None) -> list[Any]:
    category = catalog.category_of(event.type)
    if category == catalog.TEST:
        return []  # tests are addressed to one target explicitly, never routed
    if people is None:
        people = _people(event)
    owners = owner_q(event, channel.owner_path, people)
    if owners is None:
        return []
    if channel.project_scoped and event.project_id is not None and event.type != "system.alert":
        staff = {f"{channel.owner_path}__is_staff": True, f"{channel.owner_path}__is_active": True}
        owners |= Q(project_id=event.project_id, **staff)
    query = channel.targets()
    switch_q = _switch_q(channel, query.model, category)
    if switch_q is None or _nobody_concerned(event, channel, query, people):
        return []
    conditions = [owners, switch_q]
    if hasattr(query.model, "is_active"):
        conditions.append(Q(is_active=True))
    if channel.project_scoped:
        scope = Q(project__isnull=True)
        if event.project_id is not None:
            scope |= Q(project_id=event.project_id)
        conditions.append(scope)
    # One filter() call: each call clones and re-resolves the query.
    targets = list(query.filter(*conditions))
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
