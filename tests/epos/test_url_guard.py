"""The URL guard: every named URL of the project, for the role it is meant for and for the ones
it is not.

The names are read from the resolver (namespaces included), so a new URL fails
`test_every_named_url_is_covered` until it is added to ROUTES (or, with a reason, to SKIP). Each
route names who it is for and real arguments from one world built once for the module:

* `test_the_allowed_role_gets_it` renders the page for that role: 200 for a GET, and for a view
  that only takes a write (`require_POST`, a POST-only API action) 405 to a GET plus the
  expected answer to a small write of that role.
* `test_refused_roles_are_kept_out` asks as an anonymous visitor (the login page, 401 for the
  API), `nobody` (signed in, no role) and `dave` (an SA of another team, who must not find
  alice's deal and her own things: 404).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from building_blocks import services as block_services
from building_blocks.curation import services as curation
from epos.lib import crypto
from epos.models import ExternalRef
from epos.outbox import outbox_publish
from epos.services import api_key_create
from integrations.models import SyncRun, WebhookDelivery, WebhookSubscription
from integrations.sync import services as sync_services
from integrations.webhooks.services import _new_secret
from metrics import services as metric_services
from metrics.models import MetricSnapshot
from opportunities import services as deal_services
from opportunities.models import Opportunity, SavedView
from tests import factories
from tests.building_blocks.helpers import PDF, make_block, upload

pytestmark = pytest.mark.django_db

# --- the world ----------------------------------------------------------------------------------


@dataclasses.dataclass
class World:
    users: dict[str, Any]
    keys: dict[str, str]  # username -> raw API key
    sessions: dict[str, str]  # username -> session key, logged in once for the module
    process: Any
    stages: list
    deal: Any
    item: Any
    account: Any
    contact: Any
    activity: Any
    gap: Any
    esat: Any
    esat_token: str
    published: Any  # erin's, published by frank, with a file
    in_review: Any  # frank's, waiting for erin's review
    draft: Any  # erin's
    archived: Any
    guide: Any  # published, the step of the training path
    challenge: Any
    need: Any
    catalog_link: Any
    discovery: Any
    path: Any
    step: Any
    pilot: Any
    subscription: Any
    delivery: Any
    event: Any
    old_key: Any  # alice's second API key, to revoke
    connection: Any  # a Vivun CSV connection (admins only)
    sync_run: Any
    saved_view: Any  # alice's saved view of the opportunity list
    admin_objects: dict[type, int]  # every model the admin registers -> the pk of one row


def _persona(username, role=None, **fields):
    return factories.UserFactory(
        username=username, first_name=username.title(), last_name="Persona", role=role, **fields
    )


def build_world() -> World:
    team = factories.TeamFactory(name="Observability EMEA")
    other_team = factories.TeamFactory(name="Security APAC")
    users = {
        "alice": _persona("alice", "sa"),
        "carol": _persona("carol", "manager"),
        "dave": _persona("dave", "sa"),
        "erin": _persona("erin", "curator"),
        "frank": _persona("frank", "curator"),
        "root": _persona("root", "admin", is_staff=True, is_superuser=True),
        "nobody": _persona("nobody"),
    }
    alice, carol, dave, erin, frank, root = (
        users[name] for name in ("alice", "carol", "dave", "erin", "frank", "root")
    )
    team.members.add(alice)
    team.managers.add(carol)
    other_team.members.add(dave)
    keys = {name: api_key_create(user=user, name="guard")[1] for name, user in users.items()}
    old_key, _ = api_key_create(user=alice, name="Old laptop")

    process, stages = factories.make_process(("Discovery", "Demo", "Proposal"), required_items=2)
    stages[0].tools.add(factories.ToolFactory(name="Kibana", slug="kibana"))
    deal = factories.OpportunityFactory(
        name="Acme observability", stage=stages[0], owner=alice, team=team
    )
    factories.OpportunityFactory(name="Globex SIEM", stage=stages[0], owner=dave, team=other_team)
    item = stages[0].items.order_by("position").first()
    deal_services.checklist_item_set(opportunity=deal, item=item, actor=alice, done=True)
    account = deal.account
    contact = factories.ContactFactory(
        account=account, name="Cleo Customer", email="cleo@acme.test"
    )
    activity = deal_services.activity_record(
        opportunity=deal, actor=alice, kind="call", summary="Intro call"
    )
    gap = deal_services.product_gap_create(
        opportunity=deal, actor=alice, title="SAML for the agents", severity="nice_to_have"
    )
    deal_services.qualification_update(opportunity=deal, actor=alice, budget="yes")
    esat = deal_services.esat_record(opportunity=deal, actor=None, score=4)
    invitation = deal_services.esat_invitation_create(
        opportunity=deal, actor=alice, email="cleo@acme.test", contact=contact
    )

    published = make_block(
        erin,
        publish_by=frank,
        title="Observability demo script",
        use_cases=["observability"],
        file=upload("deck.pdf", PDF),
    )
    guide = make_block(erin, publish_by=frank, title="Discovery guide", kind="discovery_guide")
    in_review = make_block(frank, title="Waiting for review")
    block_services.block_submit(block=in_review, actor=frank)
    draft = make_block(erin, title="Unfinished draft")
    archived = make_block(erin, publish_by=frank, title="Old comparison", kind="comparison")
    block_services.block_archive(block=archived, actor=erin)
    block_services.block_usage_record(block=published, opportunity=deal, actor=alice)

    challenge = curation.challenge_create(
        actor=erin, title="Outages found by customers", use_case="observability"
    )
    need = curation.need_create(actor=erin, title="Alerting on SLOs", use_case="observability")
    catalog_link = curation.catalog_link_create(
        actor=erin, challenge=challenge, need=need, narrative="Alerts before the customer calls."
    )
    (discovery,) = block_services.discovery_links_add(
        opportunity=deal, actor=alice, pairs=[(challenge.pk, need.pk)], direction="top_down"
    )
    path = curation.training_path_create(actor=erin, name="SA onboarding", role="sa")
    step = curation.training_step_add(path=path, actor=erin, block=guide)
    block_services.training_step_set_done(step=step, actor=alice)

    baseline, _ = factories.make_process(("Discovery", "Demo"), slug="presales", version=1)
    trial, _ = factories.make_process(
        ("Discovery", "Demo"), slug="presales", version=2, based_on=baseline
    )
    pilot = metric_services.pilot_create(
        actor=root,
        name="One-call discovery",
        process=trial,
        baseline_process=baseline,
        members=[alice],
        starts_on=date(2025, 1, 1),
        ends_on=date(2025, 6, 30),
    )
    metric_services.quota_set(
        actor=root,
        user=alice,
        kind="won_amount",
        period_start=date(2025, 1, 1),
        period_end=date(2025, 12, 31),
        target=Decimal("1000000"),
    )
    MetricSnapshot.objects.create(
        day=timezone.localdate() - timedelta(days=1),
        process=process,
        stage=stages[0],
        team=team,
        open_count=1,
        taken_at=timezone.now(),
    )

    export = Path(tempfile.mkdtemp()) / "activities.csv"
    export.write_text("Activity ID,Opportunity ID,Activity Type,Activity Date,SE Hours\n")
    connection = sync_services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_csv",
        name="Vivun exports",
        settings={"files": {"activities": str(export)}},
    )
    sync_run = SyncRun.objects.create(connection=connection, status=SyncRun.Status.SUCCEEDED)
    saved_view = deal_services.saved_view_save(actor=alice, name="My open deals", query="owner=me")

    subscription = WebhookSubscription.objects.create(
        user=alice,
        event="opportunity.won",
        target_url="https://hooks.example.com/alice",
        secret_encrypted=crypto.encrypt(_new_secret()),
    )
    event = outbox_publish(topic="opportunity.won", payload={"opportunity_id": deal.pk})
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        message=event,
        status=WebhookDelivery.Status.FAILED,
        attempts=1,
        response_status=404,
        last_error="HTTP 404: not retried.",
    )
    ExternalRef.objects.create(
        system="maven-crm",
        kind="opportunity",
        external_id="OPP-1",
        content_type=ContentType.objects.get_for_model(deal),
        object_id=deal.pk,
    )
    attempt = {
        "user_agent": "curl",
        "ip_address": "192.0.2.1",
        "username": "mallory",
        "http_accept": "*/*",
        "path_info": "/accounts/login/",
    }
    AccessAttempt.objects.create(**attempt, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**attempt)
    AccessFailureLog.objects.create(**attempt)

    # Logged in once here (a login writes an access log and resets failed attempts).
    sessions = {}
    for name, user in users.items():
        login = Client()
        login.force_login(user)
        sessions[name] = login.cookies[settings.SESSION_COOKIE_NAME].value
    admin_objects = {}
    for model in admin.site._registry:
        row = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        assert row is not None, f"the world has no {model._meta.label} for its admin pages"
        admin_objects[model] = row
    return World(
        users=users,
        keys=keys,
        sessions=sessions,
        process=process,
        stages=stages,
        deal=deal,
        item=item,
        account=account,
        contact=contact,
        activity=activity,
        gap=gap,
        esat=esat,
        esat_token=deal_services.esat_invitation_token(invitation),
        published=published,
        in_review=in_review,
        draft=draft,
        archived=archived,
        guide=guide,
        challenge=challenge,
        need=need,
        catalog_link=catalog_link,
        discovery=discovery,
        path=path,
        step=step,
        pilot=pilot,
        subscription=subscription,
        delivery=delivery,
        event=event,
        old_key=old_key,
        connection=connection,
        sync_run=sync_run,
        saved_view=saved_view,
        admin_objects=admin_objects,
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once, in a transaction rolled back after the module; each test's own changes (the
    writes) are rolled back after it, as usual."""
    media = tmp_path_factory.mktemp("media")
    with (
        override_settings(
            MEDIA_ROOT=str(media),
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        ),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        yield build_world()
        transaction.set_rollback(True)


# --- what each URL is and who it is for -------------------------------------------------------

ALICE, CAROL, ERIN, ROOT = "alice", "carol", "erin", "root"
ANYONE = "anyone"  # public: no login
SIGNED_IN = "signed in"  # any signed-in user, with or without a role: their own profile, ...
ALLOWED = "allowed"  # dave may use it too (an SA's shared pages: the library, accounts, ...)
REFUSED = (403, 404)


def no_arguments(world: World) -> dict:
    return {}


@dataclasses.dataclass(frozen=True)
class Route:
    """`who` gets `status` to a GET with `kwargs` (and `query`).

    `write` is set for views that refuse GET with 405 (require_POST, POST-only API actions): the
    allowed role sends `data` that way and gets `write_status`; the refused roles are asked
    with that write too. `dave`: what the SA of another team gets (ALLOWED, an exact status,
    or a tuple of acceptable ones); `nobody`: what a user with no role gets. `kept`: what a
    refused write must leave in place, when its status alone does not show it.
    """

    who: str
    kwargs: Callable[[World], dict] = no_arguments
    query: Callable[[World], dict] = no_arguments
    status: int = 200
    write: str | None = None
    data: Callable[[World], dict] = no_arguments
    write_status: int | None = None
    dave: Any = ALLOWED
    nobody: Any = REFUSED
    kept: Callable[[World], bool] | None = None


def post(who, status, data=no_arguments, **fields) -> Route:
    return Route(who, write="post", data=data, write_status=status, **fields)


def deal(w):
    return {"pk": w.deal.pk}


def deal_id(w):
    return {"opportunity_id": w.deal.pk}


def pk_of(attribute):
    return lambda w: {"pk": getattr(w, attribute).pk}


def path_step(w):
    return {"pk": w.path.pk, "step_id": w.step.pk}


ROUTES: dict[str, Route] = {
    # --- public and self-service
    "healthz": Route(ANYONE),
    "login": Route(ANYONE),
    "logout": post(ANYONE, 302),  # Django 5 logs out on POST only
    "password_change": Route(SIGNED_IN),
    "password_change_done": Route(SIGNED_IN),
    "schema": Route(ANYONE),
    "swagger-ui": Route(ANYONE),
    "opportunities:esat-survey": Route(ANYONE, kwargs=lambda w: {"token": w.esat_token}),
    "profile:detail": Route(SIGNED_IN),
    "profile:update": post(
        SIGNED_IN,
        302,
        data=lambda w: {"first_name": "Alice", "last_name": "Archer", "email": "a@example.com"},
    ),
    "profile:api-key-create": post(SIGNED_IN, 302, data=lambda w: {"name": "Zapier"}),
    "profile:api-key-revoke": post(
        ALICE, 302, kwargs=lambda w: {"pk": w.old_key.pk}, dave=404, nobody=404
    ),
    "integrations:home": Route(SIGNED_IN),  # the user's own subscriptions
    "search": Route(ALICE, query=lambda w: {"q": "acme"}),  # who finds what: test_search.py
    "integrations:subscription-pause": post(
        ALICE, 302, kwargs=lambda w: {"pk": w.subscription.pk}, dave=404, nobody=404
    ),
    "integrations:subscription-resume": post(
        ALICE, 302, kwargs=lambda w: {"pk": w.subscription.pk}, dave=404, nobody=404
    ),
    "integrations:delivery-resend": post(
        ALICE, 302, kwargs=lambda w: {"pk": w.delivery.pk}, dave=404, nobody=404
    ),
    # --- the board and the deal pages
    "opportunities:home": Route(ALICE),
    "opportunities:my-day": Route(ALICE),  # the user's own: what they see, test_my_day.py
    "opportunities:board": Route(ALICE, kwargs=lambda w: {"process_slug": w.process.slug}),
    "opportunities:board-changes": Route(
        ALICE,
        kwargs=lambda w: {"process_slug": w.process.slug},
        query=lambda w: {"since": f"{time.time():.3f}"},
        status=204,
    ),
    "opportunities:board-column": Route(
        ALICE, kwargs=lambda w: {"process_slug": w.process.slug, "stage_id": w.stages[0].pk}
    ),
    "opportunities:opportunity-list": Route(ALICE),
    # The list's tools: everyone exports, saves views and acts on what they may see and change;
    # dave's bulk move of alice's deal is a report of "not found" that leaves it where it was.
    "opportunities:opportunity-export": Route(ALICE, query=lambda w: {"sort": "-amount"}),
    "opportunities:opportunity-bulk": post(
        ALICE,
        200,
        data=lambda w: {
            "action": "move",
            "ids": [w.deal.pk],
            "stage": w.stages[-1].pk,
            "loss_reason": "Price",
        },
        dave=200,
        kept=lambda w: Opportunity.objects.get(pk=w.deal.pk).stage_id == w.stages[0].pk,
    ),
    "opportunities:saved-view-create": post(
        ALICE, 302, data=lambda w: {"name": "Security", "query": "use_case=security"}
    ),
    "opportunities:saved-view-delete": post(
        ALICE,
        302,
        kwargs=pk_of("saved_view"),
        dave=404,
        kept=lambda w: SavedView.objects.filter(pk=w.saved_view.pk).exists(),
    ),
    "opportunities:opportunity-create": Route(ALICE),
    "opportunities:opportunity-detail": Route(ALICE, kwargs=deal, dave=404),
    "opportunities:opportunity-edit": Route(ALICE, kwargs=deal, dave=404),
    "opportunities:timeline": Route(ALICE, kwargs=deal, status=302, dave=404),
    "opportunities:opportunity-move": post(
        ALICE,
        302,
        kwargs=deal,
        data=lambda w: {"stage": w.stages[-1].pk, "loss_reason": "Price"},
        dave=404,
    ),
    "opportunities:checklist-item": post(
        ALICE, 302, kwargs=lambda w: {"pk": w.deal.pk, "item_pk": w.item.pk}, dave=404
    ),
    "opportunities:qualification": post(
        ALICE, 302, kwargs=deal, data=lambda w: {"budget": "yes"}, dave=404
    ),
    "opportunities:activity-create": post(
        ALICE, 302, kwargs=deal, data=lambda w: {"kind": "call", "summary": "Call"}, dave=404
    ),
    "opportunities:gap-create": post(
        ALICE,
        302,
        kwargs=deal,
        data=lambda w: {"title": "FedRAMP", "severity": "nice_to_have"},
        dave=404,
    ),
    "opportunities:esat-invite": post(
        ALICE, 302, kwargs=deal, data=lambda w: {"email": "cto@acme.test"}, dave=404
    ),
    "opportunities:account-list": Route(ALICE),
    "opportunities:account-create": Route(ALICE),
    "opportunities:account-suggest": Route(ALICE, query=lambda w: {"q": w.account.name[:3]}),
    "opportunities:account-detail": Route(ALICE, kwargs=lambda w: {"pk": w.account.pk}),
    "opportunities:account-edit": Route(ALICE, kwargs=lambda w: {"pk": w.account.pk}),
    # --- building blocks: the library and the deal's panel
    "building_blocks:block-list": Route(ALICE),
    "building_blocks:block-detail": Route(ALICE, kwargs=pk_of("published")),
    "building_blocks:block-file": Route(ALICE, kwargs=pk_of("published")),
    "building_blocks:block-use": post(
        ALICE,
        302,
        kwargs=pk_of("published"),
        data=lambda w: {"opportunity": w.deal.pk},
        dave=404,
    ),
    "building_blocks:opportunity-panel": Route(ALICE, kwargs=deal_id, dave=404),
    "building_blocks:discovery-add": post(
        ALICE,
        302,
        kwargs=deal_id,
        data=lambda w: {"pair": f"{w.challenge.pk}:{w.need.pk}", "direction": "bottom_up"},
        dave=404,
    ),
    "building_blocks:discovery-update": post(
        ALICE,
        302,
        kwargs=lambda w: {"opportunity_id": w.deal.pk, "link_id": w.discovery.pk},
        data=lambda w: {"priority": "1"},
        dave=404,
    ),
    "building_blocks:discovery-remove": post(
        ALICE,
        302,
        kwargs=lambda w: {"opportunity_id": w.deal.pk, "link_id": w.discovery.pk},
        dave=404,
    ),
    "building_blocks:catalog": Route(ALICE),
    "building_blocks:training": Route(ALICE),
    "building_blocks:training-step": post(ALICE, 302, kwargs=lambda w: {"step_id": w.step.pk}),
    "building_blocks:training-team": Route(CAROL, dave=403),
    # --- building blocks: the curators' pages
    "building_blocks:block-create": Route(ERIN, dave=403),
    "building_blocks:markdown-preview": post(
        ERIN, 200, data=lambda w: {"body": "# Hello"}, dave=403
    ),
    "building_blocks:review-queue": Route(ERIN, dave=403),
    "building_blocks:block-edit": Route(ERIN, kwargs=pk_of("published"), dave=403),
    "building_blocks:block-history": Route(ERIN, kwargs=pk_of("published"), dave=403),
    "building_blocks:block-version-file": Route(
        ERIN, kwargs=lambda w: {"pk": w.published.pk, "number": 1}, dave=403
    ),
    "building_blocks:block-restore": post(
        ERIN, 302, kwargs=lambda w: {"pk": w.published.pk, "number": 1}, dave=403
    ),
    "building_blocks:block-submit": post(ERIN, 302, kwargs=pk_of("draft"), dave=403),
    "building_blocks:block-approve": post(ERIN, 302, kwargs=pk_of("in_review"), dave=403),
    "building_blocks:block-send-back": post(
        ERIN, 302, kwargs=pk_of("in_review"), data=lambda w: {"comment": "Add a diagram."}, dave=403
    ),
    "building_blocks:block-archive": post(ERIN, 302, kwargs=pk_of("published"), dave=403),
    "building_blocks:block-unarchive": post(ERIN, 302, kwargs=pk_of("archived"), dave=403),
    "building_blocks:block-reviewed": post(ERIN, 302, kwargs=pk_of("published"), dave=403),
    "building_blocks:catalog-manage": Route(ERIN, dave=403),
    "building_blocks:catalog-builtin-apply": post(ERIN, 302, dave=403),
    "building_blocks:challenge-create": Route(ERIN, dave=403),
    "building_blocks:challenge-edit": Route(ERIN, kwargs=pk_of("challenge"), dave=403),
    "building_blocks:challenge-delete": Route(ERIN, kwargs=pk_of("challenge"), dave=403),
    "building_blocks:need-create": Route(ERIN, dave=403),
    "building_blocks:need-edit": Route(ERIN, kwargs=pk_of("need"), dave=403),
    "building_blocks:need-delete": Route(ERIN, kwargs=pk_of("need"), dave=403),
    "building_blocks:link-create": Route(ERIN, dave=403),
    "building_blocks:link-edit": Route(ERIN, kwargs=pk_of("catalog_link"), dave=403),
    "building_blocks:link-delete": Route(ERIN, kwargs=pk_of("catalog_link"), dave=403),
    "building_blocks:path-create": Route(ERIN, dave=403),
    "building_blocks:path-edit": Route(ERIN, kwargs=pk_of("path"), dave=403),
    "building_blocks:step-add": post(
        ERIN, 302, kwargs=pk_of("path"), data=lambda w: {"block": w.published.pk}, dave=403
    ),
    "building_blocks:step-edit": post(
        ERIN, 302, kwargs=path_step, data=lambda w: {"note": "Read it twice."}, dave=403
    ),
    "building_blocks:step-move": post(
        ERIN, 302, kwargs=path_step, data=lambda w: {"direction": "up"}, dave=403
    ),
    "building_blocks:step-remove": Route(ERIN, kwargs=path_step, dave=403),
    # --- dashboards, quotas, pilots, imports
    "metrics:dashboard": Route(CAROL),
    "metrics:dashboard-freshness": Route(CAROL),
    "metrics:drilldown": Route(CAROL, query=lambda w: {"drill": "won"}),
    "metrics:quotas": Route(CAROL),
    "metrics:automation": Route(CAROL, dave=403),
    "metrics:pilot-list": Route(CAROL, dave=403),
    "metrics:pilot-create": Route(CAROL, dave=403),
    "metrics:pilot-detail": Route(CAROL, kwargs=pk_of("pilot"), dave=403),
    "metrics:pilot-roll-out": post(CAROL, 302, kwargs=pk_of("pilot"), dave=403),
    "metrics:workload": Route(CAROL, dave=403),
    "metrics:workload-deals": Route(
        CAROL, query=lambda w: {"drill": "gaps", "severity": "nice_to_have"}, dave=403
    ),
    "metrics:workload-capacity": post(
        CAROL,
        302,
        kwargs=lambda w: {"user_id": w.users["alice"].pk},
        data=lambda w: {"weekly_hours": "30"},
        dave=403,
    ),
    "imports:upload": Route(CAROL, dave=403),
    "imports:confirm": post(CAROL, 302, data=lambda w: {"token": "none"}, dave=403),
    "imports:cancel": post(CAROL, 302, dave=403),
    # --- the API (authenticated by API key)
    "api:me": Route(SIGNED_IN),
    "api:user-list": Route(ALICE),
    "api:user-detail": Route(ALICE, kwargs=lambda w: {"pk": w.users["alice"].pk}),
    "api:process-list": Route(ALICE),
    "api:process-detail": Route(ALICE, kwargs=lambda w: {"pk": w.process.pk}),
    "api:account-list": Route(ALICE),
    "api:account-detail": Route(ALICE, kwargs=lambda w: {"pk": w.account.pk}),
    "api:contact-list": Route(ALICE),
    "api:contact-detail": Route(ALICE, kwargs=lambda w: {"pk": w.contact.pk}),
    "api:opportunity-list": Route(ALICE),
    "api:opportunity-detail": Route(ALICE, kwargs=deal, dave=404),
    "api:opportunity-transitions": Route(ALICE, kwargs=deal, dave=404),
    "api:opportunity-move": post(
        ALICE,
        200,
        kwargs=deal,
        data=lambda w: {"stage": w.stages[-1].pk, "loss_reason": "Price"},
        dave=404,
    ),
    "api:opportunity-checklist-item": Route(
        ALICE,
        kwargs=lambda w: {"pk": w.deal.pk, "item_id": w.item.pk},
        write="put",
        data=lambda w: {"done": False},
        write_status=200,
        dave=404,
    ),
    "api:activity-list": Route(ALICE),
    "api:activity-detail": Route(ALICE, kwargs=lambda w: {"pk": w.activity.pk}, dave=404),
    "api:esat-response-list": Route(ALICE),
    "api:esat-response-detail": Route(ALICE, kwargs=lambda w: {"pk": w.esat.pk}, dave=404),
    "api:product-gap-list": Route(ALICE),
    "api:product-gap-detail": Route(ALICE, kwargs=lambda w: {"pk": w.gap.pk}, dave=404),
    "api:building-block-list": Route(ALICE),
    "api:building-block-detail": Route(ALICE, kwargs=pk_of("published")),
    "api:building-block-effectiveness": Route(ALICE, kwargs=pk_of("published")),
    "api:building-block-usages": Route(ALICE, kwargs=pk_of("published")),
    # An SA does not find a block before it is published, and may not archive one after.
    "api:building-block-submit": post(ERIN, 200, kwargs=pk_of("draft"), dave=404),
    "api:building-block-approve": post(ERIN, 200, kwargs=pk_of("in_review"), dave=404),
    "api:building-block-send-back": post(
        ERIN,
        200,
        kwargs=pk_of("in_review"),
        data=lambda w: {"comment": "Add a diagram."},
        dave=404,
    ),
    "api:building-block-archive": post(ERIN, 200, kwargs=pk_of("published"), dave=403),
    "api:hook-list": Route(ALICE),
    # Subscriptions are listed, created and deleted, never read one by one. Deleting is
    # idempotent (Zapier retries it): someone else's id answers 204 and deletes nothing.
    "api:hook-detail": Route(
        ALICE,
        kwargs=lambda w: {"pk": w.subscription.pk},
        write="delete",
        write_status=204,
        dave=204,
        kept=lambda w: WebhookSubscription.objects.filter(pk=w.subscription.pk).exists(),
    ),
    # --- sync connections: admins only (the pages answer 404 to others, the API 403)
    "integrations:connection-create": post(
        ROOT,
        302,
        data=lambda w: {
            "name": "Vivun, second export",
            "activities_file": w.connection.settings["files"]["activities"],
        },
        dave=404,
        nobody=404,
    ),
    "integrations:connection-test": post(
        ROOT, 302, kwargs=pk_of("connection"), dave=404, nobody=404
    ),
    "integrations:connection-sync": post(
        ROOT, 302, kwargs=pk_of("connection"), dave=404, nobody=404
    ),
    "integrations:connection-enable": post(
        ROOT, 302, kwargs=pk_of("connection"), dave=404, nobody=404
    ),
    "integrations:connection-disable": post(
        ROOT, 302, kwargs=pk_of("connection"), dave=404, nobody=404
    ),
    # The stage's "Google Docs" tool: a redirect to the deal's Drive folder (or to Docs).
    "integrations:drive-folder": Route(ALICE, kwargs=deal, status=302, dave=404),
    "api:connection-list": Route(ROOT, dave=403, nobody=403),
    "api:connection-detail": Route(ROOT, kwargs=pk_of("connection"), dave=403, nobody=403),
    "api:connection-sync": post(ROOT, 202, kwargs=pk_of("connection"), dave=403, nobody=403),
    "api:connection-test": post(ROOT, 200, kwargs=pk_of("connection"), dave=403, nobody=403),
    "api:sync-run-list": Route(ROOT, dave=403, nobody=403),
    "api:sync-run-detail": Route(ROOT, kwargs=pk_of("sync_run"), dave=403, nobody=403),
    "api:event-list": Route(ALICE),
    "api:event-detail": Route(ALICE, kwargs=lambda w: {"pk": w.event.pk}, dave=404),
    "api:metrics-summary": Route(ALICE),
    "api:metrics-funnel": Route(ALICE, query=lambda w: {"process": w.process.pk}),
    "api:metrics-time-in-stage": Route(ALICE, query=lambda w: {"process": w.process.pk}),
    # --- the Django admin, beyond the pages of each registered model (ADMIN_MODEL_PAGES)
    "admin:index": Route(ROOT),
    "admin:login": Route(ANYONE),
    "admin:logout": post(ROOT, 302),
    "admin:password_change": Route(ROOT),
    "admin:password_change_done": Route(ROOT),
    "admin:jsi18n": Route(ROOT),
    "admin:app_list": Route(ROOT),  # once per app label: see `admin_app_labels`
    "admin:autocomplete": Route(
        ROOT,
        query=lambda w: {
            "app_label": "metrics",
            "model_name": "quota",
            "field_name": "user",
            "term": "a",
        },
    ),
    "admin:auth_user_password_change": Route(ROOT, kwargs=lambda w: {"id": w.users["alice"].pk}),
}

# Named URLs no test asks for, and why.
SKIP = {
    # No model defines get_absolute_url, so "view on site" can only answer 404.
    "admin:view_on_site",
}

# Model admins that create nothing by hand (history is written by the services): "add" is 403.
ADMIN_NO_ADD = {
    "axes.accessattempt",
    "axes.accessfailurelog",
    "axes.accesslog",
    "building_blocks.buildingblock",
    "epos.apikey",
    "metrics.metricsnapshot",
    "opportunities.opportunity",
    "opportunities.stagetransition",
}


def _admin_model_routes() -> dict[str, Route]:
    routes = {}
    for model in admin.site._registry:
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"

        def object_id(w, model=model):
            return {"object_id": w.admin_objects[model]}

        routes[f"{base}_changelist"] = Route(ROOT)
        routes[f"{base}_add"] = Route(ROOT, status=403 if opts.label_lower in ADMIN_NO_ADD else 200)
        for page in ("change", "history", "delete"):
            routes[f"{base}_{page}"] = Route(ROOT, kwargs=object_id)
    return routes


ADMIN_MODEL_PAGES = _admin_model_routes()
ALL_ROUTES = {**ROUTES, **ADMIN_MODEL_PAGES}


def admin_app_labels() -> list[str]:
    return sorted({model._meta.app_label for model in admin.site._registry})


def walk(patterns, namespace: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            prefix = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, prefix)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}"


