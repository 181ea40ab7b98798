"""The one routing rule, for webhooks, Slack integrations and email settings."""

import pytest
from django.utils import timezone

from apps.integrations_external.models import EmailNotificationSettings, Event, SlackIntegration
from apps.integrations_external.pipeline import routing
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.projects.tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def _event(event_type, project=None, actor=None) -> Event:
    return Event.objects.create(
        type=event_type, occurred_at=timezone.now(), project=project, actor=actor
    )


def _webhooks(event) -> set[int]:
    return {t.pk for t in routing.route(event).get("webhook", [])}


def test_route_workflow_event_to_active_visible_in_scope(user, other_user, project):
    # then: only active endpoints, switched on for it, visible, and in scope
    member = UserFactory()
    project.members.add(member)
    elsewhere = ProjectFactory(owner=user)
    wanted = [
        WebhookEndpointFactory(owner=user),
        WebhookEndpointFactory(owner=user, project=project),
        WebhookEndpointFactory(owner=member),
    ]
    WebhookEndpointFactory(owner=user, is_active=False)
    WebhookEndpointFactory(owner=user, trigger_workflow_completion=False)
    WebhookEndpointFactory(owner=user, project=elsewhere)
    WebhookEndpointFactory(owner=other_user)  # cannot see the project

    assert _webhooks(_event("workflow.completed", project, user)) == {e.pk for e in wanted}


def test_route_alert_to_staff_only(user, staff_user):
    staff_endpoint = WebhookEndpointFactory(owner=staff_user, trigger_system_alert=True)
    WebhookEndpointFactory(owner=user, trigger_system_alert=True)
    WebhookEndpointFactory(owner=staff_user, trigger_system_alert=False)

    assert _webhooks(_event("system.alert")) == {staff_endpoint.pk}


def test_route_projectless_custom_event_to_publisher_only(user, other_user):
    mine = WebhookEndpointFactory(owner=user, custom_events=["deploy.finished"])
    star = WebhookEndpointFactory(owner=user, custom_events=["*"])
    WebhookEndpointFactory(owner=user, custom_events=["other.thing"])
    WebhookEndpointFactory(owner=other_user, custom_events=["*"])

    assert _webhooks(_event("deploy.finished", actor=user)) == {mine.pk, star.pk}


def test_route_test_event_to_nobody(user, project):
    WebhookEndpointFactory(owner=user)

    assert routing.route(_event("webhook.test", project, user)) == {}


def test_route_slack_integrations_by_the_same_rule(user, other_user, project):
    def slack(owner, **kwargs):
        return SlackIntegration.objects.create(
            owner=owner, channel_id="C1", bot_token="xoxb-test", **kwargs
        )

    wanted = slack(user)
    slack(user, is_active=False)
    slack(user, notify_workflow_completion=False)
    slack(user, project=ProjectFactory(owner=user))
    slack(other_user)

    plan = routing.route(_event("workflow.completed", project, user))

    assert {t.pk for t in plan.get("slack", [])} == {wanted.pk}


def test_route_email_by_switches_and_visibility(user, other_user, staff_user, project):
    member = UserFactory()
    project.members.add(member)
    EmailNotificationSettings.objects.create(user=member, workflow_completion=False)

    plan = routing.route(_event("workflow.completed", project, user))
    alert_plan = routing.route(_event("system.alert"))

    assert {s.user_id for s in plan.get("email", [])} == {user.pk}
    assert {s.user_id for s in alert_plan.get("email", [])} == {staff_user.pk}
