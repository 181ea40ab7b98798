from __future__ import annotations

from rest_framework import permissions, viewsets

from apps.projects import services
from apps.projects.models import Project
from apps.projects.selectors import projects_visible_to, user_stories_visible_to
from apps.projects.serializers import ProjectSerializer, UserStorySerializer


class IsProjectOwnerOrReadOnly(permissions.BasePermission):
    """Members work inside a project; only its owner (or staff) edits or deletes it."""

    message = "Only the project's owner can change or delete it."

    def has_object_permission(self, request, view, obj: Project) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return request.user.is_staff or obj.owner_id == request.user.pk


class ProjectViewSet(viewsets.ModelViewSet):
    serializer_class = ProjectSerializer
    permission_classes = [permissions.IsAuthenticated, IsProjectOwnerOrReadOnly]
    ordering_fields = ["created_at", "updated_at", "name"]
    filterset_fields = ["owner"]

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
