"""The routing rule, held where mutation testing (`make mutation`) found it free to change."""

import pytest
from django.utils import timezone

from apps.integrations_external.models import Event
from apps.integrations_external.pipeline import channels, routing
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def _event(event_type, project=None, actor=None) -> Event:
    return Event.objects.create(
        type=event_type, occurred_at=timezone.now(), project=project, actor=actor
    )


def test_targets_for_staff_endpoint_scoped_to_a_project_receives_its_events(
    user, staff_user, project
):
    # Given staff, not a member of the project, with an endpoint scoped to it (staff may add
    # integrations to any project), and one not scoped, and one scoped to another project.
    scoped = WebhookEndpointFactory(owner=staff_user, project=project)
    WebhookEndpointFactory(owner=staff_user)
    WebhookEndpointFactory(owner=staff_user, project=ProjectFactory(owner=user))

    # When a project event is routed.
    targets = routing.targets_for(
        _event("workflow.completed", project, user), channels.get("webhook")
    )

    # Then only the scoped one (and the owner's nothing: they have no endpoint) receives it.
    assert [t.pk for t in targets] == [scoped.pk]


def test_targets_for_category_without_a_switch_reaches_nobody(user, project):
    # GitHub issues have a switch for project events only; a channel of that model routed
    # every type (no `event_types`) still never sends a workflow event to it.
    class EveryType(type(channels.get("github"))):
        event_types = None

    event = _event("workflow.completed", project, user)

    assert routing.targets_for(event, EveryType()) == []
