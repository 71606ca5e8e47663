from django.urls import path

from opportunities.views import accounts, actions, board, detail, listing, myday, survey

app_name = "opportunities"

urlpatterns = [
    path("", board.home, name="home"),
    path("my-day/", myday.my_day, name="my-day"),
    path("board/<slug:process_slug>/", board.board, name="board"),
    path(
        "board/<slug:process_slug>/changes/",
        board.board_changes,
        name="board-changes",
    ),
    path(
        "board/<slug:process_slug>/column/<int:stage_id>/",
        board.board_column,
        name="board-column",
    ),
    path("opportunities/", listing.opportunity_list, name="opportunity-list"),
    path("opportunities/export.csv", listing.opportunity_export, name="opportunity-export"),
    path("opportunities/bulk/", listing.opportunity_bulk, name="opportunity-bulk"),
    path("opportunities/views/", listing.saved_view_create, name="saved-view-create"),
    path(
        "opportunities/views/<int:pk>/delete/",
        listing.saved_view_delete,
        name="saved-view-delete",
    ),
    path("opportunities/new/", detail.opportunity_create, name="opportunity-create"),
    path("opportunities/<int:pk>/", detail.opportunity_detail, name="opportunity-detail"),
    path("opportunities/<int:pk>/edit/", detail.opportunity_edit, name="opportunity-edit"),
    path(
        "opportunities/<int:pk>/timeline/",
        detail.opportunity_timeline,
        name="timeline",
    ),
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
    path("accounts/suggest/", accounts.account_suggest, name="account-suggest"),
    path("accounts/<int:pk>/", accounts.account_detail, name="account-detail"),
    path("accounts/<int:pk>/edit/", accounts.account_edit, name="account-edit"),
    path("survey/<str:token>/", survey.esat_survey, name="esat-survey"),
]
