"""Domain signals of alerts, sent once and only after the change commits.

system_alert_raised(sender=SystemAlert, alert, actor)
"""

from django.dispatch import Signal

system_alert_raised = Signal()
