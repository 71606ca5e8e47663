from rest_framework.routers import SimpleRouter

from stages.api.views import ProcessViewSet

router = SimpleRouter()
router.register("processes", ProcessViewSet, basename="process")
urlpatterns = router.urls
