"""Serializers of the events part of the integrations."""
