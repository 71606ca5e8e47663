"""The curators' in-app editors of the discovery catalog and of the training paths: who may use
them, what they write (through building_blocks.curation.services), what they refuse, and the
query budget of their pages."""

from types import SimpleNamespace

import pytest
from django.urls import reverse

from building_blocks import services
from building_blocks.curation import services as curation_services
from building_blocks.models import (
    BlockEvent,
    BusinessChallenge,
    ChallengeNeedLink,
    DiscoveryLink,
    TechnicalNeed,
    TrainingCompletion,
    TrainingPath,
    TrainingStep,
)
from building_blocks.templatetags.blocks import EVENT_LABELS
from epos.lib.errors import Conflict, Forbidden
from tests.building_blocks.helpers import make_block

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"building_blocks:{name}", args=args)


@pytest.fixture
def world(erin, frank):
    """One of everything the editors change, made through the services."""
    challenge = curation_services.challenge_create(
        actor=erin, title="Releases break production", use_case="observability"
    )
    need = curation_services.need_create(
        actor=erin, title="Deployment tracking", use_case="observability", area="Delivery"
    )
    link = curation_services.catalog_link_create(
        actor=erin,
        challenge=challenge,
        need=need,
        narrative="Knowing which release broke what shortens the outage.",
        kpis="Change failure rate\nMTTR",
    )
    block = make_block(erin, publish_by=frank, title="Release tracking guide")
    path = curation_services.training_path_create(actor=erin, name="SA onboarding", role="sa")
    step = curation_services.training_step_add(path=path, actor=erin, block=block)
    return SimpleNamespace(
        challenge=challenge, need=need, link=link, block=block, path=path, step=step
    )


def _published(erin, frank, count, prefix="Block"):
    return [make_block(erin, publish_by=frank, title=f"{prefix} {n}") for n in range(count)]


def _state():
    """Everything an editor could change, to prove a refused request changed nothing."""
    return {
        "challenges": list(BusinessChallenge.objects.order_by("pk").values()),
        "needs": list(TechnicalNeed.objects.order_by("pk").values()),
        "links": list(ChallengeNeedLink.objects.order_by("pk").values()),
        "paths": list(TrainingPath.objects.order_by("pk").values()),
        "steps": list(TrainingStep.objects.order_by("pk").values()),
        "completions": TrainingCompletion.objects.count(),
        "events": BlockEvent.objects.count(),
    }


# --- who may use the editors ---------------------------------------------------------------------


def _pages(w):
    return [
        url("catalog-manage"),
        url("challenge-create"),
        url("challenge-edit", w.challenge.pk),
        url("challenge-delete", w.challenge.pk),
        url("need-create"),
        url("need-edit", w.need.pk),
        url("need-delete", w.need.pk),
        url("link-create"),
        url("link-edit", w.link.pk),
        url("link-delete", w.link.pk),
        url("path-create"),
        url("path-edit", w.path.pk),
        url("step-remove", w.path.pk, w.step.pk),
    ]


def _posts(w, other_block):
    """Every write, with data that would succeed for a curator."""
    challenge = {"title": "New challenge", "use_case": "security"}
    need = {"title": "New need", "use_case": "security"}
    link = {"challenge": w.challenge.pk, "need": w.need.pk, "narrative": "Changed"}
    path = {"name": "Renamed", "role": "manager"}
    return [
        (url("challenge-create"), challenge),
        (url("challenge-edit", w.challenge.pk), challenge),
        (url("challenge-delete", w.challenge.pk), {}),
        (url("need-create"), need),
        (url("need-edit", w.need.pk), need),
        (url("need-delete", w.need.pk), {}),
        (url("link-create"), link),
        (url("link-edit", w.link.pk), link),
        (url("link-delete", w.link.pk), {}),
        (url("path-create"), path),
        (url("path-edit", w.path.pk), path),
        (url("step-add", w.path.pk), {"block": other_block.pk}),
        (url("step-edit", w.path.pk, w.step.pk), {"note": "Changed"}),
        (url("step-move", w.path.pk, w.step.pk), {"direction": "down"}),
        (url("step-remove", w.path.pk, w.step.pk), {"delete_completions": "1"}),
    ]


