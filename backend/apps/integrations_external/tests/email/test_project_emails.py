"""Every project email says why it came (the project, its owner) and how to leave and
unsubscribe (issue 11, item 5)."""

from __future__ import annotations

import pytest

from apps.integrations_external import catalog
from apps.integrations_external.pipeline.events import publish
from apps.projects.tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_project_email_names_project_owner_and_links(run_on_commit, smtp_server):
    # given: a member of the project
    owner = UserFactory(username="olivia")
    member = UserFactory(username="max")
    project = ProjectFactory(owner=owner, members=[member], name="Payments")

    with run_on_commit():
        publish(
            "workflow.failed",
            {
                "workflow": {"id": 7, "name": "Deploy"},
                "project": catalog.project_data(project),
                "execution": {"id": 41, "status": "failed"},
            },
            project=project,
        )

    mails = {m.rcpt_tos[0]: m for m in smtp_server.wait_for(2)}
    to_member, to_owner = mails[member.email], mails[owner.email]
    leave = f"https://platform.example.com/api/v1/projects/{project.pk}/leave/"
    for part in (to_member.text, to_member.html):
        assert "member of the project “Payments” (owner: olivia)" in part, part
        assert leave in part
        assert "/email/unsubscribe/" in part
    for part in (to_owner.text, to_owner.html):
        assert "own the project “Payments”" in part
        assert leave not in part  # an owner cannot leave
        assert "/email/unsubscribe/" in part
