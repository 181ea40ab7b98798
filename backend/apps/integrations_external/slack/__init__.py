"""Slack: a channel per integration, Block Kit messages posted by a bot token."""