@pytest.mark.parametrize("persona", ["alice", "carol", "nobody"])
def test_sas_managers_and_roleless_users_get_a_403_on_every_page_and_write(
    client, request, persona, world, erin, frank
):
    other_block = make_block(erin, publish_by=frank, title="Other")
    before = _state()
    client.force_login(request.getfixturevalue(persona))
    for page in _pages(world):
        assert client.get(page).status_code == 403, page
    for action, data in _posts(world, other_block):
        assert client.post(action, data).status_code == 403, action
    assert _state() == before


def test_anonymous_users_are_sent_to_log_in_for_every_page_and_write(client, world, erin, frank):
    other_block = make_block(erin, publish_by=frank, title="Other")
    before = _state()
    login = reverse("login")
    for page in _pages(world):
        response = client.get(page)
        assert response.status_code == 302 and response["Location"].startswith(login), page
    for action, data in _posts(world, other_block):
        response = client.post(action, data)
        assert response.status_code == 302 and response["Location"].startswith(login), action
    assert _state() == before


@pytest.mark.parametrize("persona", ["erin", "root"])
def test_curators_and_admins_open_every_editor_page(client, request, persona, world):
    client.force_login(request.getfixturevalue(persona))
    for page in _pages(world):
        assert client.get(page).status_code == 200, page


def test_an_admin_can_write_too(client, root):
    client.force_login(root)
    response = client.post(url("challenge-create"), {"title": "Audit gaps", "use_case": "security"})
    assert response.status_code == 302
    assert BusinessChallenge.objects.get().slug == "audit-gaps"


@pytest.mark.parametrize(
    ("service", "arguments"),
    [
        (curation_services.challenge_create, {"title": "x", "use_case": "security"}),
        (curation_services.need_create, {"title": "x", "use_case": "security"}),
        (curation_services.training_path_create, {"name": "x", "role": "sa"}),
    ],
)
def test_the_services_refuse_an_sa_themselves(alice, service, arguments):
    with pytest.raises(Forbidden):
        service(actor=alice, **arguments)
    assert not BusinessChallenge.objects.exists() and not TechnicalNeed.objects.exists()
    assert not TrainingPath.objects.exists()


def test_the_service_refuses_an_sa_writing_steps(alice, world, erin, frank):
    other = make_block(erin, publish_by=frank, title="Other")
    before = _state()
    for call in (
        lambda: curation_services.training_step_add(path=world.path, actor=alice, block=other),
        lambda: curation_services.training_step_move(step=world.step, actor=alice, direction="up"),
        lambda: curation_services.training_step_remove(step=world.step, actor=alice),
        lambda: curation_services.catalog_link_delete(link=world.link, actor=alice),
    ):
        with pytest.raises(Forbidden):
            call()
    assert _state() == before


def test_the_catalog_shows_edit_links_to_curators_only(client, alice, erin, world):
    client.force_login(alice)
    html = client.get(url("catalog"), {"use_case": "observability"}).content.decode()
    assert "Releases break production" in html
    assert 'data-testid="edit-catalog"' not in html
    assert url("challenge-edit", world.challenge.pk) not in html
    assert url("catalog-manage") not in html  # not in the tabs either
    client.force_login(erin)
    html = client.get(url("catalog"), {"use_case": "observability"}).content.decode()
    assert 'data-testid="edit-catalog"' in html
    assert url("challenge-edit", world.challenge.pk) in html
    assert url("link-edit", world.link.pk) in html
    assert url("need-edit", world.need.pk) in html


def test_the_training_page_shows_edit_links_to_curators_only(client, alice, erin, world):
    client.force_login(alice)
    html = client.get(url("training")).content.decode()
    assert "SA onboarding" in html
    assert url("path-edit", world.path.pk) not in html and url("path-create") not in html
    client.force_login(erin)
    html = client.get(url("training")).content.decode()
    assert url("path-edit", world.path.pk) in html and url("path-create") in html


# --- business challenges and technical needs -----------------------------------------------------


def test_a_challenge_is_created_with_a_slug_made_from_its_title(client, erin):
    client.force_login(erin)
    response = client.post(
        url("challenge-create"),
        {
            "title": "Too many alerts at night",
            "use_case": "observability",
            "keywords": " alert fatigue, on-call ",
            "description": "Pagers ring for nothing.",
        },
    )
    challenge = BusinessChallenge.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"?use_case=observability#challenge-{challenge.pk}")
    assert (challenge.slug, challenge.keywords, challenge.position) == (
        "too-many-alerts-at-night",
        "alert fatigue, on-call",
        1,
    )
    page = client.get(url("catalog-manage"), {"use_case": "observability"}).content.decode()
    assert "Too many alerts at night" in page and "SAs do not see this challenge" in page


