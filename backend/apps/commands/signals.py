"""Domain signals of commands, sent once per transition: to
`<signal>.in_transaction` receivers inside the change's transaction, to the others after it
commits (never on rollback).

command_execution_finished(sender=CommandExecution, execution, actor): succeeded or failed.
"""

from core.signals import DomainSignal

command_execution_finished = DomainSignal()
