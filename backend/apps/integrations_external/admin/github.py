"""Admin of the github integration."""
