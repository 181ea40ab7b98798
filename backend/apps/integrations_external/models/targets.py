"""What every notification target shares, so one routing rule serves every channel."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class OwnedTargetBase(models.Model):
    """A target owned by a user, optionally scoped to one project.

    `EVENT_SWITCHES` maps an event category (see events.catalog) to the boolean field that
    turns it on for this kind of target; a category missing from the map is never delivered.
    """

    EVENT_SWITCHES: dict[str, str] = {}

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(
        "projects.Project",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Only events of this project; empty means every project the owner can see.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
