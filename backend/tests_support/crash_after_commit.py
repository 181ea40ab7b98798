"""A platform action whose process dies right after its commit, before any after-commit hook.

`python -m tests_support.crash_after_commit EXECUTION_ID USER_ID` (on the test database, from
a test) completes the workflow execution through its service and exits with `CRASHED` from an
on_commit callback registered before the action's own: the transaction is committed, but the
domain signal's send and the fan-out's enqueue never run. The outbox must survive this.
"""

from __future__ import annotations

import os
import sys

CRASHED = 75


def complete_then_crash(execution_id: int, user_id: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from apps.workflows.models import WorkflowExecution
    from apps.workflows.services import workflow_execution_complete

    execution = WorkflowExecution.objects.get(pk=execution_id)
    actor = get_user_model().objects.get(pk=user_id)
    with transaction.atomic():
        # Callbacks run in the order they were registered: this one first, right after COMMIT.
        transaction.on_commit(lambda: os._exit(CRASHED))
        workflow_execution_complete(execution=execution, actor=actor, result={"crash": True})


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings.test")
    django.setup()
    complete_then_crash(int(sys.argv[1]), int(sys.argv[2]))
    sys.exit("the process should have died after the commit")
