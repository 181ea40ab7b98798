"""The channels (webhook, slack, email): what each one stores, who it may reach and how it sends.

A channel is data plus a few hooks; the engine (pipeline/engine.py) and the routing
rule (pipeline/routing.py) are written once against this interface.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import models

from apps.integrations_external.pipeline.models import DeliveryBase


@dataclass(frozen=True)
class SendResult:
    """What one attempt came to.

    outcome: "success"; "retry" (temporary: back off, or wait `retry_after` seconds);
    "failed" (permanent for this delivery: do not retry); "defer" (not attempted, e.g. pacing:
    reschedule after `retry_after` without spending an attempt).
    `target_problem`: the target itself is broken (bad token, 410 Gone, bot removed): the
    channel marks it unhealthy or disables it with this reason.
    `delivery_fields`: extra fields to store on the delivery (e.g. Slack's message ts).
    """

    outcome: str
    response_status: int | None = None
    response_body: str = ""
    error: str = ""
    retry_after: float | None = None
    duration_ms: int | None = None
    target_problem: str = ""
    delivery_fields: dict[str, Any] = field(default_factory=dict)
    request_headers: dict[str, str] = field(default_factory=dict)

    SUCCESS = "success"
    RETRY = "retry"
    FAILED = "failed"
    DEFER = "defer"


class Transport(Protocol):
    """Sends one delivery. A transport may also define `send_many(deliveries) -> results` (same
    order) to send a whole claimed chunk concurrently itself; the engine then calls that."""

    def send(self, delivery: DeliveryBase) -> SendResult: ...


@dataclass
class Channel:
    name: str
    delivery_model: type[DeliveryBase]
    # Targets: a queryset of rows with the event switches (OwnedTargetBase or email settings).
    target_queryset: Callable[[], models.QuerySet]
    # The path from a target row to the user who owns it ("owner" or "user").
    owner_path: str
    # Whether targets carry an optional `project` scope.
    project_scoped: bool
    # Builds the unsaved delivery for (event, target); None skips the target.
    build_delivery: Callable[[Any, Any], DeliveryBase | None]
    # A transport per process: created on first use so clients and pools are reused.
    transport_factory: Callable[[], Transport]
    # Retries after the first attempt for this delivery.
    max_retries: Callable[[DeliveryBase], int]
    # Hooks the engine calls after recording results (health, counters, auto-disable).
    after_results: Callable[[list[tuple[DeliveryBase, SendResult]]], None] = lambda results: None
    # Called before targets are selected (e.g. create default email settings for members).
    prepare: Callable[[Any], None] = lambda event: None
    # Deliveries sent at once: threads in the engine's pool, or transfers in flight for a
    # transport with `send_many`. One claim takes this many (see engine.chunk_size).
    concurrency: int = 1
    # Extra custom-event filter (webhooks subscribe to custom types by name).
    accepts_custom: Callable[[Any, str], bool] | None = None
    _transport: Transport | None = None

    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = self.transport_factory()
        return self._transport

    def reset_transport(self) -> None:
        self._transport = None


_REGISTRY: dict[str, Channel] = {}


def register(channel: Channel) -> Channel:
    _REGISTRY[channel.name] = channel
    return channel


def get(name: str) -> Channel:
    return _REGISTRY[name]


def all_channels() -> Iterable[Channel]:
    return list(_REGISTRY.values())


def channel_for_model(model: type[DeliveryBase]) -> Channel:
    for channel in _REGISTRY.values():
        if channel.delivery_model is model:
            return channel
    raise KeyError(model)
