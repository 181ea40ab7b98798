"""The Slack client: slack_sdk pointed at our base URL, no retries or sleeps of its own, and
Slack's answers turned into the shared named errors."""

import socket
import threading

import pytest

from apps.integrations_external.http.errors import (
    AuthError,
    NotFound,
    PermanentError,
    RateLimited,
    TargetRefused,
    TemporaryError,
)
from apps.integrations_external.slack.client import SlackClient
from apps.integrations_external.tests.slack.factories import BOT_TOKEN
from tests_support.receivers import Reply


def test_client_from_settings_has_url_timeout_no_sdk_retries(settings):
    settings.SLACK_API_BASE_URL = "http://127.0.0.1:1/api/"

    client = SlackClient(BOT_TOKEN)

    assert client.web.base_url == "http://127.0.0.1:1/api/"
    assert client.web.timeout == settings.SLACK_API_TIMEOUT_SECONDS > 0
    assert client.web.retry_handlers == []


def test_client_429_rate_limited_with_retry_after_one_request(slack):
    slack.add_token(BOT_TOKEN)
    slack.add_channel("C0BUILDS01", "builds")
    slack.fail_next("chat.postMessage", status=429, headers={"Retry-After": "30"})

    with pytest.raises(RateLimited) as caught:
        SlackClient(BOT_TOKEN).post_message("C0BUILDS01", text="hi")

    assert caught.value.retry_after == 30
    assert caught.value.code == "ratelimited"
    assert len(slack.calls_to("chat.postMessage")) == 1  # the SDK did not retry (nor sleep 30 s)


@pytest.mark.parametrize(
    ("script", "error", "code"),
    [
        ({"status": 500, "body": b"<html>oops</html>"}, TemporaryError, ""),
        ({"status": 503}, TemporaryError, ""),
        ({"error": "internal_error"}, TemporaryError, "internal_error"),
        ({"error": "invalid_auth"}, AuthError, "invalid_auth"),
        ({"error": "account_inactive"}, AuthError, "account_inactive"),
        ({"error": "channel_not_found"}, NotFound, "channel_not_found"),
        ({"error": "not_in_channel"}, TargetRefused, "not_in_channel"),
        ({"error": "is_archived"}, TargetRefused, "is_archived"),
        ({"error": "invalid_blocks"}, PermanentError, "invalid_blocks"),
    ],
)
def test_client_slack_error_raises_a_named_exception(slack, script, error, code):
    slack.add_token(BOT_TOKEN)
    slack.fail_next("chat.postMessage", **script)

    with pytest.raises(error) as caught:
        SlackClient(BOT_TOKEN).post_message("C0BUILDS01", text="hi")

    assert type(caught.value) is error
    if code:
        assert caught.value.code == code
    assert BOT_TOKEN not in str(caught.value)
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_client_slow_slack_timeout_is_temporary(receiver):
    receiver.default = Reply(200, b'{"ok": true}', delay=2.0)
    base_url = receiver.url.replace("/hook", "/api/")

    with pytest.raises(TemporaryError) as caught:
        SlackClient(BOT_TOKEN, base_url=base_url, timeout=1).post_message("C0BUILDS01", text="hi")

    assert caught.value.code == "network_error"
    assert len(receiver.requests) == 1


def test_client_connection_reset_temporary_after_one_try():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []

    def reset_all():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)
            conn.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            conn.close()

    threading.Thread(target=reset_all, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.getsockname()[1]}/api/"
    try:
        with pytest.raises(TemporaryError):
            SlackClient(BOT_TOKEN, base_url=base_url, timeout=2).post_message(
                "C0BUILDS01", text="hi"
            )
    finally:
        server.close()
    assert len(accepted) == 1  # slack_sdk's connection-error retry handler is off
