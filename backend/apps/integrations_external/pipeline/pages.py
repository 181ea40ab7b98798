"""The delivery log of any channel's target (webhook endpoint, Slack integration…): list with
filters, a 24-hour chart, a delivery's detail with its attempts, Resend and Recover.

The pipeline knows no provider: a target is found through the channel registry, permissions
come from permissions.py, and the actions a channel offers (resend, recover) are registered by
the channel's own pages module with `register_actions`; a channel without them shows none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.integrations_external import catalog, permissions
from apps.integrations_external.page_support import (
    HtmxHttpRequest,
    page_user,
    project_page_context,
)
from apps.integrations_external.pipeline import channels
from apps.integrations_external.pipeline.delivery_log import (
    CHART_HOURS,
    HourBar,
    deliveries_of,
    has_integration_targets,
    hourly_outcomes,
    page_before,
    target_model,
)
from apps.integrations_external.pipeline.examples import example_envelopes
from apps.integrations_external.pipeline.models import DeliveryBase, DeliveryStatus
from core.api.exceptions import InvalidTransition
from core.api.throttling import _SettingsRateThrottle

RESPONSE_BODY_CLIP = 2000


@dataclass(frozen=True)
class DeliveryActions:
    """What a channel lets a manager do from its log. `resend(delivery)` returns the new
    delivery (raises InvalidTransition while the original is open); `recover(target, since)`
    returns how many were queued again. `throttle_names` are the API's (view.action) names, so
    a page and the API share one budget per user. `public_headers`: request headers whose
    values carry no credential (others show by name only)."""

    resend: Callable[[DeliveryBase], DeliveryBase] | None = None
    recover: Callable[[Any, datetime], int] | None = None
    throttle_names: dict[str, str] = field(default_factory=dict)
    public_headers: frozenset[str] = frozenset()
    # The copies a resend made of a delivery (newest last).
    resent_as: Callable[[DeliveryBase], Iterable[DeliveryBase]] | None = None
    # The target's own page (its name links there), from (project_pk, target).
    target_url: Callable[[int, Any], str] | None = None


_ACTIONS: dict[str, DeliveryActions] = {}


def register_actions(channel_name: str, actions: DeliveryActions) -> None:
    _ACTIONS[channel_name] = actions


def actions_for(channel_name: str) -> DeliveryActions:
    return _ACTIONS.get(channel_name, DeliveryActions())


class _PageThrottle(_SettingsRateThrottle):
    """The API's per-user action budgets (THROTTLE_RATES) for a page's POST: same cache key as
    ActionScopedThrottle, so the API and the page draw from one budget."""

    def allow(self, request: HttpRequest, scope: str, name: str) -> bool:
        if not self._prepare(scope):
            return True
        self.key = self.cache_format % {
            "scope": f"{scope}:{name}",
            "ident": f"user-{request.user.pk}",
        }
        return self.allow_request(request, None)

    def allow_request(self, request: Any, view: Any) -> bool:
        """A page has no DRF request or view; the key is made in allow(), so neither is read."""
        return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.key


def throttled(request: HttpRequest, scope: str, name: str) -> int | None:
    """Seconds to wait when `request.user` spent the budget of `name`; None when allowed."""
    throttle = _PageThrottle()
    if throttle.allow(request, scope, name):
        return None
    return throttle.retry_after()


# --- finding things ---------------------------------------------------------------------------
def _channel(name: str) -> channels.Channel:
    try:
        channel = channels.get(name)
    except KeyError:
        raise Http404("No such channel.") from None
    if not has_integration_targets(channel):
        raise Http404("This channel has no per-integration log.")
    return channel


def _page_context(
    request: HttpRequest, project_pk: int, channel_name: str, target_pk: int
) -> dict[str, Any]:
    """Project (404 for others), channel, and the target: one the user can read, in this
    project (404 otherwise)."""
    context = project_page_context(request, project_pk)
    user = page_user(request)
    channel = _channel(channel_name)
    target = get_object_or_404(
        target_model(channel).objects.filter(permissions.readable_q(user)),
        pk=target_pk,
        project=context["project"],
    )
    if not permissions.can_read(user, target):
        raise Http404
    actions = actions_for(channel.name)
    context.update(
        channel=channel,
        target=target,
        # Managing the project is not enough: the target's own rule decides (permissions.py).
        can_manage=permissions.can_manage(user, target),
        actions=actions,
        # Booleans for the templates (which would call the functions themselves).
        offers_resend=actions.resend is not None,
        offers_recover=actions.recover is not None,
        target_url=actions.target_url(project_pk, target) if actions.target_url else "",
        log_url=reverse(
            "integrations:deliveries",
            kwargs={"project_pk": project_pk, "channel": channel.name, "target_pk": target.pk},
        ),
    )
    return context


def _delivery(context: dict[str, Any], delivery_pk: int) -> DeliveryBase:
    channel: channels.Channel = context["channel"]
    model = channel.delivery_model
    return get_object_or_404(
        model.objects.filter(**{model.target_field: context["target"]}), pk=delivery_pk
    )


# --- chart -----------------------------------------------------------------------------------
CHART_WIDTH, CHART_HEIGHT, BAR_GAP = 720, 120, 4
COLORS = {"success": "#2e9d50", "failed": "#c62828", "open": "#d9a400"}


def chart(bars: list[HourBar]) -> dict[str, Any]:
    """Stacked bars (success at the bottom, then failed, then still open) laid out for the
    template's inline SVG; each bar carries a title for screen readers and hover."""
    tallest = max((bar.total for bar in bars), default=0) or 1
    slot = CHART_WIDTH / len(bars)
    laid_out = []
    for i, bar in enumerate(bars):
        x = round(i * slot + BAR_GAP / 2, 1)
        y = float(CHART_HEIGHT)
        rects = []
        for outcome in ("success", "failed", "open"):
            count = getattr(bar, outcome)
            if not count:
                continue
            height = round(count / tallest * (CHART_HEIGHT - 4), 1)
            y = round(y - height, 1)
            rects.append({"y": y, "height": height, "color": COLORS[outcome]})
        laid_out.append(
            {
                "x": x,
                "width": round(slot - BAR_GAP, 1),
                "rects": rects,
                "title": f"{bar.start:%H:00} UTC: {bar.success} delivered, {bar.failed} failed, "
                f"{bar.open} in progress",
                "label": f"{bar.start:%H}" if i % 3 == 0 else "",
            }
        )
    totals = {o: sum(getattr(b, o) for b in bars) for o in ("success", "failed", "open")}
    return {
        "bars": laid_out,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "totals": totals,
        "colors": COLORS,
        "hours": CHART_HOURS,
        "empty": not any(totals.values()),
    }


