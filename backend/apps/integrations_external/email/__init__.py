"""Email: each person's settings, notifications, summaries and one-click unsubscribe."""
