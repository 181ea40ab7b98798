"""The back-off's edges, held where mutation testing (`make mutation`) found them free to change."""

from apps.integrations_external.pipeline import backoff


def test_honour_retry_after_zero_means_retry_at_once():
    # "Retry-After: 0" (or an HTTP date already past, which parses to 0) is the server asking
    # for the retry now: it wins over our back-off as any other value does.
    assert backoff.honour_retry_after(0, fallback=5) == 0


def test_honour_retry_after_negative_falls_back_to_the_back_off():
    assert backoff.honour_retry_after(-1, fallback=5) == 5
