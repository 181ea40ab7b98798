"""API views of the email part of the integrations."""

urlpatterns: list = []
