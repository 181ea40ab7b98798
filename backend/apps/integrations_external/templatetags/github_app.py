"""`{% github_app_configured as name %}`: whether the site has a GitHub App (Install button)."""

from django import template

from apps.integrations_external.github.app import app_configured

register = template.Library()


@register.simple_tag
def github_app_configured() -> bool:
    return app_configured()
