"""Models that exist only in the test database (tests_support is installed by test settings)."""

from django.db import models

from core.fields import EncryptedTextField


class EncryptedNote(models.Model):
    """A row with an encrypted column, for the field and key-rotation tests."""

    label = models.CharField(max_length=50, blank=True)
    secret = EncryptedTextField(blank=True, null=True)

    class Meta:
        app_label = "tests_support"

    def __str__(self) -> str:
        return self.label or f"note {self.pk}"
