"""Serializers of the github part of the integrations."""
