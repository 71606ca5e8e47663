from rest_framework.routers import SimpleRouter

from integrations.api import views

router = SimpleRouter()
router.register("hooks", views.HookViewSet, basename="hook")
router.register("events", views.EventViewSet, basename="event")
urlpatterns = router.urls
