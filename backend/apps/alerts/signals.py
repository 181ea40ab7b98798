"""Domain signals of alerts, sent once per transition: to
`<signal>.in_transaction` receivers inside the change's transaction, to the others after it
commits (never on rollback).

system_alert_raised(sender=SystemAlert, alert, actor)
"""

from core.signals import DomainSignal

system_alert_raised = DomainSignal()
