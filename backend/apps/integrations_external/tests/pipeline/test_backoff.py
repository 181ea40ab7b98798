from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from apps.integrations_external.http import retry_after
from apps.integrations_external.pipeline import backoff


@pytest.mark.parametrize(
    ("retry", "expected"),
    [(1, 5), (2, 20), (3, 80), (4, 320), (5, 1280), (6, 5120), (7, 20480), (8, 36000), (12, 36000)],
)
def test_retry_delay_grows_fourfold_capped(settings, retry, expected):
    # then: base × 4^(n-1), capped
    settings.WEBHOOK_RETRY_BASE_SECONDS = 5
    settings.WEBHOOK_RETRY_MAX_SECONDS = 36000

    assert backoff.retry_delay(retry, jitter=0) == expected


def test_retry_delay_jitter_within_20_percent_and_spread(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 5

    delays = [backoff.retry_delay(3) for _ in range(500)]

    assert min(delays) >= 80 * 0.8
    assert max(delays) <= 80 * 1.2
    assert max(delays) - min(delays) > 80 * 0.2  # really jittered, not a constant


def test_retry_after_parses_seconds_or_http_date():
    assert retry_after.parse_retry_after("120") == 120
    in_90s = format_datetime(timezone.now() + timedelta(seconds=90), usegmt=True)
    assert 85 <= retry_after.parse_retry_after(in_90s) <= 91
    past = format_datetime(timezone.now() - timedelta(hours=1), usegmt=True)
    assert retry_after.parse_retry_after(past) == 0
    assert retry_after.parse_retry_after("soon") is None
    assert retry_after.parse_retry_after("") is None


def test_honour_retry_after_caps_huge_value(settings):
    settings.WEBHOOK_RETRY_AFTER_MAX_SECONDS = 3600

    assert backoff.honour_retry_after(10**9, fallback=5) == 3600
    assert backoff.honour_retry_after(30, fallback=5) == 30
    assert backoff.honour_retry_after(None, fallback=5) == 5