WALKED = sorted(set(walk(get_resolver().url_patterns)))


# --- asking ---------------------------------------------------------------------------------------


def is_api(name: str) -> bool:
    return name.startswith("api:")


def is_admin(name: str) -> bool:
    return name.startswith("admin:")


def paths(name: str, route: Route, world: World) -> list[str]:
    if name == "admin:app_list":
        return [reverse(name, kwargs={"app_label": label}) for label in admin_app_labels()]
    return [reverse(name, kwargs=route.kwargs(world))]


@pytest.fixture(scope="module")
def shared_client():
    """One client for the module: each new one loads the middleware again, and WhiteNoise
    reads every static file to do that."""
    return Client()


def ask(client, world, name, path, *, persona, method="get", data=None, query=None):
    """One request as `persona` (None: anonymous); the API by key, the rest by session."""
    client.cookies.clear()
    headers = {}
    if persona is not None:
        if is_api(name):
            headers["HTTP_AUTHORIZATION"] = f"Token {world.keys[persona]}"
        else:
            client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[persona]
    if method == "get":
        response = client.get(path, query or {}, **headers)
    elif is_api(name):
        response = client.generic(
            method.upper(),
            path,
            json.dumps(data or {}),
            content_type="application/json",
            **headers,
        )
    else:
        response = getattr(client, method)(path, data or {}, **headers)
    if response.streaming:
        # Read to the end: the client closes the file then (closing the response again would
        # fire request_finished, whose handler closes the database connection).
        b"".join(response.streaming_content)
    return response


