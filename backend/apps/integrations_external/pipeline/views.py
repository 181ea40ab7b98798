"""API views of the events part of the integrations: publish custom events, see recent ones."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apps.integrations_external.permissions import request_user
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.pipeline.models import Event
from apps.integrations_external.pipeline.selectors import delivery_summaries, events_visible_to
from apps.integrations_external.pipeline.serializers import EventCreateSerializer, EventSerializer
from core.api.filters import FilterSet


class EventFilter(FilterSet):
    type = django_filters.CharFilter()
    project = django_filters.NumberFilter(field_name="project_id")
    since = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")

    class Meta:
        model = Event
        fields = ["type", "project", "since"]


class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """`POST events/` publishes a custom event (202 with its id); `GET events/` lists the recent
    events you can see, each with a summary of its deliveries to your integrations."""

    serializer_class = EventSerializer
    filterset_class = EventFilter
    ordering_fields = ["occurred_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Event.objects.none()
        return events_visible_to(request_user(self.request)).order_by("-occurred_at", "-created_at")

    def get_serializer_class(self):
        return EventCreateSerializer if self.action == "create" else EventSerializer

    def _with_summaries(self, events) -> dict:
        return {
            **self.get_serializer_context(),
            "delivery_summaries": delivery_summaries(events, request_user(self.request)),
        }

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(
            EventSerializer(page, many=True, context=self._with_summaries(page)).data
        )

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        event = self.get_object()
        return Response(EventSerializer(event, context=self._with_summaries([event])).data)

    @extend_schema(
        request=EventCreateSerializer,
        responses={
            202: inline_serializer(
                "EventQueued",
                {"id": serializers.CharField(), "type": serializers.CharField()},
            )
        },
    )
    def create(self, request: Request) -> Response:
        serializer = EventCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        event = publish(
            data["type"],
            data.get("data") or {},
            project=data.get("project"),
            actor=request_user(request),
        )
        return Response({"id": event.pk, "type": event.type}, status=status.HTTP_202_ACCEPTED)