# --- pages -----------------------------------------------------------------------------------
class LogFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *DeliveryStatus.choices], required=False
    )
    event_type = forms.CharField(
        required=False,
        max_length=200,
        label="Event type",
        widget=forms.TextInput(attrs={"list": "event-types", "placeholder": "any"}),
    )
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class RecoverForm(forms.Form):
    since = forms.DateTimeField(
        label="Failed since (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Every delivery that failed since then, and was not delivered since, is sent "
        "again.",
    )

    def clean_since(self) -> datetime:
        since: datetime = self.cleaned_data["since"]
        if since > timezone.now():
            raise forms.ValidationError("Pick a time in the past.")
        return since


def default_recover_form() -> RecoverForm:
    return RecoverForm(initial={"since": timezone.now() - timedelta(hours=24)})


@login_required
def delivery_list(
    request: HttpRequest, project_pk: int, channel: str, target_pk: int
) -> HttpResponse:
    context = _page_context(request, project_pk, channel, target_pk)
    filters = LogFilterForm(request.GET)
    data = filters.cleaned_data if filters.is_valid() else {}
    rows = deliveries_of(
        context["channel"],
        context["target"],
        status=data.get("status") or "",
        event_type=(data.get("event_type") or "").strip(),
    )
    context.update(
        filters=filters if filters.is_bound else LogFilterForm(),
        log=page_before(rows, data.get("before")),
        first_page=bool(not data.get("before")),
        event_types=list(catalog.EVENT_TYPES),
        recover_form=default_recover_form(),
    )
    return render(request, "integrations_external/pipeline/deliveries.html", context)


