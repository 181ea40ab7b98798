"""Serializers of the email part of the integrations."""
