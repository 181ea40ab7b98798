"""Commands and their executions over HTTP: exit code decides, output stays bounded."""

import pytest

from apps.commands import services
from apps.commands.models import Command, CommandExecution
from apps.commands.signals import command_execution_finished
from apps.commands.tests.factories import CommandExecutionFactory, CommandFactory
from apps.projects.tests.factories import ProjectFactory
from tests_support.transactions import RolledBack, roll_back

pytestmark = pytest.mark.django_db

COMMANDS = "/api/v1/commands/"
EXECUTIONS = "/api/v1/command-executions/"

# The documented bounds (README, command executions), written out: not the code's constants.
OUTPUT_MAX_CHARS = 64 * 1024  # "The last 64 KiB of output are kept"
MAX_SUBMITTED_OUTPUT = 2 * 1024 * 1024  # "more than 2 MiB is refused (400)"


def complete_url(execution_id) -> str:
    return f"{EXECUTIONS}{execution_id}/complete/"


@pytest.fixture
def finished(record_signal):
    return record_signal(command_execution_finished)


def create_and_execute(client, project) -> dict:
    command = client.post(
        COMMANDS, {"project": project.pk, "name": "Tests", "command_line": "make test"}
    )
    assert command.status_code == 201, command.content
    execution = client.post(f"{COMMANDS}{command.json()['id']}/execute/")
    assert execution.status_code == 201, execution.content
    return execution.json()


def test_given_a_command_when_executed_and_completed_with_exit_0_then_succeeded_and_signalled(
    auth_client, project, user, finished, run_on_commit
):
    execution = create_and_execute(auth_client, project)
    assert execution["status"] == "running"
    assert execution["executed_by"] == user.pk

    with run_on_commit():
        resp = auth_client.post(
            complete_url(execution["id"]), {"exit_code": 0, "output": "42 passed\n"}
        )

    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["status"] == "succeeded"
    assert body["exit_code"] == 0
    assert body["output"] == "42 passed\n"
    assert body["output_truncated"] is False
    assert body["completed_at"] is not None
    assert len(finished) == 1
    assert finished[0]["sender"] is CommandExecution
    assert finished[0]["execution"].pk == execution["id"]
    assert finished[0]["actor"] == user


@pytest.mark.parametrize("exit_code", [1, 2, 127, -9, 255])
def test_given_a_running_execution_when_completed_with_a_non_zero_exit_then_failed(
    auth_client, project, finished, run_on_commit, exit_code
):
    execution = create_and_execute(auth_client, project)

    with run_on_commit():
        resp = auth_client.post(complete_url(execution["id"]), {"exit_code": exit_code})

    assert resp.status_code == 200, resp.content
    assert resp.json()["status"] == "failed"
    assert resp.json()["exit_code"] == exit_code
    assert [c["execution"].status for c in finished] == ["failed"]


def test_given_output_longer_than_the_bound_when_completing_then_the_tail_is_kept_with_a_marker(
    auth_client, project
):
    execution = CommandExecutionFactory(command=CommandFactory(project=project))
    output = "HEAD" + "x" * (OUTPUT_MAX_CHARS + 100) + "THE END"

    resp = auth_client.post(complete_url(execution.pk), {"exit_code": 1, "output": output})

    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["output_truncated"] is True
    assert body["output"].endswith("THE END")
    assert "HEAD" not in body["output"]
    assert body["output"].startswith("[… 111 earlier characters truncated …]\n")
    assert len(body["output"]) < OUTPUT_MAX_CHARS + 100


def test_given_output_exactly_at_the_bound_when_completing_then_kept_whole(auth_client, project):
    execution = CommandExecutionFactory(command=CommandFactory(project=project))
    output = "y" * OUTPUT_MAX_CHARS

    body = auth_client.post(complete_url(execution.pk), {"exit_code": 0, "output": output}).json()

    assert body["output"] == output
    assert body["output_truncated"] is False


def test_given_whitespace_in_output_when_completing_then_it_is_kept(auth_client, project):
    execution = CommandExecutionFactory(command=CommandFactory(project=project))

    body = auth_client.post(
        complete_url(execution.pk), {"exit_code": 0, "output": "  a\n\n"}
    ).json()

    assert body["output"] == "  a\n\n"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "exit_code"),
        ({"exit_code": None}, "exit_code"),
        ({"exit_code": "abc"}, "exit_code"),
        ({"exit_code": "1.5"}, "exit_code"),
        ({"exit_code": 1.5}, "exit_code"),
        ({"exit_code": True}, "exit_code"),
        ({"exit_code": 2**40}, "exit_code"),
        ({"exit_code": -(2**40)}, "exit_code"),
        ({"exit_code": [0]}, "exit_code"),
        ({"exit_code": 0, "output": {"not": "text"}}, "output"),
    ],
)
def test_given_bad_input_when_completing_then_400_with_field_errors_and_still_running(
    auth_client, project, finished, run_on_commit, payload, field
):
    execution = CommandExecutionFactory(command=CommandFactory(project=project))

    with run_on_commit():
        resp = auth_client.post(complete_url(execution.pk), payload)

    assert resp.status_code == 400, resp.content
    assert field in resp.json()
    execution.refresh_from_db()
    assert execution.status == "running"
    assert finished == []


