from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from apps.alerts import signals
from apps.alerts.models import SystemAlert
from core.signals import send_on_commit


@transaction.atomic
def system_alert_raise(
    *,
    title: str,
    message: str = "",
    severity: str = SystemAlert.Severity.INFO,
    source: str = "",
    actor: AbstractBaseUser | None = None,
) -> SystemAlert:
    """Record an alert. Other apps (e.g. webhook auto-disable) raise alerts through this too."""
    alert = SystemAlert.objects.create(
        title=title[:300], message=message, severity=severity, source=source[:200], created_by=actor
    )
    send_on_commit(signals.system_alert_raised, sender=SystemAlert, alert=alert, actor=actor)
    return alert
