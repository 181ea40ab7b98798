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


def test_given_a_secret_when_saved_then_the_database_holds_ciphertext_not_the_plaintext():
    note = EncryptedNote.objects.create(secret=SECRET)

    raw = stored(note)

    assert raw != SECRET
    assert SECRET not in raw
    assert raw.startswith("fernet:")


def test_given_a_saved_secret_when_read_back_then_it_round_trips():
    note = EncryptedNote.objects.create(secret=SECRET)

    assert EncryptedNote.objects.get(pk=note.pk).secret == SECRET
    assert EncryptedNote.objects.values_list("secret", flat=True).get(pk=note.pk) == SECRET


def test_given_the_same_secret_twice_when_saved_then_the_ciphertexts_differ():
    a = EncryptedNote.objects.create(secret=SECRET)
    b = EncryptedNote.objects.create(secret=SECRET)

    assert stored(a) != stored(b)


@pytest.mark.parametrize("value", ["", None])
def test_given_an_empty_or_null_value_when_saved_then_it_stays_as_is(value):
    note = EncryptedNote.objects.create(secret=value)

    assert stored(note) == value
    assert EncryptedNote.objects.get(pk=note.pk).secret == value


def test_given_unicode_and_long_text_when_saved_then_it_round_trips():
    text = "clé → 秘密 🔑 " * 2000
    note = EncryptedNote.objects.create(secret=text)

    assert EncryptedNote.objects.get(pk=note.pk).secret == text


def test_given_a_new_key_first_when_reading_old_rows_then_they_still_decrypt(settings, keys):
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


def test_given_the_key_was_removed_when_reading_then_a_clear_error(settings, keys):
    new, old = keys
    settings.FIELD_ENCRYPTION_KEYS = [old]
    note = EncryptedNote.objects.create(secret=SECRET)

    settings.FIELD_ENCRYPTION_KEYS = [new]

    with pytest.raises(ImproperlyConfigured, match="was a key removed"):
        EncryptedNote.objects.get(pk=note.pk)


def test_given_a_malformed_key_when_encrypting_then_a_clear_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]

    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS must be Fernet keys"):
        encrypt_str("x")


def test_given_the_helpers_when_used_directly_then_they_round_trip():
    assert decrypt_str(encrypt_str(SECRET)) == SECRET
    with pytest.raises(ImproperlyConfigured, match="not encrypted"):
        decrypt_str(SECRET)
