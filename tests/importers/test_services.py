"""What an import may change: deals, accounts and new owners without login, never who is who.

An existing user is never renamed, given a role or put in a team; a manager imports only into
the teams they manage, and a row that breaks this is rejected like any bad row: nothing is
written.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType

from epos.lib.roles import user_roles
from epos.models import ExternalRef
from opportunities.importers import presets
from opportunities.importers.services import pipeline_import
from opportunities.models import Opportunity, Team
from tests import factories
from tests.importers.conftest import import_folder, write_csv
from tests.importers.test_maven import write_maven

pytestmark = pytest.mark.django_db

HEADER = "id,title,status,owner,team"
MAPPING = (
    "process: plain\n"
    "system: crm\n"
    "columns:\n"
    "  external_id: id\n"
    "  name: title\n"
    "  stage: status\n"
    "  owner: owner\n"
    "  team: team\n"
)


@pytest.fixture
def plain_process(db):
    return factories.make_process(("Discovery", "Demo"), slug="plain")[0]


def run(folder, rows, *, actor, dry_run=False):
    data = write_csv(folder, "deals.csv", [HEADER, *rows])
    plan = presets.build_plan(
        preset=presets.GENERIC,
        files={data.name: data.read_bytes()},
        mapping=("mapping.yaml", MAPPING),
    )
    return pipeline_import(plan=plan, actor=actor, dry_run=dry_run)


def teams_of(user) -> tuple[set[str], set[str]]:
    """(names of the teams `user` is a member of, names of those they manage), from the DB."""
    user = get_user_model().objects.get(pk=user.pk)
    return (
        set(user.teams.values_list("name", flat=True)),
        set(user.managed_teams.values_list("name", flat=True)),
    )


def deal(external_id: str, system: str = "crm") -> Opportunity:
    ref = ExternalRef.objects.get(system=system, kind="opportunity", external_id=external_id)
    return Opportunity.objects.select_related("owner", "team").get(pk=ref.object_id)


# --- who is who ------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [None, "root"])
def test_a_team_named_like_another_team_does_not_add_the_owner_to_it(
    request, folder, plain_process, carol, other_team, actor
):
    actor = request.getfixturevalue(actor) if actor else None

    result = run(folder, ["1,Apac deal,Demo,carol,Security APAC"], actor=actor)

    assert result.ok and result.committed
    assert deal("1").team == other_team  # an admin imports into any team...
    assert deal("1").owner == carol
    # ... but nobody joins a team through an import.
    assert teams_of(carol) == (set(), {"Observability EMEA"})
    assert not other_team.members.exists() and not other_team.managers.exists()


def test_an_existing_sa_is_not_given_a_role_or_team_or_renamed(folder, alice, bob, team):
    # Linked by an earlier import: the Maven file calls alice "Ann Agent" and bob "Mia Manager",
    # who manages the Central team in sales_teams.csv.
    user_type = ContentType.objects.get_for_model(get_user_model())
    for name, user in (("Ann Agent", alice), ("Mia Manager", bob)):
        ExternalRef.objects.create(
            system="maven-crm",
            kind="user",
            external_id=name,
            content_type=user_type,
            object_id=user.pk,
        )
    write_maven(folder)

    result = import_folder(folder, "maven-crm")

    assert result.ok and result.committed
    assert deal("W1", "maven-crm").owner == alice
    assert [owner.label for owner in result.owners if owner.external_id == "Ann Agent"] == [
        "existing: Alice Archer"
    ]
    for user, name in ((alice, ("Alice", "Archer")), (bob, ("Bob", "Baker"))):
        user = get_user_model().objects.get(pk=user.pk)
        assert (user.first_name, user.last_name) == name
        assert user.has_usable_password() and user.check_password("pw-for-tests")
        assert user_roles(user) == {"sa"}
        assert teams_of(user) == ({"Observability EMEA"}, set())
    central = Team.objects.get(name="Mia Manager (Central)")
    assert set(central.members.values_list("first_name", flat=True)) == {"Bob"}  # Bob Broker
    assert not central.managers.exists()


def test_an_owner_found_by_username_or_email_is_linked_and_left_as_they_are(
    folder, plain_process, alice, bob, carol
):
    rows = [
        "1,One,Demo,alice,Observability EMEA",
        "2,Two,Demo,bob@example.com,Observability EMEA",
        "3,Three,Demo,Zed Zero,Observability EMEA",
    ]

    result = run(folder, rows, actor=carol)

    assert result.ok, result.errors
    assert [(o.external_id, o.label, o.via, o.deals) for o in result.owners] == [
        ("alice", "existing: Alice Archer", "same username", 1),
        ("bob@example.com", "existing: Bob Baker", "same email", 1),
        ("Zed Zero", "new user without login: Zed Zero", "", 1),
    ]
    assert (deal("1").owner, deal("2").owner) == (alice, bob)
    links = ExternalRef.objects.filter(system="crm", kind="user")
    assert set(links.values_list("external_id", "object_id")) == {
        ("alice", alice.pk),
        ("bob@example.com", bob.pk),
        ("Zed Zero", deal("3").owner.pk),
    }

    again = run(folder, rows, actor=carol)

    assert [o.via for o in again.owners] == ["linked by an earlier import"] * 3
    assert [o.label for o in again.owners][2] == "existing: Zed Zero"
    assert again.users_created == 0


def test_new_owners_get_no_login_no_role_and_join_only_the_team_of_their_deals(
    folder, plain_process, carol, team
):
    result = run(folder, ["1,One,Demo,Zed Zero,Observability EMEA"], actor=carol)

    assert result.ok and result.users_created == 1
    zed = deal("1").owner
    assert zed.get_full_name() == "Zed Zero"
    assert not zed.has_usable_password()
    assert user_roles(zed) == frozenset()
    assert teams_of(zed) == ({"Observability EMEA"}, set())
    assert teams_of(carol) == (set(), {"Observability EMEA"})


# --- a manager imports only into the teams they manage ----------------------------------------


def test_a_manager_importing_into_a_team_they_do_not_manage_is_refused_row_by_row(
    folder, plain_process, carol, team, other_team
):
    users_before = get_user_model().objects.count()
    rows = [
        "1,Mine,Demo,carol,Observability EMEA",
        "2,Theirs,Demo,carol,Security APAC",
        "3,Unknown team,Demo,Zed Zero,Nowhere",
        "4,No team,Demo,Zed Zero,",
    ]

    result = run(folder, rows, actor=carol)

    assert not result.ok and not result.committed
    assert [(error.file, error.line, error.message) for error in result.errors] == [
        (
            "deals.csv",
            3,
            "team 'Security APAC' is not a team you manage (yours: Observability EMEA)",
        ),
        (
            "deals.csv",
            4,
            "team 'Nowhere' does not exist: only an admin can create teams "
            "(yours: Observability EMEA)",
        ),
        (
            "deals.csv",
            5,
            "has no team: a manager imports deals only into a team they manage "
            "(yours: Observability EMEA)",
        ),
    ]
    assert Opportunity.objects.count() == 0
    assert ExternalRef.objects.count() == 0
    assert get_user_model().objects.count() == users_before
    assert set(Team.objects.values_list("name", flat=True)) == {
        "Observability EMEA",
        "Security APAC",
    }
    assert teams_of(carol) == (set(), {"Observability EMEA"})


def test_an_admin_may_create_the_teams_a_file_names(folder, plain_process, root):
    result = run(folder, ["1,One,Demo,Zed Zero,Nowhere"], actor=root)

    assert result.ok and result.teams_created == 1
    nowhere = Team.objects.get(name="Nowhere")
    assert deal("1").team == nowhere
    assert list(nowhere.members.all()) == [deal("1").owner]
    assert not nowhere.managers.exists()
    assert teams_of(root) == (set(), set())


def test_a_manager_may_not_give_a_deal_to_a_user_outside_its_team(
    folder, plain_process, carol, dave
):
    result = run(folder, ["1,Mine,Demo,dave,Observability EMEA"], actor=carol)

    assert [(error.line, error.message) for error in result.errors] == [
        (
            2,
            "owner 'dave' is Dave Dunn, who is not in team 'Observability EMEA': an import adds "
            "no existing user to a team",
        )
    ]
    assert Opportunity.objects.count() == 0
    assert teams_of(dave) == ({"Security APAC"}, set())


def test_a_manager_may_not_take_over_a_deal_now_in_a_team_they_do_not_manage(
    folder, plain_process, carol, root, other_team
):
    run(folder, ["1,Apac deal,Demo,Zed Zero,Security APAC"], actor=root)

    result = run(folder, ["1,Apac deal,Discovery,,Observability EMEA"], actor=carol)

    assert [(error.line, error.message) for error in result.errors] == [
        (2, "updates a deal that is in team 'Security APAC' in EPOS, which you do not manage")
    ]
    kept = deal("1")
    assert (kept.team, kept.stage.name, kept.version) == (other_team, "Demo", 1)
