from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.projects.models import Project, UserStory
from apps.projects.selectors import projects_visible_to


@extend_schema_field(OpenApiTypes.INT)  # a project id, also in serializers without a model
class VisibleProjectField(serializers.PrimaryKeyRelatedField):
    """A project id the caller can see; any other id is "does not exist" (400), never a leak."""

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return Project.objects.none()
        return projects_visible_to(request.user)


class ProjectSerializer(serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(read_only=True)
    owner_username = serializers.CharField(source="owner.get_username", read_only=True)
    members = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=get_user_model().objects.filter(is_active=True)
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "description",
            "owner",
            "owner_username",
            "members",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class UserStorySerializer(serializers.ModelSerializer):
    project = VisibleProjectField()
    key = serializers.CharField(read_only=True)
    created_by = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = UserStory
        fields = [
            "id",
            "key",
            "project",
            "title",
            "description",
            "acceptance_criteria",
            "status",
            "priority",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_project(self, project: Project) -> Project:
        # A story cannot be moved to another project: its key and links belong to this one.
        if self.instance is not None and project.pk != self.instance.project_id:
            raise serializers.ValidationError("A story cannot move to another project.")
        return project
