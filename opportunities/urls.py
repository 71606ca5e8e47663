from django.urls import path

from opportunities.views import accounts, actions, board, detail, survey

app_name = "opportunities"

urlpatterns = [
    path("", board.home, name="home"),
    path("board/<slug:process_slug>/", board.board, name="board"),
    path(
        "board/<slug:process_slug>/column/<int:stage_id>/",
        board.board_column,
        name="board-column",
    ),
    path("opportunities/", detail.opportunity_list, name="opportunity-list"),
    path("opportunities/new/", detail.opportunity_create, name="opportunity-create"),
    path("opportunities/<int:pk>/", detail.opportunity_detail, name="opportunity-detail"),
    path("opportunities/<int:pk>/edit/", detail.opportunity_edit, name="opportunity-edit"),
    path("opportunities/<int:pk>/move/", actions.opportunity_move, name="opportunity-move"),
    path(
        "opportunities/<int:pk>/checklist/<int:item_pk>/",
        actions.checklist_item_update,
        name="checklist-item",
    ),
    path(
        "opportunities/<int:pk>/qualification/",
        actions.qualification_update,
        name="qualification",
    ),
    path("opportunities/<int:pk>/activities/", actions.activity_create, name="activity-create"),
    path("opportunities/<int:pk>/gaps/", actions.product_gap_create, name="gap-create"),
    path("opportunities/<int:pk>/esat/", actions.esat_invite, name="esat-invite"),
    path("accounts/", accounts.account_list, name="account-list"),
    path("accounts/new/", accounts.account_edit, name="account-create"),
    path("accounts/<int:pk>/", accounts.account_detail, name="account-detail"),
    path("accounts/<int:pk>/edit/", accounts.account_edit, name="account-edit"),
    path("survey/<str:token>/", survey.esat_survey, name="esat-survey"),
]
