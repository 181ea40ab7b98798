"""The Teams page's form: it renders and parses the inputs; TeamsIntegrationSerializer (the
API's) decides what is valid (page_support.validate_with)."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.integrations_external.model_fields import concrete_field
from apps.integrations_external.teams.models import TeamsIntegration

SWITCHES = (
    "notify_workflow_completion",
    "notify_command_execution",
    "notify_system_alerts",
    "notify_project_updates",
    "notify_only_failures",
    "notify_back_to_normal",
)


class TeamsIntegrationForm(forms.Form):
    channel_name = forms.CharField(
        label="Channel name", help_text="The Teams channel the workflow posts to."
    )
    webhook_url = forms.CharField(
        label="Workflows webhook URL",
        required=False,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="In the channel: Workflows → 'Post to a channel when a webhook request is "
        "received'; paste the URL it gives. Stored encrypted; never shown again.",
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
        help_text=TeamsIntegration._meta.get_field("notify_only_failures").help_text,
    )
    notify_back_to_normal = forms.BooleanField(
        label="Back to normal",
        required=False,
        help_text=TeamsIntegration._meta.get_field("notify_back_to_normal").help_text,
    )

    def __init__(self, *args: Any, instance: TeamsIntegration | None = None, **kwargs: Any):
        if "initial" not in kwargs:
            if instance is not None:
                names = ("channel_name", *SWITCHES)
                kwargs["initial"] = {name: getattr(instance, name) for name in names}
            else:
                kwargs["initial"] = {
                    name: concrete_field(TeamsIntegration, name).default for name in SWITCHES
                }
        super().__init__(*args, **kwargs)
        if instance is not None and instance.webhook_url:
            url = self.fields["webhook_url"]
            url.label = "New webhook URL"
            url.help_text = "A URL is saved (shown as ••••). Leave empty to keep it."
            url.widget.attrs["placeholder"] = "•••••••• (saved)"

    def api_data(self) -> dict[str, Any]:
        """The cleaned inputs as the API's serializer takes them (an empty URL: keep)."""
        data = dict(self.cleaned_data)
        if not data.get("webhook_url"):
            data.pop("webhook_url", None)
        return data
