from rest_framework.routers import SimpleRouter

from building_blocks.api import views

router = SimpleRouter()
router.register("building-blocks", views.BuildingBlockViewSet, basename="building-block")
urlpatterns = router.urls
