"""The Slack page's form: it renders and parses the inputs; SlackIntegrationSerializer (the
API's) decides what is valid (page_support.validate_with)."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.integrations_external.model_fields import concrete_field
from apps.integrations_external.slack.models import SlackIntegration

SWITCHES = (
    "notify_workflow_completion",
    "notify_command_execution",
    "notify_system_alerts",
    "notify_project_updates",
    "notify_only_failures",
)


class SlackIntegrationForm(forms.Form):
    workspace_name = forms.CharField(
        label="Workspace name",
        required=False,
        help_text="How you call the workspace here; filled in by Verify when left empty.",
    )
    channel_id = forms.CharField(
        label="Channel ID",
        required=False,
        help_text="Like C0123456789: in Slack, open the channel's details → About.",
    )
    channel_name = forms.CharField(
        label="Channel name",
        required=False,
        help_text="Optional (without #); filled in by Verify.",
    )
    bot_token = forms.CharField(
        label="Bot token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="The Bot User OAuth Token (xoxb-…) from your Slack app's OAuth & Permissions "
        "page. Stored encrypted; never shown again.",
    )
    notify_workflow_completion = forms.BooleanField(
        label="Workflow executions (completed or failed)", required=False
    )
    notify_command_execution = forms.BooleanField(label="Command executions", required=False)
    notify_system_alerts = forms.BooleanField(label="System alerts", required=False)
    notify_project_updates = forms.BooleanField(
        label="Project updates (changes, new stories, merged pull requests)", required=False
    )
    notify_only_failures = forms.BooleanField(
        label="Failures only",
        required=False,
        help_text=SlackIntegration._meta.get_field("notify_only_failures").help_text,
    )

    def __init__(self, *args: Any, instance: SlackIntegration | None = None, **kwargs: Any):
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                name: getattr(instance, name)
                for name in ("workspace_name", "channel_id", "channel_name", *SWITCHES)
            }
        elif instance is None and "initial" not in kwargs:
            kwargs["initial"] = {
                name: concrete_field(SlackIntegration, name).default for name in SWITCHES
            }
        super().__init__(*args, **kwargs)
        if instance is not None and instance.bot_token:
            token = self.fields["bot_token"]
            token.label = "New bot token"
            token.help_text = (
                "A token is saved (shown as ••••). Leave empty to keep it; write a new one "
                "(xoxb-…) to replace it."
            )
            token.widget.attrs["placeholder"] = "•••••••• (saved)"

    def api_data(self) -> dict[str, Any]:
        """The cleaned inputs as the API's serializer takes them (an empty token: keep)."""
        data = dict(self.cleaned_data)
        if not data.get("bot_token"):
            data.pop("bot_token", None)
        return data
