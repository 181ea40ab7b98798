"""Serializers of the slack part of the integrations."""
