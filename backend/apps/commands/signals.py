"""Domain signals of commands, sent once and only after the change commits.

command_execution_finished(sender=CommandExecution, execution, actor): succeeded or failed.
"""

from django.dispatch import Signal

command_execution_finished = Signal()
