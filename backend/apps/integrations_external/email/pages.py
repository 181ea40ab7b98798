"""The signed-in person's email pages (issue 13): their own switches, a test email, and their
sent-mail history. Always the caller's own, as in the API (`email/`, `email/deliveries/`)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.integrations_external.email.forms import EmailSettingsForm
from apps.integrations_external.email.selectors import emails_sent_to
from apps.integrations_external.email.serializers import EmailNotificationSettingsSerializer
from apps.integrations_external.email.services import EmailService, NoEmailAddress, settings_for
from apps.integrations_external.page_support import (
    THROTTLED,
    answer,
    outbound_allowed,
    page_user,
    validate_with,
)

PAGE_SIZE = 25


@login_required
@require_http_methods(["GET", "POST"])
def email_settings(request: HttpRequest) -> HttpResponse:
    row = settings_for(page_user(request))
    form = EmailSettingsForm(request.POST or None, instance=row)
    if request.method == "POST" and form.is_valid():
        serializer = EmailNotificationSettingsSerializer(
            row, data=form.api_data(), partial=True, context={"request": request}
        )
        if validate_with(serializer, form):
            serializer.save()
            return answer(
                request,
                level="success",
                message="Email settings saved.",
                redirect_to=reverse("integrations:email-settings"),
            )
    page = Paginator(emails_sent_to(page_user(request)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "integrations_external/email/settings.html",
        {"form": form, "page": page, "settings_row": row},
    )


@login_required
@require_POST
def email_test(request: HttpRequest) -> HttpResponse:
    """A test email to the caller through the normal delivery path (the API's test-email)."""
    if not outbound_allowed(request, view_name="EmailSettingsViewSet", action="test_email"):
        level, message = "error", THROTTLED
    else:
        try:
            EmailService(page_user(request)).queue_test_email()
        except NoEmailAddress:
            level = "error"
            message = "Your account has no email address; ask an administrator to add one."
        else:
            level, message = "success", f"Test email queued to {page_user(request).email}."
    return answer(
        request, level=level, message=message, redirect_to=reverse("integrations:email-settings")
    )
