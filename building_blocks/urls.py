from django.urls import path

from building_blocks import views
from building_blocks.curation import views as curation_views

app_name = "building_blocks"

urlpatterns = [
    path("blocks/", views.block_list, name="block-list"),
    path("blocks/new/", views.block_create, name="block-create"),
    path("blocks/preview/", views.markdown_preview, name="markdown-preview"),
    path("blocks/review/", views.review_queue, name="review-queue"),
    path("blocks/<int:pk>/", views.block_detail, name="block-detail"),
    path("blocks/<int:pk>/edit/", views.block_edit, name="block-edit"),
    path("blocks/<int:pk>/file/", views.block_file, name="block-file"),
    path("blocks/<int:pk>/history/", views.block_history, name="block-history"),
    path(
        "blocks/<int:pk>/versions/<int:number>/file/",
        views.block_version_file,
        name="block-version-file",
    ),
    path(
        "blocks/<int:pk>/versions/<int:number>/restore/",
        views.block_restore,
        name="block-restore",
    ),
    path("blocks/<int:pk>/submit/", views.block_submit, name="block-submit"),
    path("blocks/<int:pk>/approve/", views.block_approve, name="block-approve"),
    path("blocks/<int:pk>/send-back/", views.block_send_back, name="block-send-back"),
    path("blocks/<int:pk>/archive/", views.block_archive, name="block-archive"),
    path("blocks/<int:pk>/unarchive/", views.block_unarchive, name="block-unarchive"),
    path("blocks/<int:pk>/reviewed/", views.block_mark_reviewed, name="block-reviewed"),
    path("blocks/<int:pk>/use/", views.block_use, name="block-use"),
    path(
        "blocks/opportunity/<int:opportunity_id>/",
        views.opportunity_panel,
        name="opportunity-panel",
    ),
    path(
        "blocks/opportunity/<int:opportunity_id>/discovery/",
        views.discovery_add,
        name="discovery-add",
    ),
    path(
        "blocks/opportunity/<int:opportunity_id>/discovery/<int:link_id>/",
        views.discovery_update,
        name="discovery-update",
    ),
    path(
        "blocks/opportunity/<int:opportunity_id>/discovery/<int:link_id>/remove/",
        views.discovery_remove,
        name="discovery-remove",
    ),
    path("catalog/", views.catalog, name="catalog"),
    path("catalog/manage/", curation_views.catalog_manage, name="catalog-manage"),
    path(
        "catalog/manage/builtin/apply/",
        curation_views.catalog_builtin_apply,
        name="catalog-builtin-apply",
    ),
    path("catalog/challenges/new/", curation_views.challenge_create, name="challenge-create"),
    path("catalog/challenges/<int:pk>/edit/", curation_views.challenge_edit, name="challenge-edit"),
    path(
        "catalog/challenges/<int:pk>/delete/",
        curation_views.challenge_delete,
        name="challenge-delete",
    ),
    path("catalog/needs/new/", curation_views.need_create, name="need-create"),
    path("catalog/needs/<int:pk>/edit/", curation_views.need_edit, name="need-edit"),
    path("catalog/needs/<int:pk>/delete/", curation_views.need_delete, name="need-delete"),
    path("catalog/links/new/", curation_views.link_create, name="link-create"),
    path("catalog/links/<int:pk>/edit/", curation_views.link_edit, name="link-edit"),
    path("catalog/links/<int:pk>/delete/", curation_views.link_delete, name="link-delete"),
    path("training/", views.training_list, name="training"),
    path("training/steps/<int:step_id>/done/", views.training_step_done, name="training-step"),
    path("training/team/", views.training_team, name="training-team"),
    path("training/paths/new/", curation_views.path_create, name="path-create"),
    path("training/paths/<int:pk>/edit/", curation_views.path_edit, name="path-edit"),
    path("training/paths/<int:pk>/steps/new/", curation_views.step_add, name="step-add"),
    path(
        "training/paths/<int:pk>/steps/<int:step_id>/edit/",
        curation_views.step_edit,
        name="step-edit",
    ),
    path(
        "training/paths/<int:pk>/steps/<int:step_id>/move/",
        curation_views.step_move,
        name="step-move",
    ),
    path(
        "training/paths/<int:pk>/steps/<int:step_id>/remove/",
        curation_views.step_remove,
        name="step-remove",
    ),
]
