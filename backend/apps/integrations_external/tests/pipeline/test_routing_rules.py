"""The routing rule, held where mutation testing (`make mutation`) found it free to change."""

import pytest
from django.utils import timezone

from apps.integrations_external.github.models import GitHubIntegration
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


def test_targets_for_project_scope_alone_gives_no_access(user, other_user, project):
    # Given endpoints scoped to the project whose owners may not see it: someone removed from
    # the project, and staff whose account is deactivated.
    former_member = other_user
    WebhookEndpointFactory(owner=former_member, project=project)
    deactivated = WebhookEndpointFactory(owner__is_staff=True, project=project)
    deactivated.owner.is_active = False
    deactivated.owner.save()

    # When a project event is routed: nobody's.
    event = _event("workflow.completed", project, user)

    assert routing.targets_for(event, channels.get("webhook")) == []


def test_route_channel_limited_to_some_types_gets_only_those(user, project):
    # Given a GitHub integration that opens issues for new stories (its channel's only type),
    # with its switch for project events on.
    integration = GitHubIntegration.objects.create(
        owner=user,
        project=project,
        repository_owner="acme",
        repository_name="shop",
        access_token="token",
        auto_create_issues=True,
    )

    # When a new story and another project event are routed.
    story = routing.route(_event("user_story.created", project, user))
    update = routing.route(_event("project.updated", project, user))

    # Then only the story reaches it: a project update opens no issue.
    assert [t.pk for t in story.get("github", [])] == [integration.pk]
    assert "github" not in update
