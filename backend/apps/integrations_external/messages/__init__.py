"""Message builders: Block Kit for Slack, templates for email."""