def describe(name, path, persona, method, response, expected) -> str:
    where = response.get("Location", "")
    return (
        f"{name} {method.upper()} {path} as {persona or 'anonymous'}: {response.status_code}"
        f"{' -> ' + where if where else ''}, expected {expected}"
    )


def allowed_personas(route: Route) -> list[str | None]:
    if route.who == ANYONE:
        return [None]
    if route.who == SIGNED_IN:
        return [ALICE, "nobody"]
    return [route.who]


def write(client, world, name, path, route, persona):
    """The route's write as `persona`, rolled back; with `kept`, checked to have left the
    world's row in place."""
    with transaction.atomic():
        response = ask(
            client, world, name, path, persona=persona, method=route.write, data=route.data(world)
        )
        kept = route.kept is None or route.kept(world)
        transaction.set_rollback(True)
    return response, kept


# --- the tests ----------------------------------------------------------------------------------


def test_every_named_url_is_covered():
    walked = set(WALKED)
    assert len(walked) > 250, "the resolver walk found too few names"
    missing = walked - set(ALL_ROUTES) - SKIP
    stale = (set(ALL_ROUTES) | SKIP) - walked
    assert not missing, f"named URLs with no entry in ROUTES (or SKIP): {sorted(missing)}"
    assert not stale, f"entries in ROUTES or SKIP that name no URL: {sorted(stale)}"


