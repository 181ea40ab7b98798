from django.urls import path

from apps.accounts import pages

app_name = "accounts"

urlpatterns = [
    path("account/tokens/", pages.token_list, name="tokens"),
    path("account/tokens/<int:token_pk>/revoke/", pages.token_revoke, name="token-revoke"),
]
