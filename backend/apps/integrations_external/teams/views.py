"""API of the Teams integration: `/api/v1/integrations-external/teams/…`.

Who sees and does what: permissions.py (docs/permissions.md). Logic lives in TeamsService.
"""

from __future__ import annotations

from typing import cast

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from apps.integrations_external.permissions import IntegrationPermission, request_user
from apps.integrations_external.teams.models import TeamsIntegration
from apps.integrations_external.teams.selectors import teams_deliveries_of, teams_integrations_of
from apps.integrations_external.teams.serializers import (
    TeamsDeliverySerializer,
    TeamsIntegrationSerializer,
    TeamsVerificationSerializer,
)
from apps.integrations_external.teams.services import TeamsService


class TeamsIntegrationViewSet(viewsets.ModelViewSet):
    serializer_class = TeamsIntegrationSerializer
    permission_classes = [IntegrationPermission]
    filterset_fields = ["project", "is_active", "is_healthy"]
    ordering_fields = ["created_at", "channel_name"]
    throttle_scopes = {"verify": "outbound", "test_message": "outbound"}
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[TeamsIntegration]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return TeamsIntegration.objects.none()
        return teams_integrations_of(request_user(self.request))

    def perform_create(self, serializer: BaseSerializer[TeamsIntegration]) -> None:
        serializer.save(owner=self.request.user)

    def perform_update(self, serializer: BaseSerializer[TeamsIntegration]) -> None:
        instance = cast(TeamsIntegration, serializer.instance)  # an update has its instance
        serializer.instance = TeamsService(instance).update(**serializer.validated_data)

    @extend_schema(request=None, responses=TeamsVerificationSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str | None = None) -> Response:
        """Post a test card now; 200 with {"ok", "detail"} whatever the outcome."""
        integration = self.get_object()
        data = TeamsService(integration).verify().as_dict()
        data["integration"] = TeamsIntegrationSerializer(
            integration, context=self.get_serializer_context()
        ).data
        return Response(data)

    @extend_schema(request=None, responses={202: TeamsDeliverySerializer})
    @action(detail=True, methods=["post"], url_path="test-message")
    def test_message(self, request: Request, pk: str | None = None) -> Response:
        """Queue a test card through the real delivery path; answers with the delivery."""
        delivery = TeamsService(self.get_object()).queue_test_card(actor=request_user(request))
        return Response(TeamsDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=TeamsDeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """This integration's cards: status, attempts, Teams' answers."""
        queryset = teams_deliveries_of(self.get_object())
        page = self.paginate_queryset(queryset)
        serializer = TeamsDeliverySerializer(page if page is not None else queryset, many=True)
        if page is not None:
            return self.get_paginated_response(serializer.data)
        return Response(serializer.data)
