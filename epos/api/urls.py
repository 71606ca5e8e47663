from django.urls import path
from rest_framework.routers import SimpleRouter

from epos.api import views

router = SimpleRouter()
router.register("users", views.UserViewSet, basename="user")
urlpatterns = [path("me/", views.MeView.as_view(), name="me"), *router.urls]
