"""The webhook endpoint form of the portal.

It only turns what a person types (checkboxes, "Name: value" lines) into the API's data; the
rules (URL and SSRF guard, header names, custom event names, limits) are the API serializer's,
run by `validate_with_api`, whose messages land on the form's own fields.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.html import format_html

from apps.integrations_external import catalog
from apps.integrations_external.model_fields import concrete_field
from apps.integrations_external.webhooks.models import WebhookEndpoint
from apps.integrations_external.webhooks.serializers import WebhookEndpointSerializer

SWITCH_LABELS = {
    catalog.WORKFLOW: "Workflow executions",
    catalog.COMMAND: "Command executions",
    catalog.PROJECT: "Project changes",
    catalog.ALERT: "System alerts",
}


def event_choices() -> list[tuple[str, str]]:
    """One checkbox per switch of the endpoint, named after the catalog's category, with a
    line naming and describing each event type it turns on."""
    described = event_descriptions()
    return [
        (
            switch,
            format_html(
                # A span, not <small>: Pico pulls an input's following <small> up over it.
                '{} <span class="muted" style="display:block;font-size:.85em">{}</span>',
                SWITCH_LABELS.get(category, category.title()),
                " ".join(f"{t.name}: {t.description}" for t in described[switch]),
            ),
        )
        for category, switch in WebhookEndpoint.EVENT_SWITCHES.items()
    ]


def event_descriptions() -> dict[str, list[catalog.EventType]]:
    """{switch field: the catalog's event types it turns on}: the line under each checkbox."""
    return {
        switch: [t for t in catalog.EVENT_TYPES.values() if t.category == category]
        for category, switch in WebhookEndpoint.EVENT_SWITCHES.items()
    }


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class WebhookEndpointForm(forms.Form):
    name = forms.CharField(
        max_length=200, required=False, help_text="So you can tell endpoints apart."
    )
    url = forms.CharField(
        label="URL",
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks"}),
        help_text="Where events are sent. Public http(s) addresses only.",
    )
    method = forms.ChoiceField(choices=WebhookEndpoint.Method.choices, initial="POST")
    events = forms.MultipleChoiceField(
        label="Events",
        choices=event_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    custom_events = forms.CharField(
        label="Custom event types",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "deploy.finished"}),
        help_text="Events your own systems publish, one per line (lowercase dotted names like "
        "<code>deploy.finished</code>), or <code>*</code> for all of them.",
    )
    headers = forms.CharField(
        label="Custom headers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Authorization: Bearer …"}),
        help_text="One <code>Name: value</code> per line, sent with every request. Values are "
        "write-only: stored encrypted, never shown again.",
    )
    clear_headers = forms.BooleanField(label="Remove every custom header", required=False)
    retry_count = forms.IntegerField(
        label="Retries",
        initial=8,
        min_value=0,
        help_text="Tries after the first failed one, backing off exponentially (at most 15).",
    )
    timeout_seconds = forms.IntegerField(
        label="Timeout (seconds)",
        initial=10,
        min_value=1,
        help_text="How long to wait for your server's answer (1 to 30).",
    )
    max_in_flight = forms.IntegerField(
        label="Concurrent requests",
        required=False,
        initial=10,
        min_value=1,
        max_value=100,
        help_text="Requests to your server in flight at once, at most (1 to 100).",
    )
    rate_limit = forms.IntegerField(
        label="Rate limit (per second)",
        required=False,
        min_value=1,
        max_value=10_000,
        help_text="Deliveries per second, at most. Empty: no limit.",
    )

    def __init__(self, *args: Any, instance: WebhookEndpoint | None = None, **kwargs: Any):
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "url": instance.url,
                "method": instance.method,
                "events": [
                    switch
                    for switch in WebhookEndpoint.EVENT_SWITCHES.values()
                    if getattr(instance, switch)
                ],
                "custom_events": "\n".join(instance.custom_events or []),
                "retry_count": instance.retry_count,
                "timeout_seconds": instance.timeout_seconds,
                "max_in_flight": instance.max_in_flight,
                "rate_limit": instance.rate_limit,
            }
        super().__init__(*args, **kwargs)
        if instance is None:
            del self.fields["clear_headers"]
            self.fields["events"].initial = [
                switch
                for switch in WebhookEndpoint.EVENT_SWITCHES.values()
                if concrete_field(WebhookEndpoint, switch).default
            ]
        elif instance.headers:
            names = ", ".join(instance.headers)
            self.fields["headers"].help_text = (
                f"Set now: {names} (values hidden). Leave empty to keep them; anything written "
                "here replaces them all. One <code>Name: value</code> per line."
            )

    def clean_headers(self) -> dict[str, str] | None:
        """None: keep the endpoint's headers as they are."""
        text = self.cleaned_data.get("headers") or ""
        if not text.strip():
            return None
        headers: dict[str, str] = {}
        for number, line in enumerate(_lines(text), start=1):
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                raise forms.ValidationError(
                    f"Line {number}: write a header as Name: value (e.g. X-Team: builds)."
                )
            headers[name.strip()] = value.strip()
        return headers

    def api_data(self, project_pk: int) -> dict[str, Any]:
        """The API's request body for this form (after is_valid)."""
        data = self.cleaned_data
        chosen = set(data.get("events") or [])
        body: dict[str, Any] = {
            "name": data.get("name") or "",
            "url": data["url"],
            "method": data["method"],
            "retry_count": data["retry_count"],
            "timeout_seconds": data["timeout_seconds"],
            "rate_limit": data.get("rate_limit"),
            "custom_events": _lines(data.get("custom_events") or ""),
            **{switch: switch in chosen for switch in WebhookEndpoint.EVENT_SWITCHES.values()},
        }
        if data.get("max_in_flight") is not None:  # empty: the default, or as it was
            body["max_in_flight"] = data["max_in_flight"]
        if self.instance is None:
            body["project"] = project_pk
        if data.get("clear_headers"):
            body["headers"] = {}
        elif data.get("headers") is not None:
            body["headers"] = data["headers"]
        return body

    def validate_with_api(
        self, request: HttpRequest, project_pk: int
    ) -> WebhookEndpointSerializer | None:
        """Run the API's serializer; on errors put its messages on the fields (in words) and
        return None."""
        serializer = WebhookEndpointSerializer(
            self.instance,
            data=self.api_data(project_pk),
            partial=self.instance is not None,
            context={"request": request},
        )
        if serializer.is_valid():
            return serializer
        for name, errors in serializer.errors.items():
            field = _FIELD_OF.get(name, name)
            for message in _flatten(errors):
                self.add_error(field if field in self.fields else None, message)
        return None


# API field → form field (the switches are the one "events" checkbox group).
_FIELD_OF = {
    **{switch: "events" for switch in WebhookEndpoint.EVENT_SWITCHES.values()},
    "non_field_errors": None,
    "project": None,
    "is_active": None,
}


def _flatten(errors: Any) -> list[str]:
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in _flatten(value)]
    if isinstance(errors, list):
        return [m for value in errors for m in _flatten(value)]
    return [str(errors)]
