from __future__ import annotations

from django.conf import settings
from django.db import models

from core.fields import EncryptedTextField


def default_github_api_base_url() -> str:
    return settings.GITHUB_API_BASE_URL


class GitHubIntegration(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    repository_owner = models.CharField(max_length=100)
    repository_name = models.CharField(max_length=100)
    access_token = EncryptedTextField()
    webhook_secret = EncryptedTextField(blank=True, default="")
    auto_create_issues = models.BooleanField(default=False)
    auto_sync_prs = models.BooleanField(default=True)
    sync_workflows = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    api_base_url = models.URLField(default=default_github_api_base_url)
    hook_id = models.BigIntegerField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_sync_result = models.JSONField(default=dict, blank=True)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    last_verification_ok = models.BooleanField(null=True, blank=True)
    last_verification_detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.repository_owner}/{self.repository_name}"