def test_given_output_over_the_submission_limit_when_completing_then_400_not_truncated(
    auth_client, project
):
    execution = CommandExecutionFactory(command=CommandFactory(project=project))

    resp = auth_client.post(
        complete_url(execution.pk), {"exit_code": 0, "output": "z" * (MAX_SUBMITTED_OUTPUT + 1)}
    )

    assert resp.status_code == 400
    assert "output" in resp.json()


def test_given_a_body_over_the_upload_limit_when_completing_then_413_json_not_500(
    auth_client, project, settings
):
    execution = CommandExecutionFactory(command=CommandFactory(project=project))

    resp = auth_client.post(
        complete_url(execution.pk),
        {"exit_code": 0, "output": "z" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)},
    )

    assert resp.status_code == 413
    assert "larger than" in resp.json()["detail"]
    execution.refresh_from_db()
    assert execution.status == "running"


def test_given_a_finished_execution_when_completing_again_then_409_and_one_signal_only(
    auth_client, project, finished, run_on_commit
):
    execution = CommandExecutionFactory(command=CommandFactory(project=project))
    with run_on_commit():
        assert auth_client.post(complete_url(execution.pk), {"exit_code": 0}).status_code == 200

    with run_on_commit():
        again = auth_client.post(complete_url(execution.pk), {"exit_code": 1})

    assert again.status_code == 409
    assert "already finished (succeeded)" in again.json()["detail"]
    assert len(finished) == 1
    execution.refresh_from_db()
    assert (execution.status, execution.exit_code) == ("succeeded", 0)


def test_given_another_users_command_when_reading_or_executing_then_404(auth_client, other_user):
    command = CommandFactory(project=ProjectFactory(owner=other_user))

    assert auth_client.get(f"{COMMANDS}{command.pk}/").status_code == 404
    assert auth_client.post(f"{COMMANDS}{command.pk}/execute/").status_code == 404
    assert auth_client.delete(f"{COMMANDS}{command.pk}/").status_code == 404
    assert not CommandExecution.objects.exists()


def test_given_another_users_execution_when_reading_or_completing_then_404(
    auth_client, other_user, finished, run_on_commit
):
    execution = CommandExecutionFactory(command=CommandFactory(project__owner=other_user))

    assert auth_client.get(f"{EXECUTIONS}{execution.pk}/").status_code == 404
    with run_on_commit():
        resp = auth_client.post(complete_url(execution.pk), {"exit_code": 0})

    assert resp.status_code == 404
    assert finished == []
    assert auth_client.get(EXECUTIONS).json()["count"] == 0


def test_given_a_member_when_running_a_shared_command_then_it_works(client_for, user, other_user):
    command = CommandFactory(project=ProjectFactory(owner=other_user, members=[user]))
    client = client_for(user)

    execution = client.post(f"{COMMANDS}{command.pk}/execute/").json()
    resp = client.post(complete_url(execution["id"]), {"exit_code": 0})

    assert resp.status_code == 200
    assert resp.json()["status"] == "succeeded"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"command_line": ""}, "command_line"),
        ({"name": "x" * 201}, "name"),
        ({"project": None}, "project"),
        ({"project": 999_999}, "project"),
    ],
)
def test_given_bad_input_when_creating_a_command_then_400_with_field_errors(
    auth_client, project, payload, field
):
    resp = auth_client.post(
        COMMANDS, {"project": project.pk, "name": "C", "command_line": "ls", **payload}
    )

    assert resp.status_code == 400, resp.content
    assert field in resp.json()
    assert not Command.objects.exists()


def test_given_a_project_i_cannot_see_when_creating_a_command_then_400_on_project(
    auth_client, other_user
):
    hidden = ProjectFactory(owner=other_user)

    resp = auth_client.post(COMMANDS, {"project": hidden.pk, "name": "C", "command_line": "ls"})

    assert resp.status_code == 400
    assert "project" in resp.json()


def test_given_a_completion_that_rolls_back_then_no_signal(
    project, user, finished, django_capture_on_commit_callbacks
):
    execution = CommandExecutionFactory(command=CommandFactory(project=project))

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RolledBack),
    ):
        roll_back(
            lambda: services.command_execution_complete(
                execution=execution, actor=user, exit_code=0
            )
        )

    assert callbacks == []
    assert finished == []
    execution.refresh_from_db()
    assert execution.status == "running"


def test_given_a_completion_not_yet_committed_then_no_signal_until_commit(
    project, user, finished, django_capture_on_commit_callbacks
):
    execution = CommandExecutionFactory(command=CommandFactory(project=project))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.command_execution_complete(execution=execution, actor=user, exit_code=3)

    assert finished == []
    for callback in callbacks:  # the signal's send, and the event's fan-out (the outbox)
        callback()
    assert [c["execution"].status for c in finished] == ["failed"]


def test_given_bound_output_then_short_output_is_untouched_and_long_output_marked():
    assert services.bound_output("abc", limit=5) == ("abc", False)
    text, cut = services.bound_output("abcdefgh", limit=5)
    assert cut is True
    assert text == "[… 3 earlier characters truncated …]\ndefgh"
