from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.workflows import services
from apps.workflows.selectors import workflow_executions_visible_to, workflows_visible_to
from apps.workflows.serializers import (
    WorkflowExecutionCompleteSerializer,
    WorkflowExecutionFailSerializer,
    WorkflowExecutionSerializer,
    WorkflowSerializer,
)


class WorkflowViewSet(viewsets.ModelViewSet):
    serializer_class = WorkflowSerializer
    filterset_fields = ["project", "is_active"]
    ordering_fields = ["created_at", "name"]
    conflict_actions = {"execute"}  # 409 (core/api/schema.py): an inactive workflow

    def get_queryset(self):
        return workflows_visible_to(self.request.user)

    def perform_create(self, serializer: WorkflowSerializer) -> None:
        serializer.save(created_by=self.request.user)

    @extend_schema(request=None, responses={201: WorkflowExecutionSerializer})
    @action(detail=True, methods=["post"])
    def execute(self, request: Request, pk: str | None = None) -> Response:
        execution = services.workflow_execute(workflow=self.get_object(), actor=request.user)
        return Response(WorkflowExecutionSerializer(execution).data, status=status.HTTP_201_CREATED)


class WorkflowExecutionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = WorkflowExecutionSerializer
    filterset_fields = ["workflow", "status", "workflow__project"]
    ordering_fields = ["created_at", "completed_at"]
    conflict_actions = {"complete", "fail", "cancel"}  # 409: the execution already finished

    def get_queryset(self):
        return workflow_executions_visible_to(self.request.user)

    @extend_schema(
        request=WorkflowExecutionCompleteSerializer, responses=WorkflowExecutionSerializer
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        execution = self.get_object()
        params = WorkflowExecutionCompleteSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        execution = services.workflow_execution_complete(
            execution=execution, actor=request.user, result=params.validated_data["result"]
        )
        return Response(WorkflowExecutionSerializer(execution).data)

    @extend_schema(request=WorkflowExecutionFailSerializer, responses=WorkflowExecutionSerializer)
    @action(detail=True, methods=["post"])
    def fail(self, request: Request, pk: str | None = None) -> Response:
        execution = self.get_object()
        params = WorkflowExecutionFailSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        execution = services.workflow_execution_fail(
            execution=execution,
            actor=request.user,
            error_message=params.validated_data["error_message"],
        )
        return Response(WorkflowExecutionSerializer(execution).data)

    @extend_schema(request=None, responses=WorkflowExecutionSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        execution = services.workflow_execution_cancel(
            execution=self.get_object(), actor=request.user
        )
        return Response(WorkflowExecutionSerializer(execution).data)