@pytest.mark.parametrize("name", [name for name in WALKED if name not in SKIP])
def test_the_allowed_role_gets_it(shared_client, world, name):
    route = ALL_ROUTES.get(name)
    assert route is not None, f"{name} has no entry in ROUTES"
    failures = []
    for persona in allowed_personas(route):
        for path in paths(name, route, world):
            response = ask(
                shared_client, world, name, path, persona=persona, query=route.query(world)
            )
            expected = 405 if route.write else route.status
            if response.status_code != expected:
                failures.append(describe(name, path, persona, "get", response, expected))
            if route.write:
                response, _ = write(shared_client, world, name, path, route, persona)
                if response.status_code != route.write_status:
                    failures.append(
                        describe(name, path, persona, route.write, response, route.write_status)
                    )
    assert not failures, "\n".join(failures)


def refusals(name: str, route: Route) -> list[tuple[str | None, Any]]:
    """(persona, what they must get) for everyone the route is not for."""
    if route.who == ANYONE:
        return []
    if name == "admin:logout":
        # The admin sends whoever is not staff back to its index (which asks them to log in).
        return [(persona, "admin index") for persona in (None, "nobody", "dave")]
    if is_admin(name):
        return [(persona, "admin login") for persona in (None, "nobody", "dave")]
    cases: list[tuple[str | None, Any]] = [(None, 401 if is_api(name) else "login")]
    if route.who == SIGNED_IN:
        return cases
    cases.append(("nobody", 403 if is_api(name) else route.nobody))
    if route.dave is not ALLOWED:
        cases.append(("dave", route.dave))
    return cases


REDIRECTS = {"login": "login", "admin login": "admin:login", "admin index": "admin:index"}


def meets(response, expected) -> bool:
    if expected in REDIRECTS:
        target = reverse(REDIRECTS[expected])
        location = response.get("Location", "")
        return response.status_code == 302 and location.split("?")[0] == target
    if isinstance(expected, tuple):
        return response.status_code in expected
    return response.status_code == expected


@pytest.mark.parametrize("name", [name for name in WALKED if name not in SKIP])
def test_refused_roles_are_kept_out(shared_client, world, name):
    route = ALL_ROUTES.get(name)
    assert route is not None, f"{name} has no entry in ROUTES"
    failures = []
    for persona, expected in refusals(name, route):
        for path in paths(name, route, world):
            if route.write:
                response, kept = write(shared_client, world, name, path, route, persona)
                if not kept:
                    who = persona or "anonymous"
                    failures.append(f"{name} {route.write.upper()} {path} as {who}: changed")
            else:
                response = ask(
                    shared_client, world, name, path, persona=persona, query=route.query(world)
                )
            if not meets(response, expected):
                method = route.write or "get"
                failures.append(describe(name, path, persona, method, response, expected))
    assert not failures, "\n".join(failures)
