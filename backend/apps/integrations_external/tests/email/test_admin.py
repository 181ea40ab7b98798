"""The admin pages of the email integration render for staff."""

from __future__ import annotations

import pytest

from apps.integrations_external.models import EmailDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    return client


def test_admin_history_and_delivery_with_attempts_render(
    admin_client_, user, project, run_on_commit, smtp_server
):
    # given: mail already sent
    from apps.integrations_external.pipeline.events import publish

    smtp_server.refuse(user.email, "550 5.1.1 No such user")
    with run_on_commit():
        publish("workflow.failed", {"workflow": {"name": "Deploy"}}, project=project)
    delivery = EmailDelivery.objects.get(recipient=user)

    listing = admin_client_.get("/admin/integrations_external/emaildelivery/")
    page = admin_client_.get(f"/admin/integrations_external/emaildelivery/{delivery.pk}/change/")

    assert listing.status_code == 200
    assert user.email.encode() in listing.content
    assert page.status_code == 200
    assert b"No such user" in page.content


@pytest.mark.parametrize("model", ["emailnotificationsettings", "sentsummary"])
def test_admin_settings_and_summary_lists_render_for_staff(admin_client_, user, model):
    from apps.integrations_external.email.services import settings_for

    settings_for(user)

    assert admin_client_.get(f"/admin/integrations_external/{model}/").status_code == 200


def test_admin_resend_of_a_failed_email_arrives(
    admin_client_, user, project, run_on_commit, smtp_server
):
    from apps.integrations_external.pipeline.events import publish

    smtp_server.refuse(user.email, "550 5.1.1 No such user")
    with run_on_commit():
        publish("workflow.failed", {"workflow": {"name": "Deploy"}}, project=project)
    delivery = EmailDelivery.objects.get(recipient=user)
    smtp_server.rcpt_replies.clear()

    with run_on_commit():
        admin_client_.post(
            "/admin/integrations_external/emaildelivery/",
            {"action": "resend", "_selected_action": [delivery.pk]},
        )

    delivery.refresh_from_db()
    assert delivery.status == "success"
    assert len(smtp_server.wait_for(1)) == 1
