"""API views of the webhooks part of the integrations.

Who sees and does what is decided in permissions.py (docs/permissions.md): an endpoint without a
project is its creator's alone (404 for anyone else, staff included: staff use the admin); one
with a project is read by the project's people and managed by its owner or staff.
"""

from __future__ import annotations

from typing import cast

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from apps.integrations_external.permissions import IntegrationPermission, request_user
from apps.integrations_external.pipeline.models import DeliveryStatus
from apps.integrations_external.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.integrations_external.webhooks.selectors import (
    webhook_deliveries_of,
    webhook_endpoints_of,
)
from apps.integrations_external.webhooks.serializers import (
    RecoverSerializer,
    RotateSecretSerializer,
    WebhookDeliveryDetailSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointSerializer,
)
from apps.integrations_external.webhooks.services import (
    WebhookService,
    webhook_delivery_redeliver,
    webhook_endpoint_create,
)
from core.api.filters import FilterSet
from core.api.pagination import NewestFirstCursorPagination


class WebhookDeliveryFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event_type = django_filters.CharFilter()
    endpoint = django_filters.NumberFilter(field_name="endpoint_id")
    event = django_filters.CharFilter(field_name="event_id")
    webhook_id = django_filters.CharFilter()

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event_type", "endpoint", "event", "webhook_id"]


class WebhookEndpointViewSet(viewsets.ModelViewSet):
    serializer_class = WebhookEndpointSerializer
    permission_classes = [IntegrationPermission]
    filterset_fields = ["is_active", "project"]
    ordering_fields = ["created_at", "name", "last_triggered_at"]
    throttle_scopes = {"test": "outbound", "recover": "resend"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return WebhookEndpoint.objects.none()
        return webhook_endpoints_of(request_user(self.request))

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_create(owner=request.user, **serializer.validated_data)
        shown = self.get_serializer(
            endpoint, context={**self.get_serializer_context(), "reveal_secret": True}
        )
        return Response(shown.data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: BaseSerializer[WebhookEndpoint]) -> None:
        instance = cast(WebhookEndpoint, serializer.instance)  # an update has its instance
        serializer.instance = WebhookService(instance).update(**serializer.validated_data)

    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk=None) -> Response:
        """Send a `webhook.test` event through the real delivery path; returns the delivery."""
        delivery = WebhookService(self.get_object()).queue_test(actor=request.user)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses=WebhookDeliverySerializer(many=True),
        filters=False,  # the endpoints' filters do not apply: the deliveries' own, below
        parameters=[
            OpenApiParameter("status", enum=DeliveryStatus.values),
            OpenApiParameter("event_type", str),
            OpenApiParameter("endpoint", int),
            OpenApiParameter("event", str),
            OpenApiParameter("webhook_id", str),
        ],
    )
    @action(detail=True, methods=["get"], pagination_class=NewestFirstCursorPagination)
    def deliveries(self, request: Request, pk=None) -> Response:
        endpoint = self.get_object()
        filterset = WebhookDeliveryFilter(
            request.query_params, queryset=WebhookDelivery.objects.filter(endpoint=endpoint)
        )
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        queryset = filterset.qs
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(
            WebhookDeliverySerializer(page, many=True, context=self.get_serializer_context()).data
        )

    @action(
        detail=True,
        methods=["post"],
        url_path="rotate-secret",
        serializer_class=RotateSecretSerializer,
    )
    def rotate_secret(self, request: Request, pk=None) -> Response:
        """A new secret, shown this once; the old one keeps signing for 24 hours."""
        endpoint = self.get_object()
        serializer = RotateSecretSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        secret = WebhookService(endpoint).rotate_secret(
            secret=serializer.validated_data.get("secret")
        )
        return Response(
            {
                "id": endpoint.pk,
                "secret": secret,
                "previous_secret_expires_at": endpoint.previous_secret_expires_at,
            }
        )

    @action(detail=True, methods=["post"], serializer_class=RecoverSerializer)
    def recover(self, request: Request, pk=None) -> Response:
        """Re-send every delivery that failed since `since`; answers with how many."""
        endpoint = self.get_object()
        serializer = RecoverSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = WebhookService(endpoint).recover(since=serializer.validated_data["since"])
        return Response({"recovered": count}, status=status.HTTP_202_ACCEPTED)


class WebhookDeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    filterset_class = WebhookDeliveryFilter
    permission_classes = [IntegrationPermission]
    # Pages by cursor, newest first (or oldest first with ?ordering=created_at).
    pagination_class = NewestFirstCursorPagination
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
    throttle_scopes = {"redeliver": "resend"}
    conflict_actions = {"redeliver"}  # 409 (core/api/schema.py): the original is still open

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return WebhookDelivery.objects.none()
        queryset = webhook_deliveries_of(request_user(self.request))
        if self.action != "list":
            queryset = queryset.prefetch_related("attempts")
        return queryset

    def get_serializer_class(self):
        return (
            WebhookDeliverySerializer if self.action == "list" else WebhookDeliveryDetailSerializer
        )

    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, pk=None) -> Response:
        """Send again as a new delivery with the same webhook-id (409 while still in progress)."""
        copy = webhook_delivery_redeliver(delivery=self.get_object())
        return Response(WebhookDeliverySerializer(copy).data, status=status.HTTP_202_ACCEPTED)
