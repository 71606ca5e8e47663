from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("", views.integrations_home, name="home"),
    path(
        "subscriptions/<int:pk>/pause/",
        views.subscription_set_paused,
        {"paused": True},
        name="subscription-pause",
    ),
    path(
        "subscriptions/<int:pk>/resume/",
        views.subscription_set_paused,
        {"paused": False},
        name="subscription-resume",
    ),
    path("deliveries/<int:pk>/resend/", views.delivery_resend, name="delivery-resend"),
    path("connections/", views.connection_create, name="connection-create"),
    path("connections/<int:pk>/test/", views.connection_test, name="connection-test"),
    path("connections/<int:pk>/sync/", views.connection_sync, name="connection-sync"),
    path(
        "connections/<int:pk>/enable/",
        views.connection_set_enabled,
        {"enabled": True},
        name="connection-enable",
    ),
    path(
        "connections/<int:pk>/disable/",
        views.connection_set_enabled,
        {"enabled": False},
        name="connection-disable",
    ),
    path("drive/opportunities/<int:pk>/folder/", views.drive_folder, name="drive-folder"),
]
