"""API of the Slack integration: `/api/v1/integrations-external/slack/…`.

Who sees and does what: permissions.py (docs/permissions.md). Logic lives in SlackService.
"""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from apps.integrations_external.permissions import IntegrationPermission, request_user
from apps.integrations_external.slack.models import SlackDelivery, SlackIntegration
from apps.integrations_external.slack.selectors import slack_integrations_of
from apps.integrations_external.slack.serializers import (
    SlackDeliverySerializer,
    SlackIntegrationSerializer,
    SlackVerificationSerializer,
)
from apps.integrations_external.slack.services import SlackService


class SlackIntegrationViewSet(viewsets.ModelViewSet):
    serializer_class = SlackIntegrationSerializer
    permission_classes = [IntegrationPermission]
    filterset_fields = ["project", "is_active", "is_healthy"]
    ordering_fields = ["created_at", "channel_name"]
    throttle_scopes = {"verify": "outbound", "test_message": "outbound"}
    # Ids are digits: `slack/events/` (Slack's signed events) is not an integration.
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return SlackIntegration.objects.none()
        return slack_integrations_of(request_user(self.request))

    def perform_create(self, serializer: BaseSerializer[SlackIntegration]) -> None:
        serializer.save(owner=self.request.user)

    def perform_update(self, serializer: BaseSerializer[SlackIntegration]) -> None:
        instance = cast(SlackIntegration, serializer.instance)  # an update has its instance
        serializer.instance = SlackService(instance).update(**serializer.validated_data)

    @extend_schema(request=None, responses=SlackVerificationSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str | None = None) -> Response:
        """auth.test + conversations.info; 200 with {"ok", "detail", …} whatever the outcome."""
        integration = self.get_object()
        result = SlackService(integration).verify_connection()
        data = result.as_dict()
        data["integration"] = SlackIntegrationSerializer(
            integration, context=self.get_serializer_context()
        ).data
        return Response(data)

    @extend_schema(request=None, responses={202: SlackDeliverySerializer})
    @action(detail=True, methods=["post"], url_path="test-message")
    def test_message(self, request: Request, pk: str | None = None) -> Response:
        """Queue a test message on the real delivery path; answers with the delivery."""
        delivery = SlackService(self.get_object()).queue_test_message(actor=request.user)
        return Response(SlackDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=SlackDeliverySerializer(many=True), filters=False)
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """This integration's messages: status, attempts, Slack's answers."""
        integration = self.get_object()
        queryset = SlackDelivery.objects.filter(integration=integration).prefetch_related(
            "attempts"
        )
        page = self.paginate_queryset(queryset)
        serializer = SlackDeliverySerializer(page if page is not None else queryset, many=True)
        if page is not None:
            return self.get_paginated_response(serializer.data)
        return Response(serializer.data)
