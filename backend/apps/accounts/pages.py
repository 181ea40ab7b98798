"""The API tokens page: create a named token (key shown once), see when each was last used,
revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from apps.accounts.forms import TokenForm
from apps.accounts.selectors import tokens_of
from apps.accounts.services import TokenLimitReached, create_token, revoke_token


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    context = {"form": form, "created_key": None}
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            token, key = create_token(user=request.user, name=form.cleaned_data["name"])
        except TokenLimitReached as exc:
            form.add_error("name", str(exc))
        else:
            # The key is in this answer only: it is stored hashed and cannot be shown again.
            messages.success(request, f"Token “{token.name}” created.")
            context.update(created_key=key, created=token, form=TokenForm())
            status = 201
    context["tokens"] = tokens_of(request.user)
    response = render(request, "accounts/tokens.html", context, status=status)
    if context["created_key"]:
        add_never_cache_headers(response)  # a key: kept by no cache, not even history
    return response


@require_POST
@login_required
def token_revoke(request: HttpRequest, token_pk: int) -> HttpResponse:
    token = revoke_token(user=request.user, token_pk=token_pk)
    if token is None:
        messages.error(request, "No such token: it may have been revoked already.")
    else:
        messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("accounts:tokens")
