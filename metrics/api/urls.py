from django.urls import path

from metrics.api import views

urlpatterns = [
    path("metrics/summary/", views.SummaryView.as_view(), name="metrics-summary"),
    path("metrics/funnel/", views.FunnelView.as_view(), name="metrics-funnel"),
    path("metrics/time-in-stage/", views.TimeInStageView.as_view(), name="metrics-time-in-stage"),
]
