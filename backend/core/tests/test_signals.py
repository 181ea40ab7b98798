"""Domain signals: in-transaction receivers are part of the action; the others run after commit."""

import pytest

from apps.alerts.models import SystemAlert
from apps.alerts.services import system_alert_raise
from apps.alerts.signals import system_alert_raised

pytestmark = pytest.mark.django_db


def test_signals_in_transaction_receivers_run_before_on_commit(
    record_signal, django_capture_on_commit_callbacks
):
    inside = record_signal(system_alert_raised.in_transaction)
    after = record_signal(system_alert_raised)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alert = system_alert_raise(title="Disk full")
        assert [c["alert"] for c in inside] == [alert]

    assert after == []
    for callback in callbacks:
        callback()
    assert [c["alert"] for c in after] == [alert]
    assert len(inside) == 1


def test_signals_raising_in_transaction_receiver_rolls_back(record_signal, run_on_commit):
    after = record_signal(system_alert_raised)

    def cannot_record(sender, **kwargs):
        raise RuntimeError("outbox write failed")

    system_alert_raised.in_transaction.connect(cannot_record, weak=False)
    try:
        with run_on_commit(), pytest.raises(RuntimeError, match="outbox write failed"):
            system_alert_raise(title="Disk full")
    finally:
        system_alert_raised.in_transaction.disconnect(cannot_record)

    # Never committed without its event, and nobody is told about it.
    assert not SystemAlert.objects.exists()
    assert after == []
