from __future__ import annotations

import re

from django.conf import settings
from django.db import models

from apps.projects.models import Project

# Output is kept bounded: the tail is what explains a failure, so the head is what gets cut.
OUTPUT_MAX_CHARS = 64 * 1024
# The line that replaces the cut head (see services.bound_output); output_chars reads it back.
OUTPUT_CUT_LINE = "[… {cut} earlier characters truncated …]\n"
_OUTPUT_CUT_LINE_RE = re.compile(r"\[… (\d+) earlier characters truncated …\]\n")


class Command(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="commands")
    name = models.CharField(max_length=200)
    command_line = models.TextField()
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class CommandExecution(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    command = models.ForeignKey(Command, on_delete=models.CASCADE, related_name="executions")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    exit_code = models.IntegerField(null=True, blank=True)
    output = models.TextField(blank=True)
    output_truncated = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration = models.DurationField(null=True, blank=True)
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "completed_at"])]

    def __str__(self) -> str:
        return f"{self.command} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status != self.Status.RUNNING

    @property
    def output_chars(self) -> int:
        """How many characters the command printed: more than `output` holds when its head
        was cut (the cut line says how many)."""
        cut_line = _OUTPUT_CUT_LINE_RE.match(self.output) if self.output_truncated else None
        if cut_line is None:
            return len(self.output)
        return int(cut_line.group(1)) + len(self.output) - cut_line.end()
