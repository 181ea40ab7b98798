"""The fake Slack refuses what real Slack refuses, by Slack's published numbers (not ours)."""

import pytest

from apps.integrations_external.http.errors import PermanentError
from apps.integrations_external.slack.client import SlackClient
from apps.integrations_external.tests.slack.factories import BOT_TOKEN


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("blocks", "fits"),
    [
        ([_section("x" * 3000)], True),
        ([_section("x" * 3001)], False),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], False),
        ([_section("x")] * 50, True),
        ([_section("x")] * 51, False),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], False),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], False),
    ],
)
def test_fake_slack_judges_sizes_by_slacks_numbers(slack, blocks, fits):
    slack.add_token(BOT_TOKEN)
    slack.add_channel("C0BUILDS01", "builds")
    client = SlackClient(BOT_TOKEN)

    if fits:
        assert client.post_message("C0BUILDS01", text="t", blocks=blocks)["ok"]
    else:
        with pytest.raises(PermanentError, match="invalid_blocks"):
            client.post_message("C0BUILDS01", text="t", blocks=blocks)
