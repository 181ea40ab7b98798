"""API tokens: hashed at rest, `Authorization: Token <key>`, the page, the command, and the
migration of DRF's plaintext keys."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.utils import timezone

from apps.accounts.models import ApiToken, digest_of
from apps.accounts.services import create_token

pytestmark = pytest.mark.django_db


def test_token_stored_hashed_and_authenticates(api_client, user):
    token, key = create_token(user=user, name="ci")
    assert key not in (token.digest, token.key_start)
    assert token.digest == digest_of(key)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/v1/projects/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_token_wrong_or_revoked_key_is_401(api_client, user):
    token, key = create_token(user=user, name="ci")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}x")
    assert api_client.get("/api/v1/projects/").status_code == 401
    token.delete()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/v1/projects/").status_code == 401


def test_token_of_inactive_user_is_401(api_client, user):
    _token, key = create_token(user=user, name="ci")
    user.is_active = False
    user.save()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/v1/projects/").status_code == 401


def test_token_last_used_written_once_a_minute(api_client, user):
    token, key = create_token(user=user, name="ci")
    recent = timezone.now() - timedelta(seconds=5)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=recent)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    api_client.get("/api/v1/projects/")
    token.refresh_from_db()
    assert token.last_used_at == recent


def test_tokens_page_creates_and_shows_key_once(client, user):
    client.force_login(user)
    response = client.post("/account/tokens/", {"name": "Deploy script"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=user)
    body = response.content.decode()
    key = body.split('id="token-key">')[1].split("<")[0]
    assert token.digest == digest_of(key)
    again = client.get("/account/tokens/").content.decode()
    assert key not in again
    assert "Deploy script" in again
    assert "never" in again


def test_tokens_page_requires_a_name_in_words(client, user):
    client.force_login(user)
    response = client.post("/account/tokens/", {"name": "  "})
    assert response.status_code == 200
    assert (
        b"This field is required." in response.content
        or b"Give the token a name" in response.content
    )
    assert not ApiToken.objects.exists()


def test_tokens_page_revokes_own_token_only(client, user, other_user):
    mine, _ = create_token(user=user, name="mine")
    theirs, _ = create_token(user=other_user, name="theirs")
    client.force_login(user)
    assert b"theirs" not in client.get("/account/tokens/").content
    client.post(f"/account/tokens/{theirs.pk}/revoke/")
    assert ApiToken.objects.filter(pk=theirs.pk).exists()
    response = client.post(f"/account/tokens/{mine.pk}/revoke/", follow=True)
    assert not ApiToken.objects.filter(pk=mine.pk).exists()
    assert "revoked" in response.content.decode()


def test_tokens_page_anonymous_to_login(client):
    response = client.get("/account/tokens/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_plaintext_authtoken_keys_migrated_to_hashes(api_client, user):
    migration = import_module("apps.accounts.migrations.0002_hash_plaintext_authtoken_keys")
    key = "0123456789abcdef0123456789abcdef01234567"
    editor = SimpleNamespace(connection=connection)  # all the migration uses of it
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp, "
            "user_id integer)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)", [key, timezone.now(), user.pk]
        )
        migration.hash_plaintext_keys(django_apps, editor)
        cursor.execute("SELECT COUNT(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0
        cursor.execute("DROP TABLE authtoken_token")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/v1/projects/").status_code == 200
