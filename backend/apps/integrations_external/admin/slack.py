"""Admin of the slack integration."""