@login_required
def delivery_chart(
    request: HtmxHttpRequest, project_pk: int, channel: str, target_pk: int
) -> HttpResponse:
    """The 24-hour chart, on its own request: its queries read every delivery of the last day,
    which the log's list must not wait for (the list stays a 26-row read at any volume).
    htmx loads it into the log and the target's page; without JavaScript it is a page."""
    context = _page_context(request, project_pk, channel, target_pk)
    context["chart"] = chart(hourly_outcomes(context["channel"], context["target"]))
    template = "_chart.html" if request.htmx else "chart.html"
    return render(request, f"integrations_external/pipeline/{template}", context)


def _clip(text: str) -> tuple[str, bool]:
    return (text[:RESPONSE_BODY_CLIP], len(text) > RESPONSE_BODY_CLIP)


def _headers_shown(headers: dict[str, str], public: frozenset[str]) -> list[tuple[str, str]]:
    """Values of the platform's own headers; custom ones (often credentials) by name only."""
    return [
        (name, value if name.lower() in public else "") for name, value in (headers or {}).items()
    ]


@login_required
def delivery_detail(
    request: HttpRequest, project_pk: int, channel: str, target_pk: int, delivery_pk: int
) -> HttpResponse:
    context = _page_context(request, project_pk, channel, target_pk)
    delivery = _delivery(context, delivery_pk)
    public = context["actions"].public_headers
    attempts = []
    for attempt in delivery.attempt_history():
        body, clipped = _clip(attempt.response_body or "")
        attempts.append(
            {
                "attempt": attempt,
                "body": body,
                "clipped": clipped,
                "headers": _headers_shown(getattr(attempt, "request_headers", {}), public),
            }
        )
    context.update(
        delivery=delivery,
        attempts=attempts,
        # Channels that resend as new rows (webhooks) link the copies both ways.
        redeliveries=list(context["actions"].resent_as(delivery))
        if context["actions"].resent_as
        else [],
        redelivery_of_id=getattr(delivery, "redelivery_of_id", None),
    )
    return render(request, "integrations_external/pipeline/delivery.html", context)


def _delivery_url(project_pk: int, channel: str, target_pk: int, delivery_pk: int) -> str:
    return reverse(
        "integrations:delivery",
        kwargs={
            "project_pk": project_pk,
            "channel": channel,
            "target_pk": target_pk,
            "delivery_pk": delivery_pk,
        },
    )


def _respond(
    request: HtmxHttpRequest,
    *,
    level: str,
    message: str,
    partial: str,
    context: dict[str, Any],
    redirect_to: str,
) -> HttpResponse:
    """htmx: the partial with a flash event; plain POST: a flash message and a redirect."""
    if request.htmx:
        context = {**context, "level": level, "message": message}
        response = render(request, partial, context)
        response["HX-Trigger"] = _flash_header(level, message)
        return response
    getattr(messages, level)(request, message)
    return redirect(redirect_to)


def _flash_header(level: str, message: str) -> str:
    return json.dumps({"flash": {"level": level, "message": message}})


def _manager_context(
    request: HttpRequest, project_pk: int, channel: str, target_pk: int
) -> dict[str, Any]:
    context = _page_context(request, project_pk, channel, target_pk)
    if not context["can_manage"]:
        raise PermissionDenied(permissions.MANAGERS_ONLY)
    return context


@require_POST
@login_required
def delivery_resend(
    request: HtmxHttpRequest, project_pk: int, channel: str, target_pk: int, delivery_pk: int
) -> HttpResponse:
    context = _manager_context(request, project_pk, channel, target_pk)
    actions: DeliveryActions = context["actions"]
    if actions.resend is None:
        raise Http404("This channel does not resend.")
    delivery = _delivery(context, delivery_pk)
    here = _delivery_url(project_pk, context["channel"].name, target_pk, delivery.pk)
    partial = "integrations_external/pipeline/_resend_result.html"
    wait = throttled(request, "resend", actions.throttle_names.get("resend", "resend"))
    if wait is not None:
        return _respond(
            request,
            level="error",
            message=f"Too many resends. Try again in {wait} seconds.",
            partial=partial,
            context=context,
            redirect_to=here,
        )
    try:
        copy = actions.resend(delivery)
    except InvalidTransition as exc:
        return _respond(
            request,
            level="error",
            message=str(exc),
            partial=partial,
            context=context,
            redirect_to=here,
        )
    copy.refresh_from_db()  # sent on commit (eager workers: already done)
    copy_url = _delivery_url(project_pk, context["channel"].name, target_pk, copy.pk)
    context.update(copy=copy, copy_url=copy_url)
    return _respond(
        request,
        level="success",
        message=f"Resent as delivery #{copy.pk}: {copy.get_status_display().lower()}.",
        partial=partial,
        context=context,
        redirect_to=copy_url,
    )


