"""Celery tasks of the email integration."""

from __future__ import annotations

from celery import shared_task

from apps.integrations_external.email.services import email_queue_summaries


@shared_task(name="integrations.email.send_summaries", ignore_result=True)
def send_summaries(period: str) -> dict[str, int]:
    """Claim and queue every due daily/weekly summary. Safe to run any number of times: each
    person's summary for a period is claimed once (SentSummary) before it is sent."""
    return email_queue_summaries(period=period)
