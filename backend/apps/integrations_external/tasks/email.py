"""Celery tasks of the email integration."""
