"""The email settings page's form: one checkbox per switch, worded like the emails' footers;
EmailNotificationSettingsSerializer (the API's) decides what is valid."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.integrations_external.email.messages import SWITCH_LABELS
from apps.integrations_external.email.models import EmailNotificationSettings
from apps.integrations_external.model_fields import concrete_field


def switch_description(name: str) -> str:
    return str(concrete_field(EmailNotificationSettings, name).help_text)


class EmailSettingsForm(forms.Form):
    def __init__(self, *args: Any, instance: EmailNotificationSettings, **kwargs: Any):
        kwargs.setdefault(
            "initial",
            {name: getattr(instance, name) for name in EmailNotificationSettings.SWITCHES},
        )
        super().__init__(*args, **kwargs)
        for name in EmailNotificationSettings.SWITCHES:
            self.fields[name] = forms.BooleanField(
                label=SWITCH_LABELS[name].capitalize(),
                required=False,
                help_text=switch_description(name),
            )

    def api_data(self) -> dict[str, bool]:
        """Every switch, as the API's serializer takes them (an unticked box is False)."""
        return {name: bool(self.cleaned_data.get(name)) for name in self.fields}