@require_POST
@login_required
def target_recover(
    request: HtmxHttpRequest, project_pk: int, channel: str, target_pk: int
) -> HttpResponse:
    context = _manager_context(request, project_pk, channel, target_pk)
    actions: DeliveryActions = context["actions"]
    if actions.recover is None:
        raise Http404("This channel does not recover.")
    partial = "integrations_external/pipeline/_recover_result.html"
    form = RecoverForm(request.POST)
    context["recover_form"] = form
    if not form.is_valid():
        if request.htmx:
            return render(request, "integrations_external/pipeline/_recover_form.html", context)
        messages.error(
            request,
            "Recover: "
            + " ".join(str(error) for error in form.errors.get("since", ["check the time."])),
        )
        return redirect(context["log_url"])
    wait = throttled(request, "resend", actions.throttle_names.get("recover", "recover"))
    if wait is not None:
        return _respond(
            request,
            level="error",
            message=f"Too many recoveries. Try again in {wait} seconds.",
            partial=partial,
            context=context,
            redirect_to=context["log_url"],
        )
    since = form.cleaned_data["since"]
    count = actions.recover(context["target"], since)
    when = f"{since:%Y-%m-%d %H:%M} UTC"
    if count:
        noun = "delivery" if count == 1 else "deliveries"
        message = f"{count} failed {noun} since {when} queued again."
    else:
        message = f"Nothing to recover: no delivery failed since {when} without a later success."
    context["recover_form"] = default_recover_form()
    return _respond(
        request,
        level="success" if count else "info",
        message=message,
        partial=partial,
        context=context,
        redirect_to=context["log_url"],
    )


# --- events catalog --------------------------------------------------------------------------
PYTHON_SNIPPET = """\
# pip install standardwebhooks
from standardwebhooks import Webhook, WebhookVerificationError

webhook = Webhook("whsec_…")  # your endpoint's secret


def receive(body: bytes, headers: dict[str, str]) -> dict:
    \"\"\"body: the raw request body, unparsed; headers: the request's headers.\"\"\"
    try:
        event = webhook.verify(body, headers)  # checks signature and timestamp
    except WebhookVerificationError:
        raise PermissionError("not signed by the hub: answer 400")
    # webhook-id is the same on every retry of one message: use it to skip duplicates.
    return event  # {"id", "type", "timestamp", "data"}
"""

NODE_SNIPPET = """\
// npm install standardwebhooks express
import express from "express";
import { Webhook } from "standardwebhooks";

const webhook = new Webhook(process.env.WEBHOOK_SECRET); // "whsec_…"
const app = express();

// The raw body: a signature covers the exact bytes sent, not re-serialized JSON.
app.post("/webhooks", express.raw({ type: "application/json" }), (req, res) => {
  let event;
  try {
    event = webhook.verify(req.body.toString("utf8"), req.headers);
  } catch (err) {
    return res.status(400).send("bad signature");
  }
  console.log(event.type, event.data); // webhook-id header: skip duplicates
  res.sendStatus(204);
});
app.listen(3000);
"""


@login_required
def events_catalog(request: HttpRequest) -> HttpResponse:
    """Every event type a webhook can subscribe to, an example envelope of each (built by the
    real payload builders), and how to verify a signature."""
    examples = example_envelopes()
    types = [
        {"type": t, "example": examples.get(t.name)}
        for t in catalog.EVENT_TYPES.values()
        if t.category != catalog.PERSONAL
    ]
    return render(
        request,
        "integrations_external/pipeline/events.html",
        {"types": types, "python_snippet": PYTHON_SNIPPET, "node_snippet": NODE_SNIPPET},
    )
