"""Serializers of the webhooks part of the integrations."""
