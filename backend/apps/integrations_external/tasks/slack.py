"""Celery tasks of the slack integration."""
