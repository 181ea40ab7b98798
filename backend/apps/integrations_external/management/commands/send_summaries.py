"""`manage.py send_summaries --period daily|weekly`: what Celery beat does, by hand."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from apps.integrations_external.email.services import email_queue_summaries


class Command(BaseCommand):
    help = (
        "Send the daily or weekly summary email to everyone who has it on. Each person gets a "
        "period's summary at most once, however often this runs; people with nothing to "
        "report get nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", choices=["daily", "weekly"], required=True)

    def handle(self, *args, period: str, **options) -> None:
        counts = email_queue_summaries(period=period)
        self.stdout.write(
            f"{period} summaries: {counts['queued']} queued, {counts['empty']} with nothing to "
            f"report, {counts['skipped']} already sent or not possible"
        )