def test_a_new_challenge_goes_after_the_others_of_its_use_case(erin):
    services.catalog_load()
    last = BusinessChallenge.objects.filter(use_case="security").order_by("-position").first()
    challenge = curation_services.challenge_create(actor=erin, title="New", use_case="security")
    assert challenge.position == last.position + 1


def test_a_duplicate_slug_is_a_form_error_not_a_500(client, erin, world):
    client.force_login(erin)
    before = _state()
    # Typed explicitly, and made from a title that gives the same slug.
    for data in (
        {"title": "Other", "slug": world.challenge.slug, "use_case": "security"},
        {"title": "Releases break production!", "use_case": "security"},
    ):
        response = client.post(url("challenge-create"), data)
        assert response.status_code == 400
        errors = response.context["form"].errors
        assert errors["slug"] == [
            "The slug “releases-break-production” is taken by another business challenge; "
            "type another one."
        ]
        assert "is taken by another business challenge" in response.content.decode()
    response = client.post(
        url("need-create"), {"title": "x", "slug": world.need.slug, "use_case": "security"}
    )
    assert response.status_code == 400 and "slug" in response.context["form"].errors
    other = curation_services.need_create(actor=erin, title="Other", use_case="security")
    response = client.post(
        url("need-edit", other.pk), {"title": "x", "slug": world.need.slug, "use_case": "security"}
    )
    assert response.status_code == 400 and "slug" in response.context["form"].errors
    assert _state()["challenges"] == before["challenges"]
    assert TechnicalNeed.objects.get(pk=other.pk).slug == "other"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "", "use_case": "security"}, "title"),
        ({"title": "x", "use_case": "nonsense"}, "use_case"),
        ({"title": "x", "slug": "not a slug", "use_case": "security"}, "slug"),
        ({"title": "!!!", "use_case": "security"}, "slug"),
    ],
)
def test_bad_challenge_input_is_a_400_with_the_field_marked(client, erin, data, field):
    client.force_login(erin)
    response = client.post(url("challenge-create"), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not BusinessChallenge.objects.exists()


def test_editing_a_challenge_moves_the_links_that_shared_its_use_case(client, erin, world):
    other_need = curation_services.need_create(actor=erin, title="SIEM", use_case="security")
    kept = curation_services.catalog_link_create(
        actor=erin,
        challenge=world.challenge,
        need=other_need,
        narrative="n",
        use_case="security",
    )
    client.force_login(erin)
    response = client.post(
        url("challenge-edit", world.challenge.pk),
        {"title": "Releases break prod", "slug": "", "use_case": "security"},
    )
    assert response.status_code == 302
    world.challenge.refresh_from_db()
    assert (world.challenge.title, world.challenge.slug) == (
        "Releases break prod",
        "releases-break-prod",
    )
    assert ChallengeNeedLink.objects.get(pk=world.link.pk).use_case == "security"
    assert ChallengeNeedLink.objects.get(pk=kept.pk).use_case == "security"


def test_a_need_is_created_and_edited(client, erin):
    client.force_login(erin)
    client.post(
        url("need-create"), {"title": "Log retention", "use_case": "security", "area": "SOC"}
    )
    need = TechnicalNeed.objects.get()
    assert (need.slug, need.area, need.position) == ("log-retention", "SOC", 1)
    edit_page = client.get(url("need-edit", need.pk)).content.decode()
    assert 'value="Log retention"' in edit_page
    client.post(
        url("need-edit", need.pk),
        {"title": "Long log retention", "slug": "log-retention", "use_case": "security"},
    )
    need.refresh_from_db()
    assert (need.title, need.slug, need.area) == ("Long log retention", "log-retention", "")


def test_a_challenge_no_deal_recorded_is_deleted_with_its_links(client, erin, world):
    client.force_login(erin)
    page = client.get(url("challenge-delete", world.challenge.pk)).content.decode()
    assert "Its 1 link to technical needs go with it." in page
    response = client.post(url("challenge-delete", world.challenge.pk))
    assert response.status_code == 302
    assert not BusinessChallenge.objects.exists() and not ChallengeNeedLink.objects.exists()
    assert TechnicalNeed.objects.exists()


@pytest.fixture
def recorded(world, alice, opportunity):
    """A deal whose discovery recorded the world's challenge → need pair."""
    return services.discovery_links_add(
        opportunity=opportunity,
        actor=alice,
        pairs=[(world.challenge.pk, world.need.pk)],
        direction="top_down",
    )[0]


def test_what_a_deal_recorded_is_never_deleted(client, erin, world, recorded):
    client.force_login(erin)
    before = _state()
    for name, pk in (
        ("challenge-delete", world.challenge.pk),
        ("need-delete", world.need.pk),
        ("link-delete", world.link.pk),
    ):
        page = client.get(url(name, pk))
        assert page.status_code == 200
        assert "1 deal recorded this" in page.content.decode()
        assert 'data-testid="refusal"' in page.content.decode()
        response = client.post(url(name, pk))
        assert response.status_code == 409, name
        assert "1 deal recorded" in response.content.decode()
    assert _state() == before
    assert DiscoveryLink.objects.get() == recorded
    for call in (
        lambda: curation_services.challenge_delete(challenge=world.challenge, actor=erin),
        lambda: curation_services.need_delete(need=world.need, actor=erin),
        lambda: curation_services.catalog_link_delete(link=world.link, actor=erin),
    ):
        with pytest.raises(Conflict, match="1 deal recorded"):
            call()
    assert _state() == before


def test_the_pair_of_a_recorded_link_stays_but_its_text_can_change(client, erin, world, recorded):
    other_need = curation_services.need_create(actor=erin, title="Other", use_case="observability")
    client.force_login(erin)
    page = client.get(url("link-edit", world.link.pk)).content.decode()
    assert "the challenge and the need stay" in page
    # The disabled fields keep their value whatever is posted.
    response = client.post(
        url("link-edit", world.link.pk),
        {
            "challenge": world.challenge.pk,
            "need": other_need.pk,
            "narrative": "Better words",
            "kpis": "MTTR",
        },
    )
    assert response.status_code == 302
    link = ChallengeNeedLink.objects.get(pk=world.link.pk)
    assert (link.need_id, link.narrative, link.kpis) == (world.need.pk, "Better words", "MTTR")
    with pytest.raises(Conflict, match="add a new link instead"):
        curation_services.catalog_link_update(
            link=link, actor=erin, challenge=world.challenge, need=other_need, narrative="x"
        )
    assert ChallengeNeedLink.objects.get(pk=link.pk).need_id == world.need.pk


def test_a_need_blocks_are_filed_under_is_not_deleted(client, erin, frank, world):
    make_block(erin, publish_by=frank, title="Deploy markers demo", needs=[world.need])
    client.force_login(erin)
    page = client.get(url("need-delete", world.need.pk)).content.decode()
    assert "“Deploy markers demo”" in page and "Untick it on those blocks first" in page
    assert client.post(url("need-delete", world.need.pk)).status_code == 409
    assert TechnicalNeed.objects.filter(pk=world.need.pk).exists()
    assert world.need.blocks.count() == 1


def test_a_need_nothing_points_at_is_deleted(client, erin, world):
    client.force_login(erin)
    assert client.post(url("need-delete", world.need.pk)).status_code == 302
    assert not TechnicalNeed.objects.exists() and not ChallengeNeedLink.objects.exists()
    assert BusinessChallenge.objects.exists()


# --- challenge → need links ----------------------------------------------------------------------


def test_a_link_takes_the_use_case_of_its_challenge_and_one_kpi_per_line(client, erin, world):
    need = curation_services.need_create(actor=erin, title="Error budgets", use_case="security")
    client.force_login(erin)
    page = client.get(url("link-create"), {"challenge": world.challenge.pk}).content.decode()
    assert f'<option value="{world.challenge.pk}" selected>' in page
    response = client.post(
        url("link-create"),
        {
            "challenge": world.challenge.pk,
            "need": need.pk,
            "use_case": "",
            "narrative": " Budgets make the trade-off explicit. ",
            "kpis": "- SLO attainment\r\n\r\n  Error budget burn  \n",
        },
    )
    assert response.status_code == 302
    link = ChallengeNeedLink.objects.get(need=need)
    assert link.use_case == "observability"  # the challenge's, not the need's
    assert link.narrative == "Budgets make the trade-off explicit."
    assert link.kpis == "- SLO attainment\nError budget burn"
    assert link.kpi_list == ["SLO attainment", "Error budget burn"]
    assert link.position == world.link.position + 1
    catalog = client.get(url("catalog"), {"use_case": "observability"}).content.decode()
    assert "Budgets make the trade-off explicit." in catalog and "Error budget burn" in catalog


def test_a_duplicate_pair_is_refused_with_a_clear_form_error(client, erin, world):
    client.force_login(erin)
    before = _state()
    response = client.post(
        url("link-create"),
        {"challenge": world.challenge.pk, "need": world.need.pk, "narrative": "Again"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["need"] == [
        "“Releases break production” is already linked to “Deployment tracking”; edit that link."
    ]
    assert _state() == before
    # Editing another link into the same pair is refused the same way.
    other_need = curation_services.need_create(actor=erin, title="Other", use_case="observability")
    other = curation_services.catalog_link_create(
        actor=erin, challenge=world.challenge, need=other_need, narrative="n"
    )
    response = client.post(
        url("link-edit", other.pk),
        {"challenge": world.challenge.pk, "need": world.need.pk, "narrative": "n"},
    )
    assert response.status_code == 400 and "already linked" in response.content.decode()
    assert ChallengeNeedLink.objects.get(pk=other.pk).need == other_need


def test_a_link_without_narrative_or_with_an_unknown_need_is_a_400(client, erin, world):
    client.force_login(erin)
    for data, field in (
        ({"challenge": world.challenge.pk, "need": world.need.pk, "narrative": ""}, "narrative"),
        ({"challenge": world.challenge.pk, "need": 999999, "narrative": "x"}, "need"),
        ({"challenge": "abc", "need": world.need.pk, "narrative": "x"}, "challenge"),
    ):
        response = client.post(url("link-create"), data)
        assert response.status_code == 400 and field in response.context["form"].errors
    assert ChallengeNeedLink.objects.count() == 1


def test_a_link_is_edited_and_deleted(client, erin, world):
    client.force_login(erin)
    client.post(
        url("link-edit", world.link.pk),
        {
            "challenge": world.challenge.pk,
            "need": world.need.pk,
            "use_case": "security",
            "narrative": "New words",
            "kpis": "Lead time",
        },
    )
    link = ChallengeNeedLink.objects.get()
    assert (link.use_case, link.narrative, link.kpi_list) == (
        "security",
        "New words",
        ["Lead time"],
    )
    assert client.post(url("link-delete", link.pk)).status_code == 302
    assert not ChallengeNeedLink.objects.exists()
    assert BusinessChallenge.objects.exists() and TechnicalNeed.objects.exists()


def test_the_catalog_still_suggests_the_published_blocks_filed_under_a_need(
    client, alice, erin, frank, world
):
    make_block(erin, publish_by=frank, title="Deploy markers demo", needs=[world.need])
    make_block(erin, title="Unpublished deploy notes", needs=[world.need])
    client.force_login(alice)
    html = client.get(url("catalog"), {"use_case": "observability"}).content.decode()
    assert "Deploy markers demo" in html and "Unpublished deploy notes" not in html


# --- training paths ------------------------------------------------------------------------------


def test_a_path_is_created_then_edited(client, erin):
    client.force_login(erin)
    response = client.post(
        url("path-create"), {"name": "Manager basics", "role": "manager", "description": "Start"}
    )
    path = TrainingPath.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("path-edit", path.pk) + "#steps"
    assert (path.slug, path.role, path.position) == ("manager-basics", "manager", 1)
    response = client.post(
        url("path-edit", path.pk),
        {"name": "Manager essentials", "slug": "manager-basics", "role": "manager"},
    )
    assert response.status_code == 302
    path.refresh_from_db()
    assert (path.name, path.slug, path.description) == ("Manager essentials", "manager-basics", "")


def test_a_duplicate_path_slug_or_bad_role_is_a_400(client, erin, world):
    client.force_login(erin)
    response = client.post(url("path-create"), {"name": "SA onboarding", "role": "sa"})
    assert response.status_code == 400
    assert response.context["form"].errors["slug"] == [
        "The slug “sa-onboarding” is taken by another training path; type another one."
    ]
    other = curation_services.training_path_create(actor=erin, name="Other", role="sa")
    response = client.post(
        url("path-edit", other.pk), {"name": "Other", "slug": "sa-onboarding", "role": "sa"}
    )
    assert response.status_code == 400 and "is taken" in response.content.decode()
    response = client.post(url("path-edit", other.pk), {"name": "Other", "role": "boss"})
    assert response.status_code == 400 and "role" in response.context["path_form"].errors
    assert list(TrainingPath.objects.order_by("pk").values_list("slug", "role")) == [
        ("sa-onboarding", "sa"),
        ("other", "sa"),
    ]


def test_steps_are_added_from_published_blocks_only(client, erin, frank, world):
    draft = make_block(erin, title="Draft guide")
    second = make_block(erin, publish_by=frank, title="Second guide")
    client.force_login(erin)
    page = client.get(url("path-edit", world.path.pk)).content.decode()
    assert f'value="{second.pk}"' in page
    assert f'value="{draft.pk}"' not in page  # neither drafts
    assert f'<option value="{world.block.pk}"' not in page  # nor blocks already in the path
    before = _state()
    for block in (draft, world.block):
        response = client.post(url("step-add", world.path.pk), {"block": block.pk})
        assert response.status_code == 400
        assert response.context["add_form"].errors["block"] == [
            "Pick a published block that is not a step of this path yet."
        ]
    assert _state() == before
    with pytest.raises(Exception, match="Only a published block"):
        curation_services.training_step_add(path=world.path, actor=erin, block=draft)
    with pytest.raises(Exception, match="already a step of this path"):
        curation_services.training_step_add(path=world.path, actor=erin, block=world.block)
    response = client.post(url("step-add", world.path.pk), {"block": second.pk, "note": " Read "})
    step = TrainingStep.objects.get(block=second)
    assert response.status_code == 302
    assert response["Location"] == url("path-edit", world.path.pk) + f"#step-{step.pk}"
    assert (step.position, step.note) == (2, "Read")


def test_a_step_note_is_edited_and_a_too_long_one_is_a_400(client, erin, world):
    client.force_login(erin)
    client.post(url("step-edit", world.path.pk, world.step.pk), {"note": "Watch the video"})
    assert TrainingStep.objects.get().note == "Watch the video"
    response = client.post(url("step-edit", world.path.pk, world.step.pk), {"note": "x" * 301})
    assert response.status_code == 400
    assert 'data-testid="step-error"' in response.content.decode()
    assert TrainingStep.objects.get().note == "Watch the video"


def _order(path):
    return list(path.steps.order_by("position").values_list("block__title", "position"))


@pytest.fixture
def four_steps(erin, frank, world):
    for block in _published(erin, frank, 3, prefix="Step"):
        curation_services.training_step_add(path=world.path, actor=erin, block=block)
    return world.path


def test_moving_steps_keeps_positions_one_to_n(client, erin, four_steps):
    client.force_login(erin)
    third = four_steps.steps.get(position=3)
    response = client.post(url("step-move", four_steps.pk, third.pk), {"direction": "up"})
    assert response.status_code == 302
    assert response["Location"] == url("path-edit", four_steps.pk) + f"#step-{third.pk}"
    assert _order(four_steps) == [
        ("Release tracking guide", 1),
        ("Step 1", 2),
        ("Step 0", 3),
        ("Step 2", 4),
    ]
    client.post(url("step-move", four_steps.pk, third.pk), {"direction": "up"})
    client.post(url("step-move", four_steps.pk, third.pk), {"direction": "up"})  # already first
    last = four_steps.steps.get(position=4)
    client.post(url("step-move", four_steps.pk, last.pk), {"direction": "down"})  # already last
    assert _order(four_steps) == [
        ("Step 1", 1),
        ("Release tracking guide", 2),
        ("Step 0", 3),
        ("Step 2", 4),
    ]


def test_moving_closes_gaps_left_by_the_admin(erin, four_steps):
    # Positions edited by hand in the Django admin: 5, 9, 30, 31.
    for step, position in zip(four_steps.steps.order_by("-position"), (31, 30, 9, 5), strict=True):
        TrainingStep.objects.filter(pk=step.pk).update(position=position)
    step = four_steps.steps.get(position=30)
    curation_services.training_step_move(step=step, actor=erin, direction="down")
    assert [position for _, position in _order(four_steps)] == [1, 2, 3, 4]
    assert _order(four_steps)[2:] == [("Step 2", 3), ("Step 1", 4)]


def test_a_bad_direction_is_a_400(client, erin, four_steps):
    client.force_login(erin)
    step = four_steps.steps.get(position=2)
    before = _order(four_steps)
    response = client.post(url("step-move", four_steps.pk, step.pk), {"direction": "sideways"})
    assert response.status_code == 400 and "Unknown direction" in response.content.decode()
    assert _order(four_steps) == before


def test_a_step_of_another_path_is_a_404(client, erin, world, four_steps):
    other = curation_services.training_path_create(actor=erin, name="Other", role="sa")
    client.force_login(erin)
    for name in ("step-edit", "step-move", "step-remove"):
        response = client.post(url(name, other.pk, world.step.pk), {"direction": "up"})
        assert response.status_code == 404, name
    assert client.get(url("path-edit", 999999)).status_code == 404


def test_a_step_nobody_did_is_removed_at_once_and_the_rest_move_up(client, erin, four_steps):
    client.force_login(erin)
    second = four_steps.steps.get(position=2)
    response = client.post(url("step-remove", four_steps.pk, second.pk))
    assert response.status_code == 302
    assert _order(four_steps) == [("Release tracking guide", 1), ("Step 1", 2), ("Step 2", 3)]


def test_removing_a_step_people_did_deletes_their_completions_only_once_confirmed(
    client, alice, bob, erin, four_steps
):
    second = four_steps.steps.get(position=2)
    for person in (alice, bob):
        services.training_step_set_done(step=second, actor=person)
    client.force_login(erin)
    editor = client.get(url("path-edit", four_steps.pk)).content.decode()
    assert "deletes their completions too" in editor and "2 marked done" in editor
    page = client.get(url("step-remove", four_steps.pk, second.pk)).content.decode()
    assert "2 people marked this step done" in page and "deletes their completions" in page
    assert 'name="delete_completions" value="1"' in page
    response = client.post(url("step-remove", four_steps.pk, second.pk))
    assert response.status_code == 409 and "confirm" in response.content.decode()
    assert TrainingCompletion.objects.count() == 2 and four_steps.steps.count() == 4
    response = client.post(
        url("step-remove", four_steps.pk, second.pk), {"delete_completions": "1"}
    )
    assert response.status_code == 302
    assert not TrainingCompletion.objects.exists()
    assert [position for _, position in _order(four_steps)] == [1, 2, 3]
    assert "Step 0" not in dict(_order(four_steps))


# --- the activity log ----------------------------------------------------------------------------


def test_every_code_the_editors_log_has_a_timeline_label():
    assert set(curation_services.CODES) <= set(EVENT_LABELS)


def test_writes_are_logged_after_commit_and_steps_on_the_blocks_timeline(
    erin, frank, caplog, django_capture_on_commit_callbacks
):
    block = make_block(erin, publish_by=frank, title="Guide")
    caplog.set_level("INFO", logger="building_blocks.activity")
    with django_capture_on_commit_callbacks(execute=True):
        challenge = curation_services.challenge_create(actor=erin, title="C", use_case="security")
        path = curation_services.training_path_create(actor=erin, name="P", role="sa")
        step = curation_services.training_step_add(path=path, actor=erin, block=block)
        curation_services.training_step_remove(step=step, actor=erin)
    logged = [record.getMessage().split(" ")[0] for record in caplog.records]
    assert logged == [
        "catalog.challenge_created",
        "training.path_created",
        "training.step_added",
        "training.step_removed",
    ]
    assert f"'challenge_id': {challenge.pk}" in caplog.records[0].getMessage()
    assert "by erin" in caplog.records[0].getMessage()
    events = list(block.events.order_by("pk").values_list("code", "actor__username", "data"))
    assert [code for code, _, _ in events[-2:]] == ["training.step_added", "training.step_removed"]
    assert events[-1][1] == "erin" and events[-1][2]["path"] == "P"


def test_a_refused_write_logs_nothing(erin, world, recorded, caplog):
    caplog.set_level("INFO", logger="building_blocks.activity")
    events = BlockEvent.objects.count()
    with pytest.raises(Conflict):
        curation_services.challenge_delete(challenge=world.challenge, actor=erin)
    assert not caplog.records and BlockEvent.objects.count() == events


# --- query budgets -------------------------------------------------------------------------------


def _grow_catalog(erin, frank, n, offset):
    """n challenges each linked to two new needs, one recorded by a deal; blocks under a need."""
    for index in range(n):
        challenge = curation_services.challenge_create(
            actor=erin, title=f"Challenge {offset + index}", use_case="observability"
        )
        for side in ("a", "b"):
            need = curation_services.need_create(
                actor=erin, title=f"Need {offset + index}{side}", use_case="observability"
            )
            curation_services.catalog_link_create(
                actor=erin, challenge=challenge, need=need, narrative="n", kpis="k1\nk2"
            )
        make_block(erin, publish_by=frank, title=f"Block {offset + index}", needs=[need])


# Session, user, roles; then the challenges with their deal counts, their links (with need and
# deal count), the needs with their link, block and deal counts; the built-in updates waiting.
CATALOG_MANAGE_QUERIES = 7


def test_the_catalog_editor_has_a_constant_query_count(
    client, erin, frank, alice, opportunity, django_assert_num_queries
):
    client.force_login(erin)
    for offset, size in ((0, 2), (100, 6)):
        _grow_catalog(erin, frank, size, offset)
        link = ChallengeNeedLink.objects.order_by("-pk").first()
        services.discovery_links_add(
            opportunity=opportunity,
            actor=alice,
            pairs=[(link.challenge_id, link.need_id)],
            direction="top_down",
        )
        with django_assert_num_queries(CATALOG_MANAGE_QUERIES):
            response = client.get(url("catalog-manage"), {"use_case": "observability"})
        assert response.status_code == 200
        assert len(response.context["challenges"]) == (2 if offset == 0 else 8)
        assert "recorded by 1 deal" in response.content.decode()


# Session, user, roles, then the catalog's links and the published blocks per need: the same
# for a curator (who also gets the edit links) as for an SA.
CATALOG_QUERIES = 5


@pytest.mark.parametrize("persona", ["alice", "erin"])
def test_the_catalog_page_costs_curators_no_extra_query(
    client, request, persona, erin, frank, django_assert_num_queries
):
    client.force_login(request.getfixturevalue(persona))
    for offset, size in ((0, 2), (100, 6)):
        _grow_catalog(erin, frank, size, offset)
        with django_assert_num_queries(CATALOG_QUERIES):
            response = client.get(url("catalog"), {"use_case": "observability"})
        assert response.context["link_count"] == (4 if offset == 0 else 16)


# Session, user, roles, the object with its counts; a link form adds the challenge and the need
# choices.
@pytest.mark.parametrize(
    ("name", "target", "queries"),
    [
        ("challenge-create", None, 3),
        ("need-create", None, 3),
        ("path-create", None, 3),
        ("challenge-edit", "challenge", 4),
        ("need-edit", "need", 4),
        ("challenge-delete", "challenge", 4),
        ("link-create", None, 5),
        ("link-edit", "link", 6),
    ],
)
def test_the_editor_forms_have_a_constant_query_count(
    client, erin, frank, world, name, target, queries, django_assert_num_queries
):
    client.force_login(erin)
    args = [getattr(world, target).pk] if target else []
    for offset in (0, 100):
        _grow_catalog(erin, frank, 3, offset)
        with django_assert_num_queries(queries):
            assert client.get(url(name, *args)).status_code == 200


# Session, user, roles, the path, its steps (with block and completion count), the blocks that
# can be added.
PATH_EDITOR_QUERIES = 6


def test_the_path_editor_has_a_constant_query_count(
    client, alice, bob, erin, frank, world, django_assert_num_queries
):
    client.force_login(erin)
    for size in (2, 8):
        for block in _published(erin, frank, size, prefix=f"Grow {size}"):
            step = curation_services.training_step_add(path=world.path, actor=erin, block=block)
            services.training_step_set_done(step=step, actor=alice)
            services.training_step_set_done(step=step, actor=bob)
        _published(erin, frank, size, prefix=f"Spare {size}")
        with django_assert_num_queries(PATH_EDITOR_QUERIES):
            response = client.get(url("path-edit", world.path.pk))
        assert len(response.context["steps"]) == 1 + (2 if size == 2 else 10)
        assert "2 marked done" in response.content.decode()
