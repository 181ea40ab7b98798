"""`manage.py integrations_status`: the delivery backlog per channel, and what is broken."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from apps.integrations_external.monitoring import selectors


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


class Command(BaseCommand):
    help = (
        "Print, per channel, the deliveries due, in flight and failed in the last hour and how "
        "long the oldest due one has waited; then the failing or disabled webhook endpoints and "
        "the unhealthy integrations."
    )

    def handle(self, *args, **options) -> None:
        out = self.stdout
        out.write(
            f"{'channel':<10} {'due':>8} {'in flight':>10} {'failed 1h':>10} {'oldest due':>11}"
        )
        for b in selectors.backlogs():
            out.write(
                f"{b.channel:<10} {b.due:>8} {b.in_flight:>10} {b.failed_last_hour:>10} "
                f"{_age(b.oldest_due_age_seconds):>11}"
            )
        problems = selectors.problems()
        out.write("")
        if not problems:
            out.write("No failing endpoints or unhealthy integrations.")
            return
        out.write("Failing endpoints and unhealthy integrations:")
        for p in problems:
            since = f" since {p.since:%Y-%m-%d %H:%M} UTC" if p.since else ""
            out.write(f"  {p.kind} #{p.id} {p.name}: {p.reason}{since}")
