"""API views of the slack part of the integrations."""

urlpatterns: list = []
