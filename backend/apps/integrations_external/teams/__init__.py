"""Microsoft Teams: notifications as Adaptive Cards posted to a Teams Workflows webhook."""
