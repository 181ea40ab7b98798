"""One-click unsubscribe links (RFC 8058): a signed token naming one person and one switch."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from apps.integrations_external.email.models import EmailNotificationSettings

UNSUBSCRIBE_SALT = "integrations_external.email.unsubscribe"
# The test email's link turns every switch off ("stop all email").
ALL_SWITCHES = "all"


class BadUnsubscribeToken(Exception):
    """The unsubscribe token is forged, tampered with or names no switch."""


def unsubscribe_token(user_id: int, switch: str) -> str:
    """A signed, URL-safe token naming one person and one switch (no expiry: an old email's
    link must still work)."""
    return signing.dumps({"u": user_id, "s": switch}, salt=UNSUBSCRIBE_SALT, compress=False)


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature as exc:
        raise BadUnsubscribeToken("This unsubscribe link is not valid.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise BadUnsubscribeToken("This unsubscribe link is not valid.")
    switch = data.get("s")
    if switch != ALL_SWITCHES and switch not in EmailNotificationSettings.SWITCHES:
        raise BadUnsubscribeToken("This unsubscribe link names no email setting.")
    return data["u"], switch


def unsubscribe_url(user_id: int, switch: str) -> str:
    path = reverse(
        "integrations_external:email-unsubscribe",
        kwargs={"token": unsubscribe_token(user_id, switch)},
    )
    return f"{settings.PUBLIC_BASE_URL}{path}"
