from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from apps.portal import views
from core.api.throttling import throttle_login

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        throttle_login(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "account/password/",
        auth_views.PasswordChangeView.as_view(
            success_url=reverse_lazy("portal:password_change_done")
        ),
        name="password_change",
    ),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            success_url=reverse_lazy("portal:password_reset_done"),
            email_template_name="registration/password_reset_email.txt",
            subject_template_name="registration/password_reset_subject.txt",
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("portal:password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("projects/", views.project_list, name="projects"),
    path("projects/<int:project_pk>/", views.project_stories, name="project"),
    path("projects/<int:project_pk>/workflows/", views.project_workflows, name="workflows"),
    path("projects/<int:project_pk>/executions/", views.project_executions, name="executions"),
    path("projects/<int:project_pk>/stories/<int:story_pk>/", views.story_detail, name="story"),
    path(
        "projects/<int:project_pk>/executions/workflow/<int:execution_pk>/",
        views.workflow_execution_detail,
        name="workflow_execution",
    ),
    path(
        "projects/<int:project_pk>/executions/command/<int:execution_pk>/",
        views.command_execution_detail,
        name="command_execution",
    ),
    # Short links for messages (emails, Slack, GitHub): id only, redirect to the page.
    path(
        "workflow-executions/<int:execution_pk>/",
        views.workflow_execution_link,
        name="workflow_execution_link",
    ),
    path(
        "command-executions/<int:execution_pk>/",
        views.command_execution_link,
        name="command_execution_link",
    ),
    path("stories/<int:story_pk>/", views.story_link, name="story_link"),
]
