"""load_catalog runs on every start (make run, the compose migrate service): it must never undo
what curators did since, and it offers a newer shipped version instead of imposing it."""

import copy
import io

import pytest
from django.core.management import call_command

from building_blocks import services
from building_blocks.demo.catalog import CATALOG
from building_blocks.models import BusinessChallenge, ChallengeNeedLink, TechnicalNeed
from epos.lib.errors import Forbidden
from epos.models import BuiltinRecord

pytestmark = pytest.mark.django_db


def restart():
    call_command("load_catalog", stdout=io.StringIO())


def counts():
    return (
        BusinessChallenge.objects.count(),
        TechnicalNeed.objects.count(),
        ChallengeNeedLink.objects.count(),
    )


def test_a_restart_keeps_edits_and_deletions_and_duplicates_nothing():
    restart()
    shipped = (len(CATALOG["challenges"]), len(CATALOG["needs"]), len(CATALOG["links"]))
    assert counts() == shipped
    edited, deleted = BusinessChallenge.objects.order_by("pk")[:2]
    edited.title = "Our own words for this challenge"
    edited.save()
    deleted_links = ChallengeNeedLink.objects.filter(challenge=deleted).count()
    deleted_slug = deleted.slug
    deleted.delete()
    link = ChallengeNeedLink.objects.select_related("challenge", "need").first()
    link.narrative = "Edited narrative"
    link.save()
    need = TechnicalNeed.objects.order_by("-pk").first()
    need_links = ChallengeNeedLink.objects.filter(need=need).count()
    need.delete()
    after_edits = counts()
    assert after_edits == (
        shipped[0] - 1,
        shipped[1] - 1,
        shipped[2] - deleted_links - need_links,
    )

    restart()
    restart()

    assert counts() == after_edits
    edited.refresh_from_db()
    assert edited.title == "Our own words for this challenge"
    assert not BusinessChallenge.objects.filter(slug=deleted_slug).exists()
    link.refresh_from_db()
    assert link.narrative == "Edited narrative"
    assert services.catalog_builtin_updates() == []


def test_a_catalog_loaded_before_the_ledger_is_adopted_as_it_is():
    restart()
    BuiltinRecord.objects.all().delete()  # as on a database from before this version
    challenge = BusinessChallenge.objects.first()
    challenge.title = "Edited before the upgrade"
    challenge.save()
    before = counts()

    restart()

    challenge.refresh_from_db()
    assert challenge.title == "Edited before the upgrade"
    assert counts() == before
    assert BuiltinRecord.objects.filter(source="catalog.challenge").count() == before[0]


def test_a_newer_shipped_version_is_offered_and_applied_only_by_a_curator(alice, erin):
    services.catalog_load()
    newer = copy.deepcopy(CATALOG)
    first = newer["challenges"][0]
    first["title"] = "A better built-in title"
    newer["challenges"].append(
        {"slug": "brand-new-challenge", "title": "Brand new", "use_case": "security"}
    )
    challenge = BusinessChallenge.objects.get(slug=first["slug"])
    challenge.title = "The curator's title"
    challenge.save()

    reports = services.catalog_load(catalog=newer)

    assert reports["catalog.challenge"].created == ["brand-new-challenge"]
    assert reports["catalog.challenge"].update_available == [first["slug"]]
    challenge.refresh_from_db()
    assert challenge.title == "The curator's title"
    updates = services.catalog_builtin_updates(catalog=newer)
    assert updates == [
        {"source": "catalog.challenge", "key": first["slug"], "title": "A better built-in title"}
    ]
    with pytest.raises(Forbidden):
        services.catalog_builtin_apply(
            actor=alice, source="catalog.challenge", key=first["slug"], catalog=newer
        )
    challenge.refresh_from_db()
    assert challenge.title == "The curator's title"

    services.catalog_builtin_apply(
        actor=erin, source="catalog.challenge", key=first["slug"], catalog=newer
    )

    challenge.refresh_from_db()
    assert challenge.title == "A better built-in title"
    assert services.catalog_builtin_updates(catalog=newer) == []
    services.catalog_load(catalog=newer)
    assert services.catalog_builtin_updates(catalog=newer) == []


def test_curators_see_the_update_note_and_apply_it_from_the_manage_page(client, erin):
    services.catalog_load()
    slug = CATALOG["challenges"][0]["slug"]
    BuiltinRecord.objects.filter(source="catalog.challenge", key=slug).update(digest="old")
    services.catalog_load()  # the shipped text now differs from what was loaded: offered
    BusinessChallenge.objects.filter(slug=slug).update(title="Changed by a curator")
    client.force_login(erin)

    page = client.get("/catalog/manage/").content.decode()
    assert "Catalog update available" in page
    assert CATALOG["challenges"][0]["title"] in page

    response = client.post(
        "/catalog/manage/builtin/apply/", {"source": "catalog.challenge", "key": slug}
    )
    assert response.status_code == 302
    assert BusinessChallenge.objects.get(slug=slug).title == CATALOG["challenges"][0]["title"]
    assert "Catalog update available" not in client.get("/catalog/manage/").content.decode()
    refused = client.post(
        "/catalog/manage/builtin/apply/", {"source": "catalog.challenge", "key": slug}, follow=True
    )
    assert "no newer built-in version" in refused.content.decode()


def test_an_sa_cannot_apply_catalog_updates(client, alice):
    client.force_login(alice)

    response = client.post(
        "/catalog/manage/builtin/apply/", {"source": "catalog.challenge", "key": "x"}
    )

    assert response.status_code == 403
