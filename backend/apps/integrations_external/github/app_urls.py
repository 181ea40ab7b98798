"""The GitHub App's install pages (included by page_urls.py, namespace `integrations`)."""

from django.urls import path

from apps.integrations_external.github import app_pages

urlpatterns = [
    path(
        "projects/<int:project_pk>/integrations/github/app/install/",
        app_pages.github_app_install,
        name="github-app-install",
    ),
    path(
        "projects/<int:project_pk>/integrations/github/app/<int:attempt_pk>/repositories/",
        app_pages.github_app_repositories,
        name="github-app-repositories",
    ),
    # The app's setup (callback) URL: one for the whole site, registered with GitHub.
    path("integrations/github/app/setup/", app_pages.github_app_setup, name="github-app-setup"),
]
