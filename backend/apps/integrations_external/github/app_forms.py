"""The GitHub App install's form: which of the installation's repositories the project uses."""

from __future__ import annotations

from django import forms

from apps.integrations_external.github.app import RepositoryChoice


class PickRepositoryForm(forms.Form):
    repository = forms.ChoiceField(
        label="Repository",
        widget=forms.RadioSelect,
        help_text="Only the repositories you gave the app on GitHub are listed.",
        error_messages={"required": "Pick one repository.", "invalid_choice": "Pick one of these."},
    )

    def __init__(self, *args, choices: list[RepositoryChoice], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        repository = self.fields["repository"]
        if not isinstance(repository, forms.ChoiceField):
            raise TypeError("`repository` is a choice field.")
        repository.choices = [
            (c.full_name, f"{c.full_name}{' (private)' if c.private else ''}") for c in choices
        ]
