from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.commands import services
from apps.commands.selectors import command_executions_visible_to, commands_visible_to
from apps.commands.serializers import (
    CommandExecutionCompleteSerializer,
    CommandExecutionSerializer,
    CommandSerializer,
)


class CommandViewSet(viewsets.ModelViewSet):
    serializer_class = CommandSerializer
    filterset_fields = ["project"]
    ordering_fields = ["created_at", "name"]

    def get_queryset(self):
        return commands_visible_to(self.request.user)

    def perform_create(self, serializer: CommandSerializer) -> None:
        serializer.save(created_by=self.request.user)

    @extend_schema(request=None, responses={201: CommandExecutionSerializer})
    @action(detail=True, methods=["post"])
    def execute(self, request: Request, pk: str | None = None) -> Response:
        execution = services.command_execute(command=self.get_object(), actor=request.user)
        return Response(CommandExecutionSerializer(execution).data, status=status.HTTP_201_CREATED)


class CommandExecutionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = CommandExecutionSerializer
    filterset_fields = ["command", "status", "command__project"]
    ordering_fields = ["created_at", "completed_at"]
    conflict_actions = {"complete"}  # 409 (core/api/schema.py): the execution already finished

    def get_queryset(self):
        return command_executions_visible_to(self.request.user)

    @extend_schema(request=CommandExecutionCompleteSerializer, responses=CommandExecutionSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        execution = self.get_object()
        params = CommandExecutionCompleteSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        execution = services.command_execution_complete(
            execution=execution, actor=request.user, **params.validated_data
        )
        return Response(CommandExecutionSerializer(execution).data)
