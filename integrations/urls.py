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
]
