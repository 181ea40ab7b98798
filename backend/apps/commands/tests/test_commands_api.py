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


def test_commands_api_complete_exit_0_succeeds_and_signals(
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
def test_commands_api_complete_non_zero_exit_fails(
    auth_client, project, finished, run_on_commit, exit_code
):
    execution = create_and_execute(auth_client, project)

    with run_on_commit():
        resp = auth_client.post(complete_url(execution["id"]), {"exit_code": exit_code})

    assert resp.status_code == 200, resp.content
    assert resp.json()["status"] == "failed"
    assert resp.json()["exit_code"] == exit_code
    assert [c["execution"].status for c in finished] == ["failed"]


def test_commands_api_complete_long_output_keeps_tail_marked(auth_client, project):
    # given: output longer than the bound
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


def test_commands_api_complete_output_at_bound_kept_whole(auth_client, project):
    execution = CommandExecutionFactory(command=CommandFactory(project=project))
    output = "y" * OUTPUT_MAX_CHARS

    body = auth_client.post(complete_url(execution.pk), {"exit_code": 0, "output": output}).json()

    assert body["output"] == output
    assert body["output_truncated"] is False


def test_commands_api_complete_keeps_whitespace(auth_client, project):
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
def test_commands_api_complete_bad_input_400_still_running(
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


def test_commands_api_complete_output_over_limit_400(auth_client, project):
    # then: refused, not truncated
    execution = CommandExecutionFactory(command=CommandFactory(project=project))

    resp = auth_client.post(
        complete_url(execution.pk), {"exit_code": 0, "output": "z" * (MAX_SUBMITTED_OUTPUT + 1)}
    )

    assert resp.status_code == 400
    assert "output" in resp.json()


def test_commands_api_complete_body_over_upload_limit_413(auth_client, project, settings):
    # then: a JSON 413, not a 500
    execution = CommandExecutionFactory(command=CommandFactory(project=project))

    resp = auth_client.post(
        complete_url(execution.pk),
        {"exit_code": 0, "output": "z" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)},
    )

    assert resp.status_code == 413
    assert "larger than" in resp.json()["detail"]
    execution.refresh_from_db()
    assert execution.status == "running"


def test_commands_api_complete_twice_409_one_signal(auth_client, project, finished, run_on_commit):
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


def test_commands_api_other_users_command_404(auth_client, other_user):
    command = CommandFactory(project=ProjectFactory(owner=other_user))

    assert auth_client.get(f"{COMMANDS}{command.pk}/").status_code == 404
    assert auth_client.post(f"{COMMANDS}{command.pk}/execute/").status_code == 404
    assert auth_client.delete(f"{COMMANDS}{command.pk}/").status_code == 404
    assert not CommandExecution.objects.exists()


def test_commands_api_other_users_execution_404(auth_client, other_user, finished, run_on_commit):
    execution = CommandExecutionFactory(command=CommandFactory(project__owner=other_user))

    assert auth_client.get(f"{EXECUTIONS}{execution.pk}/").status_code == 404
    with run_on_commit():
        resp = auth_client.post(complete_url(execution.pk), {"exit_code": 0})

    assert resp.status_code == 404
    assert finished == []
    assert auth_client.get(EXECUTIONS).json()["count"] == 0


def test_commands_api_member_runs_shared_command(client_for, user, other_user):
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
def test_commands_api_create_bad_input_400_field_errors(auth_client, project, payload, field):
    resp = auth_client.post(
        COMMANDS, {"project": project.pk, "name": "C", "command_line": "ls", **payload}
    )

    assert resp.status_code == 400, resp.content
    assert field in resp.json()
    assert not Command.objects.exists()


def test_commands_api_create_in_invisible_project_400(auth_client, other_user):
    hidden = ProjectFactory(owner=other_user)

    resp = auth_client.post(COMMANDS, {"project": hidden.pk, "name": "C", "command_line": "ls"})

    assert resp.status_code == 400
    assert "project" in resp.json()


def test_command_execution_complete_rolled_back_no_signal(
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


def test_command_execution_complete_signals_on_commit_only(
    project, user, finished, django_capture_on_commit_callbacks
):
    execution = CommandExecutionFactory(command=CommandFactory(project=project))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.command_execution_complete(execution=execution, actor=user, exit_code=3)

    assert finished == []
    for callback in callbacks:  # the signal's send, and the event's fan-out (the outbox)
        callback()
    assert [c["execution"].status for c in finished] == ["failed"]


def test_bound_output_marks_long_output_only():
    assert services.bound_output("abc", limit=5) == ("abc", False)
    text, cut = services.bound_output("abcdefgh", limit=5)
    assert cut is True
    assert text == "[… 3 earlier characters truncated …]\ndefgh"
