"""Command execution state machine: running → succeeded (exit 0) | failed (any other code)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from apps.commands import signals
from apps.commands.models import OUTPUT_CUT_LINE, OUTPUT_MAX_CHARS, Command, CommandExecution
from core.api.exceptions import InvalidTransition
from core.signals import send_on_commit

Status = CommandExecution.Status


def bound_output(output: str, limit: int = OUTPUT_MAX_CHARS) -> tuple[str, bool]:
    """Keep the last `limit` characters, with a visible marker when something was cut."""
    if len(output) <= limit:
        return output, False
    cut = len(output) - limit
    return OUTPUT_CUT_LINE.format(cut=cut) + output[-limit:], True


@transaction.atomic
def command_execute(*, command: Command, actor: AbstractBaseUser | None) -> CommandExecution:
    return CommandExecution.objects.create(
        command=command, status=Status.RUNNING, executed_by=actor, started_at=timezone.now()
    )


@transaction.atomic
def command_execution_complete(
    *, execution: CommandExecution, actor: AbstractBaseUser | None, exit_code: int, output: str = ""
) -> CommandExecution:
    locked = CommandExecution.objects.select_for_update().get(pk=execution.pk)
    if locked.is_finished:
        raise InvalidTransition(f"This execution already finished ({locked.status}).")
    now = timezone.now()
    locked.exit_code = exit_code
    locked.status = Status.SUCCEEDED if exit_code == 0 else Status.FAILED
    locked.output, locked.output_truncated = bound_output(output)
    locked.completed_at = now
    locked.duration = now - (locked.started_at or locked.created_at)
    locked.save()
    send_on_commit(
        signals.command_execution_finished, sender=CommandExecution, execution=locked, actor=actor
    )
    return locked
