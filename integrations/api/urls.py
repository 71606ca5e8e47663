from rest_framework.routers import SimpleRouter

from integrations.api import views

router = SimpleRouter()
router.register("hooks", views.HookViewSet, basename="hook")
router.register("events", views.EventViewSet, basename="event")
router.register("connections", views.ConnectionViewSet, basename="connection")
router.register("sync-runs", views.SyncRunViewSet, basename="sync-run")
urlpatterns = router.urls
