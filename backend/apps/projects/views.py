from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.projects import services
from apps.projects.models import Project
from apps.projects.selectors import (
    projects_visible_to,
    user_can_manage_project,
    user_stories_visible_to,
)
from apps.projects.serializers import ProjectSerializer, UserStorySerializer


class IsProjectOwnerOrReadOnly(permissions.BasePermission):
    """Members work inside a project; only its owner (or staff) edits or deletes it."""

    message = "Only the project's owner can change or delete it."

    def has_object_permission(self, request, view, obj: Project) -> bool:
        if request.method in permissions.SAFE_METHODS or view.action == "leave":
            return True  # leaving is for members: the service refuses the owner
        return user_can_manage_project(request.user, obj)


class ProjectViewSet(viewsets.ModelViewSet):
    serializer_class = ProjectSerializer
    permission_classes = [permissions.IsAuthenticated, IsProjectOwnerOrReadOnly]
    ordering_fields = ["created_at", "updated_at", "name"]
    filterset_fields = ["owner"]
    conflict_actions = {"leave"}  # 409 (core/api/schema.py): an owner cannot leave

    def get_queryset(self):
        return (
            projects_visible_to(self.request.user)
            .select_related("owner")
            .prefetch_related("members")
        )

    def perform_create(self, serializer: ProjectSerializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = services.project_create(owner=self.request.user, **data)

    def perform_update(self, serializer: ProjectSerializer) -> None:
        serializer.instance = services.project_update(
            project=serializer.instance,
            actor=self.request.user,
            data=dict(serializer.validated_data),
        )

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["get", "post"])
    def leave(self, request: Request, pk: str | None = None) -> Response:
        """POST: stop being a member (the owner cannot). GET (the link in project emails) says
        which project this is and how to leave it."""
        project = self.get_object()
        if request.method == "GET":
            return Response(
                {
                    "project": project.pk,
                    "name": project.name,
                    "owner_username": project.owner.get_username(),
                    "detail": "POST to this address to leave the project.",
                }
            )
        services.project_leave(project=project, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserStoryViewSet(viewsets.ModelViewSet):
    serializer_class = UserStorySerializer
    filterset_fields = ["project", "status", "priority"]
    ordering_fields = ["created_at", "updated_at", "priority", "status"]

    def get_queryset(self):
        return user_stories_visible_to(self.request.user)

    def perform_create(self, serializer: UserStorySerializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = services.user_story_create(
            actor=self.request.user, project=data.pop("project"), **data
        )
