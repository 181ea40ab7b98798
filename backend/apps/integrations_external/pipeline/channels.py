"""The channel contract: what every channel (webhook, slack, email, github) stores, who it may
reach and how it sends.

A channel is a subclass of `Channel` registered once per process; the engine
(pipeline/engine.py) and the routing rule (pipeline/routing.py) are written once against it and
know no provider.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from django.db import models

from apps.integrations_external.pipeline.models import DeliveryBase, Event


class Outcome(StrEnum):
    """What one attempt came to (stored as text on attempts: the values are the wire names)."""

    SUCCESS = "success"
    # Temporary: back off, or wait `retry_after` seconds.
    RETRY = "retry"
    # Permanent for this delivery: do not retry.
    FAILED = "failed"
    # Not attempted (e.g. pacing): reschedule after `retry_after` without spending an attempt.
    DEFER = "defer"


@dataclass(frozen=True)
class SendResult:
    """One attempt's result, as a transport reports it.

    `target_problem`: the target itself is broken (bad token, 410 Gone, bot removed): the
    channel marks it unhealthy or disables it with this reason.
    `delivery_fields`: extra fields to store on the delivery (e.g. Slack's message ts).
    """

    outcome: Outcome
    response_status: int | None = None
    response_body: str = ""
    error: str = ""
    retry_after: float | None = None
    duration_ms: int | None = None
    target_problem: str = ""
    delivery_fields: dict[str, Any] = field(default_factory=dict)
    request_headers: dict[str, str] = field(default_factory=dict)


Results = list[tuple[Any, SendResult]]


class Transport(Protocol):
    """Sends one delivery and says how it went; never raises for the target's own failures."""

    def send(self, delivery: Any) -> SendResult: ...


@runtime_checkable
class BatchTransport(Protocol):
    """A transport that sends a whole claimed chunk concurrently itself (webhooks: libcurl's
    multi interface). Results come back in the deliveries' order."""

    def send(self, delivery: Any) -> SendResult: ...

    def send_many(self, deliveries: Sequence[Any]) -> list[SendResult]: ...


TransportT = TypeVar("TransportT", bound=Transport)


class Channel(ABC):
    """One way of reaching people. Subclasses set the class attributes and implement the
    abstract methods; `register()` makes an instance known to the engine and routing."""

    name: ClassVar[str]
    delivery_model: ClassVar[type[DeliveryBase]]
    # The path from a target row to the user who owns it ("owner" or "user").
    owner_path: ClassVar[str]
    # Whether targets carry an optional `project` scope.
    project_scoped: ClassVar[bool]
    # Deliveries sent at once: threads in the engine's pool, or transfers in flight for a
    # BatchTransport. One claim takes this many (see engine.chunk_size).
    concurrency: ClassVar[int] = 1
    # Whether custom events (any type a user publishes) may reach this channel's targets;
    # `accepts_custom` then decides per target.
    custom_events: ClassVar[bool] = False
    # The event types routed to this channel (None: every type its targets' switches allow).
    event_types: ClassVar[frozenset[str] | None] = None
    # The target's limit fields: (most deliveries in flight at once, most per second), either
    # NULL for no limit. The claim reads them with the due deliveries, counts each limited
    # target's deliveries in flight and serialises claims per target (pipeline/limits.py).
    # None: targets have no limits, and the claim stays one UPDATE.
    limit_fields: ClassVar[tuple[str, str] | None] = None
    # The target's fields that sending reads (transport, `max_retries`), loaded with each
    # claimed delivery; None loads them all. Any other field loads on first use, one query per
    # delivery, so a field missing here costs time, never correctness.
    target_fields: ClassVar[tuple[str, ...] | None] = None

    def __init__(self) -> None:
        self._transport: Transport | None = None

    @abstractmethod
    def targets(self) -> models.QuerySet[Any]:
        """The rows that may receive events, with the switches the routing rule reads. Routing
        loads every target of an event: load only what `delivery_row` and `accepts_custom`
        read (`.only()`) where targets are many."""

    @abstractmethod
    def delivery_row(self, event: Event, target: Any) -> dict[str, Any] | None:
        """The columns of `event`'s delivery to `target` that are the channel's own, by attname
        (its target's key, any column of its own); None skips the target. The pipeline adds
        what every delivery has (event, type, envelope, due time) and inserts plain rows: no
        model instance per delivery, a fan-out to thousands of targets stays cheap."""

    @abstractmethod
    def transport(self) -> Transport:
        """The transport of this process (use `_shared` so clients and pools are reused)."""

    @abstractmethod
    def max_retries(self, delivery: Any) -> int:
        """Retries after the first attempt for this delivery."""

    @abstractmethod
    def after_results(self, results: Results) -> None:
        """Called in the transaction that records a batch: health, counters, auto-disable."""

    def prepare(self, event: Event, *, people: list[int] | None = None) -> None:
        """Called before targets are selected (e.g. create default email settings). `people`:
        the users who may see the event's project, when routing read them already."""
        return None  # most channels need nothing

    def accepts_custom(self, target: Any, event_type: str) -> bool:
        """Whether `target` subscribed to the custom event type (with `custom_events`)."""
        return False

    def _shared(self, factory: Callable[[], TransportT]) -> TransportT:
        # One transport per channel and process, created on first use (in the worker child,
        # after the fork).
        if self._transport is None:
            self._transport = factory()
        return self._transport  # type: ignore[return-value]

    def reset_transport(self) -> None:
        self._transport = None


_REGISTRY: dict[str, Channel] = {}

ChannelT = TypeVar("ChannelT", bound=Channel)


def register(channel: ChannelT) -> ChannelT:
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
