from django.urls import path

from epos import views

app_name = "profile"

urlpatterns = [
    path("", views.profile_detail, name="detail"),
    path("update/", views.profile_update, name="update"),
    path("api-keys/", views.api_key_create, name="api-key-create"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api-key-revoke"),
]
