"""API views of the events part of the integrations."""

urlpatterns: list = []
