"""EncryptedTextField: ciphertext at rest, plain str in Python, keys that rotate."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from core.fields import decrypt_str, encrypt_str
from tests_support.models import EncryptedNote

pytestmark = pytest.mark.django_db

SECRET = "xoxb-1234-very-secret-token"


def stored(note: EncryptedNote) -> str | None:
    """The column's raw content, read with SQL (no field conversion)."""
    table = connection.ops.quote_name(EncryptedNote._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {table} WHERE id = %s", [note.pk])
        return cursor.fetchone()[0]


@pytest.fixture
def keys(settings):
    """Two fresh keys; the test sets FIELD_ENCRYPTION_KEYS from them."""
    return Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_encrypted_field_stores_ciphertext_not_plaintext():
    note = EncryptedNote.objects.create(secret=SECRET)

    raw = stored(note)

    assert raw != SECRET
    assert SECRET not in raw
    assert raw.startswith("fernet:")


def test_encrypted_field_round_trips():
    note = EncryptedNote.objects.create(secret=SECRET)

    assert EncryptedNote.objects.get(pk=note.pk).secret == SECRET
    assert EncryptedNote.objects.values_list("secret", flat=True).get(pk=note.pk) == SECRET


def test_encrypted_field_same_secret_twice_differs():
    a = EncryptedNote.objects.create(secret=SECRET)
    b = EncryptedNote.objects.create(secret=SECRET)

    assert stored(a) != stored(b)


@pytest.mark.parametrize("value", ["", None])
def test_encrypted_field_keeps_empty_and_null_as_is(value):
    note = EncryptedNote.objects.create(secret=value)

    assert stored(note) == value
    assert EncryptedNote.objects.get(pk=note.pk).secret == value


def test_encrypted_field_round_trips_unicode_and_long_text():
    text = "clé → 秘密 🔑 " * 2000
    note = EncryptedNote.objects.create(secret=text)

    assert EncryptedNote.objects.get(pk=note.pk).secret == text


def test_encrypted_field_reads_old_rows_after_key_added(settings, keys):
    # given: a new key put first in the key list
    new, old = keys
    settings.FIELD_ENCRYPTION_KEYS = [old]
    note = EncryptedNote.objects.create(secret=SECRET)
    old_ciphertext = stored(note)

    settings.FIELD_ENCRYPTION_KEYS = [new, old]

    assert EncryptedNote.objects.get(pk=note.pk).secret == SECRET
    # New writes use the first key only: readable with it alone.
    note.save()
    assert stored(note) != old_ciphertext
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert EncryptedNote.objects.get(pk=note.pk).secret == SECRET


def test_encrypted_field_removed_key_gives_a_clear_error(settings, keys):
    new, old = keys
    settings.FIELD_ENCRYPTION_KEYS = [old]
    note = EncryptedNote.objects.create(secret=SECRET)

    settings.FIELD_ENCRYPTION_KEYS = [new]

    with pytest.raises(ImproperlyConfigured, match="was a key removed"):
        EncryptedNote.objects.get(pk=note.pk)


def test_encrypted_field_malformed_key_gives_a_clear_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]

    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS must be Fernet keys"):
        encrypt_str("x")


def test_encryption_helpers_round_trip():
    assert decrypt_str(encrypt_str(SECRET)) == SECRET
    with pytest.raises(ImproperlyConfigured, match="not encrypted"):
        decrypt_str(SECRET)
