"""Admin of the webhooks integration."""
