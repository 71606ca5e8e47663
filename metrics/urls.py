from django.urls import path

from metrics import views, views_automation

app_name = "metrics"

urlpatterns = [
    path("dashboards/", views.dashboard, name="dashboard"),
    path("dashboards/freshness/", views.dashboard_freshness, name="dashboard-freshness"),
    path("dashboards/opportunities/", views.drilldown, name="drilldown"),
    path("dashboards/quotas/", views.quotas, name="quotas"),
    path("automation/", views_automation.automation, name="automation"),
    path("pilots/", views.pilot_list, name="pilot-list"),
    path("pilots/new/", views.pilot_create, name="pilot-create"),
    path("pilots/<int:pk>/", views.pilot_detail, name="pilot-detail"),
    path("pilots/<int:pk>/roll-out/", views.pilot_roll_out, name="pilot-roll-out"),
    path("workload/", views.workload, name="workload"),
    path("workload/deals/", views.workload_deals, name="workload-deals"),
    path("workload/capacity/<int:user_id>/", views.workload_capacity, name="workload-capacity"),
]
