"""Domain signals of workflows, sent once per transition: to
`<signal>.in_transaction` receivers inside the change's transaction, to the others after it
commits (never on rollback).

workflow_execution_finished(sender=WorkflowExecution, execution, actor): completed or failed.
"""

from core.signals import DomainSignal

workflow_execution_finished = DomainSignal()
