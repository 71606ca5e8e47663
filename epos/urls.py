from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from epos import views_search
from epos.health import healthz

api_v1 = [
    path("", include("stages.api.urls")),
    path("", include("opportunities.api.urls")),
    path("", include("building_blocks.api.urls")),
    path("", include("metrics.api.urls")),
    path("", include("epos.api.urls")),
    path("", include("integrations.api.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, which the Content-Security-Policy
    # allows (the plain view inlines it).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="epos/swagger_ui.html"
        ),
        name="swagger-ui",
    ),
    path("imports/", include("opportunities.importers.urls")),
    path("integrations/", include("integrations.urls")),
    path("profile/", include("epos.urls_profile")),
    path("search/", views_search.search, name="search"),
    path("", include("building_blocks.urls")),
    path("", include("metrics.urls")),
    path("", include("opportunities.urls")),
]

# The styled pages for people, JSON for API clients.
handler404 = "epos.views.page_not_found"
handler500 = "epos.views.server_error"
