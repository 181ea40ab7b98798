"""API views of the webhooks part of the integrations."""

urlpatterns: list = []
