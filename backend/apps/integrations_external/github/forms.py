"""The GitHub page's form: it renders and parses the inputs; GitHubIntegrationSerializer (the
API's) decides what is valid (page_support.validate_with)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from apps.integrations_external.github.models import GitHubIntegration
from apps.integrations_external.model_fields import concrete_field

SWITCHES = ("auto_create_issues", "auto_sync_prs", "sync_workflows")


class GitHubIntegrationForm(forms.Form):
    repository_owner = forms.CharField(
        label="Owner", required=False, help_text="The user or organisation, e.g. acme."
    )
    repository_name = forms.CharField(
        label="Repository", required=False, help_text="The repository's name, e.g. shop."
    )
    access_token = forms.CharField(
        label="Access token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="A fine-grained token with Pull requests: read, Issues: read and write, "
        "Webhooks: read and write (or a classic token with the repo scope). Stored encrypted; "
        "never shown again.",
    )
    api_base_url = forms.CharField(
        label="API base URL",
        required=False,
        help_text="https://api.github.com for github.com; GitHub Enterprise Server: "
        "https://HOST/api/v3.",
    )
    auto_sync_prs = forms.BooleanField(
        label="Sync pull requests automatically (every few minutes)", required=False
    )
    sync_workflows = forms.BooleanField(
        label="Also mirror GitHub Actions workflow runs", required=False
    )
    auto_create_issues = forms.BooleanField(
        label="Create a GitHub issue for every new story", required=False
    )

    def __init__(self, *args: Any, instance: GitHubIntegration | None = None, **kwargs: Any):
        if "initial" not in kwargs:
            if instance is not None:
                kwargs["initial"] = {
                    name: getattr(instance, name)
                    for name in ("repository_owner", "repository_name", "api_base_url", *SWITCHES)
                }
            else:
                kwargs["initial"] = {
                    "api_base_url": settings.GITHUB_API_BASE_URL,
                    **{name: concrete_field(GitHubIntegration, name).default for name in SWITCHES},
                }
        super().__init__(*args, **kwargs)
        if instance is not None and instance.access_token:
            token = self.fields["access_token"]
            token.label = "New access token"
            token.help_text = (
                "A token is saved (shown as ••••). Leave empty to keep it; write a new one to "
                "replace it."
            )
            token.widget.attrs["placeholder"] = "•••••••• (saved)"

    def api_data(self) -> dict[str, Any]:
        """The cleaned inputs as the API's serializer takes them (empty token or URL: keep or
        default)."""
        data = dict(self.cleaned_data)
        for name in ("access_token", "api_base_url"):
            if not data.get(name):
                data.pop(name, None)
        return data
