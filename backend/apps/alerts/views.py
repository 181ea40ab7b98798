from __future__ import annotations

from rest_framework import mixins, permissions, viewsets

from apps.alerts import services
from apps.alerts.models import SystemAlert
from apps.alerts.serializers import SystemAlertSerializer


class IsStaffOrReadOnly(permissions.BasePermission):
    message = "Only staff users can raise or remove system alerts."

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or bool(
            request.user and request.user.is_staff
        )


class SystemAlertViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Platform-wide alerts: every signed-in user reads them; only staff raise them."""

    serializer_class = SystemAlertSerializer
    permission_classes = [permissions.IsAuthenticated, IsStaffOrReadOnly]
    filterset_fields = ["severity", "source"]
    ordering_fields = ["created_at", "severity"]
    queryset = SystemAlert.objects.all()

    def perform_create(self, serializer: SystemAlertSerializer) -> None:
        serializer.instance = services.system_alert_raise(
            actor=self.request.user, **serializer.validated_data
        )
