"""Admin: one module per integration."""

from apps.integrations_external.admin import email, github, slack, webhooks  # noqa: F401
