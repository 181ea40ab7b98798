"""Admin of the email integration."""
