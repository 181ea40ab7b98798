"""Celery tasks of the github integration."""
