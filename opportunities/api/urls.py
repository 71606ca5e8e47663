from rest_framework.routers import SimpleRouter

from opportunities.api import views

router = SimpleRouter()
router.register("accounts", views.AccountViewSet, basename="account")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("opportunities", views.OpportunityViewSet, basename="opportunity")
router.register("activities", views.ActivityViewSet, basename="activity")
router.register("esat-responses", views.EsatResponseViewSet, basename="esat-response")
router.register("product-gaps", views.ProductGapViewSet, basename="product-gap")
urlpatterns = router.urls
