"""API views of the github part of the integrations."""

urlpatterns: list = []
