"""Domain signals of workflows, sent once and only after the change commits.

workflow_execution_finished(sender=WorkflowExecution, execution, actor): completed or failed.
"""

from django.dispatch import Signal

workflow_execution_finished = Signal()
