from django.urls import path

from opportunities.importers import views

app_name = "imports"

urlpatterns = [
    path("", views.import_upload, name="upload"),
    path("confirm/", views.import_confirm, name="confirm"),
    path("cancel/", views.import_cancel, name="cancel"),
]
