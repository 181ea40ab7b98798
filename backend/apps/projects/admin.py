from django.contrib import admin

from apps.projects.models import Project, UserStory


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "created_at", "updated_at"]
    search_fields = ["name", "owner__username"]
    filter_horizontal = ["members"]


@admin.register(UserStory)
class UserStoryAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "project", "status", "priority", "created_at"]
    list_filter = ["status", "priority"]
    search_fields = ["title"]
    raw_id_fields = ["project", "created_by"]
