"""The maven-crm preset on small hand-made files (the real files are in test_real_datasets)."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from epos.lib.errors import Forbidden
from epos.lib.roles import user_roles
from epos.models import ExternalRef
from opportunities.importers.base import IMPORTED_LOSS_REASON
from opportunities.models import Account, Opportunity, StageTransition, Team
from stages.models import Process
from tests import factories
from tests.importers.conftest import assert_consistent, day, history, import_folder, write_csv

pytestmark = pytest.mark.django_db

TEAMS = [
    "sales_agent,manager,regional_office",
    "Ann Agent,Mia Manager,Central",
    "Bob Broker,Mia Manager,Central",
    "Cy Closer,Max Boss,West",
]
PRODUCTS = ["product,series,sales_price", "GTX Pro,GTX,4821", "MG Special,MG,55"]
ACCOUNTS = [
    "account,sector,year_established,revenue,employees,office_location,subsidiary_of",
    "Acme,technolgy,1996,1100.04,2822,Philipines,",
    "Globex,retail,2001,50.5,120,United States,Acme",
]
HEADER = "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value"
PIPELINE = [
    HEADER,
    "W1,Ann Agent,GTXPro,Acme,Won,2017-01-02,2017-01-12,5000",
    "W2,Bob Broker,MG Special,Globex,Won,2017-02-01,2017-02-03,60",
    "L1,Ann Agent,GTX Pro,Acme,Lost,2017-01-05,2017-01-25,0",
    "E1,Cy Closer,MG Special,,Engaging,2017-03-01,,",
    "P1,Cy Closer,GTX Pro,,Prospecting,,,",
]


def write_maven(folder, pipeline=PIPELINE, *, bom=False, crlf=True):
    write_csv(folder, "sales_teams.csv", TEAMS, crlf=crlf)
    write_csv(folder, "products.csv", PRODUCTS, crlf=crlf)
    write_csv(folder, "accounts.csv", ACCOUNTS, crlf=crlf)
    write_csv(folder, "sales_pipeline.csv", pipeline, bom=bom, crlf=crlf)


def deal(external_id: str) -> Opportunity:
    ref = ExternalRef.objects.get(system="maven-crm", kind="opportunity", external_id=external_id)
    return Opportunity.objects.select_related("stage", "owner", "team", "account").get(
        pk=ref.object_id
    )


def test_import_builds_the_process_and_counts_outcomes(folder):
    write_maven(folder)

    result = import_folder(folder, "maven-crm")

    assert result.ok and result.committed
    process = Process.objects.get(slug="maven-crm")
    assert process.name == "MavenTech pipeline"
    assert process.status == Process.Status.ACTIVE
    stages = list(process.stages.order_by("position").values_list("name", "kind", "starts_clock"))
    assert stages == [
        ("Prospecting", "open", False),
        ("Engaging", "open", True),
        ("Won", "won", False),
        ("Lost", "lost", False),
    ]
    deals = Opportunity.objects.filter(process=process)
    assert deals.count() == 5
    assert deals.filter(outcome="won").count() == 2
    assert deals.filter(outcome="lost").count() == 1
    assert deals.filter(outcome="open").count() == 2
    for opportunity in deals:
        assert_consistent(opportunity)


def test_won_deal_gets_transitions_at_engage_and_close_dates(folder):
    write_maven(folder)
    import_folder(folder, "maven-crm")

    won = deal("W1")

    assert history(won) == [
        (None, "Prospecting", day("2017-01-02"), ""),
        ("Prospecting", "Engaging", day("2017-01-02"), ""),
        ("Engaging", "Won", day("2017-01-12"), ""),
    ]
    assert won.engaged_at == day("2017-01-02")
    assert won.closed_at == day("2017-01-12")
    assert won.amount == Decimal("5000")
    assert won.version == 1
    # 10 days from engage to close: what MTTC will read.
    assert (won.closed_at - won.engaged_at).days == 10


def test_lost_deal_closes_at_close_date_with_a_loss_reason(folder):
    write_maven(folder)
    import_folder(folder, "maven-crm")

    lost = deal("L1")

    assert lost.stage.name == "Lost"
    assert lost.closed_at == day("2017-01-25")
    assert lost.engaged_at == day("2017-01-05")
    assert lost.loss_reason == IMPORTED_LOSS_REASON
    assert lost.amount == 0


def test_open_deals_engaging_is_engaged_and_prospecting_is_not(folder):
    write_maven(folder)
    import_folder(folder, "maven-crm")

    engaging, prospecting = deal("E1"), deal("P1")

    assert engaging.stage.name == "Engaging"
    assert engaging.engaged_at == day("2017-03-01")
    assert engaging.closed_at is None
    assert engaging.account is None
    assert prospecting.stage.name == "Prospecting"
    assert prospecting.engaged_at is None
    # No date at all: created at the latest date in the file (E1's engage date).
    assert prospecting.created_at == day("2017-03-01")
    assert len(history(prospecting)) == 1


def test_as_of_sets_when_undated_prospecting_deals_were_created(folder):
    write_maven(folder)

    import_folder(folder, "maven-crm", as_of=day("2018-06-30"))

    assert deal("P1").created_at == day("2018-06-30")
    assert deal("E1").created_at == day("2017-03-01")


def test_product_spelling_gtxpro_is_normalised_to_the_catalog_name(folder):
    write_maven(folder)
    import_folder(folder, "maven-crm")

    assert deal("W1").product == "GTX Pro"
    assert deal("W1").name == "Acme · GTX Pro (W1)"
    assert deal("L1").product == "GTX Pro"
    assert not Opportunity.objects.filter(product="GTXPro").exists()


def test_agents_become_users_without_login_or_role_in_the_team_of_their_deals(folder):
    write_maven(folder)
    import_folder(folder, "maven-crm")

    ann = deal("W1").owner
    assert ann.get_full_name() == "Ann Agent"
    assert not ann.has_usable_password()
    assert user_roles(ann) == frozenset()
    central = Team.objects.get(name="Mia Manager (Central)")
    assert central.region == "Central"
    assert set(central.members.values_list("first_name", flat=True)) == {"Ann", "Bob"}
    # sales_teams.csv names the managers; an import makes nobody a manager, nor a user unless
    # they own a deal.
    assert not central.managers.exists()
    assert not get_user_model().objects.filter(first_name="Mia").exists()
    assert deal("W1").team == central
    assert deal("E1").team.name == "Max Boss (West)"
    assert get_user_model().objects.filter(username__startswith="maven-crm.").count() == 3
    assert not get_user_model().objects.filter(groups__isnull=False).exists()


def test_accounts_carry_sector_employees_and_country_with_typos_fixed(folder):
    write_maven(folder)
    import_folder(folder, "maven-crm")

    acme = deal("W1").account
    assert (acme.name, acme.industry, acme.country, acme.employees) == (
        "Acme",
        "technology",
        "Philippines",
        2822,
    )
    assert acme.segment == "mid_market"
    globex = Account.objects.get(name="Globex")
    assert globex.segment == "smb"
    assert "Subsidiary of Acme" in globex.business_context


def test_bom_and_crlf_files_import_like_plain_ones(tmp_path):
    plain, fancy = tmp_path / "plain", tmp_path / "fancy"
    plain.mkdir()
    fancy.mkdir()
    write_maven(plain, crlf=False)
    write_maven(fancy, bom=True, crlf=True)

    first = import_folder(plain, "maven-crm", dry_run=True)
    second = import_folder(fancy, "maven-crm", dry_run=True)

    assert first.ok and second.ok
    assert second.created == first.created == 5
    assert [(r.external_id, r.state) for r in second.plan.opportunities] == [
        (r.external_id, r.state) for r in first.plan.opportunities
    ]


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written(folder):
    users_before = get_user_model().objects.count()
    write_maven(
        folder,
        [
            HEADER,
            "X1,Ann Agent,GTX Pro,Acme,Negotiating,2017-01-02,,",
            "X2,Ann Agent,GTX Pro,Acme,Won,02/01/2017,2017-01-12,10",
            "X3,Ann Agent,GTX Pro,Acme,Won,2017-01-02,2017-01-12,-5",
            "X4,Ann Agent,GTX Pro,Acme,Won,2017-01-12,2017-01-02,10",
            "OK1,Ann Agent,GTX Pro,Acme,Won,2017-01-02,2017-01-12,10",
            "X5,Ann Agent,GTX Pro,Acme,Won,2017-01-02,,10",
            "X6,Ann Agent,GTX Pro,Acme,Engaging,,,",
            "OK1,Ann Agent,GTX Pro,Acme,Lost,2017-01-02,2017-01-12,0",
            "X7,Ann Agent,GTX Pro,Acme,Won,2017-01-02,2017-01-12,lots",
        ],
    )

    result = import_folder(folder, "maven-crm")

    assert not result.ok and not result.committed
    reported = {(error.line, error.message.split(" ")[0]) for error in result.errors}
    assert {line for line, _ in reported} == {2, 3, 4, 5, 7, 8, 9, 10}
    messages = {error.line: error.message for error in result.errors}
    assert "unknown deal_stage 'Negotiating'" in messages[2]
    assert "bad engage_date '02/01/2017'" in messages[3]
    assert "negative" in messages[4]
    assert "before engage_date" in messages[5]
    assert "needs a close_date" in messages[7]
    assert "needs an engage_date" in messages[8]
    assert "appears twice" in messages[9]
    assert "not a number" in messages[10]
    assert all(error.file == "sales_pipeline.csv" for error in result.errors)
    assert Opportunity.objects.count() == 0
    assert StageTransition.objects.count() == 0
    assert ExternalRef.objects.count() == 0
    assert not Process.objects.filter(slug="maven-crm").exists()
    assert get_user_model().objects.count() == users_before
    assert Team.objects.count() == 0


def test_a_missing_required_column_rejects_the_file(folder):
    write_maven(folder, [line.rsplit(",", 1)[0] for line in PIPELINE])

    result = import_folder(folder, "maven-crm")

    assert not result.ok
    assert len(result.errors) == 1
    error = result.errors[0]
    assert (error.file, error.line) == ("sales_pipeline.csv", 1)
    assert "missing required column(s): close_value" in error.message
    assert Opportunity.objects.count() == 0


def test_a_missing_pipeline_file_is_an_error(folder):
    write_csv(folder, "accounts.csv", ACCOUNTS)

    result = import_folder(folder, "maven-crm")

    assert not result.ok
    assert result.errors[0].file == "sales_pipeline.csv"
    assert "is missing" in result.errors[0].message


def test_dry_run_counts_everything_and_writes_nothing(folder):
    write_maven(folder)

    result = import_folder(folder, "maven-crm", dry_run=True)

    assert result.ok and not result.committed
    assert (result.created, result.updated, result.unchanged) == (5, 0, 0)
    assert result.transitions_written == 3 + 3 + 3 + 2 + 1
    assert (result.users_created, result.teams_created, result.accounts_created) == (3, 2, 2)
    assert result.plan.count_by_outcome() == {"won": 2, "lost": 1, "open": 2}
    assert Opportunity.objects.count() == 0
    assert not Process.objects.filter(slug="maven-crm").exists()
    assert ExternalRef.objects.count() == 0


def test_reimporting_the_same_files_changes_nothing(folder):
    write_maven(folder)
    import_folder(folder, "maven-crm")
    before = {
        ref.external_id: ref.object_id for ref in ExternalRef.objects.filter(kind="opportunity")
    }
    transitions_before = list(StageTransition.objects.order_by("pk").values_list("pk", flat=True))

    again = import_folder(folder, "maven-crm")

    assert again.ok and again.committed
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert again.users_created == again.teams_created == again.accounts_created == 0
    after = {
        ref.external_id: ref.object_id for ref in ExternalRef.objects.filter(kind="opportunity")
    }
    assert after == before
    assert Opportunity.objects.count() == 5
    assert set(Opportunity.objects.values_list("version", flat=True)) == {1}
    assert list(StageTransition.objects.order_by("pk").values_list("pk", flat=True)) == (
        transitions_before
    )
    assert Process.objects.filter(slug="maven-crm").count() == 1
    assert Team.objects.count() == 2


def test_reimport_updates_a_changed_deal_and_replaces_its_transitions(folder):
    write_maven(folder)
    import_folder(folder, "maven-crm")
    engaging = deal("E1")
    changed = [
        line
        if not line.startswith("E1,")
        else "E1,Cy Closer,MG Special,Globex,Won,2017-03-01,2017-03-20,75"
        for line in PIPELINE
    ]
    write_maven(folder, changed)

    result = import_folder(folder, "maven-crm")

    assert (result.created, result.updated, result.unchanged) == (0, 1, 4)
    won = deal("E1")
    assert won.pk == engaging.pk
    assert won.version == engaging.version + 1
    assert (won.outcome, won.stage.name, won.amount) == ("won", "Won", Decimal("75"))
    assert won.account.name == "Globex"
    assert history(won) == [
        (None, "Prospecting", day("2017-03-01"), ""),
        ("Prospecting", "Engaging", day("2017-03-01"), ""),
        ("Engaging", "Won", day("2017-03-20"), ""),
    ]
    assert_consistent(won)
    assert Opportunity.objects.count() == 5
    assert StageTransition.objects.filter(opportunity=won).count() == 3
    # The file's latest date moved on to 2017-03-20; the undated Prospecting deal keeps the
    # creation time it got when first imported.
    assert deal("P1").created_at == day("2017-03-01")
    assert deal("P1").version == 1


def test_reimport_recreates_a_deal_deleted_in_epos_under_the_same_reference(folder):
    write_maven(folder)
    import_folder(folder, "maven-crm")
    deal("W2").delete()

    result = import_folder(folder, "maven-crm")

    assert (result.created, result.unchanged) == (1, 4)
    assert ExternalRef.objects.filter(kind="opportunity", external_id="W2").count() == 1
    assert_consistent(deal("W2"))


def test_only_managers_and_admins_may_run_the_import_service(folder, alice, carol, root):
    write_maven(folder)
    maven_teams = [
        factories.TeamFactory(name="Mia Manager (Central)"),
        factories.TeamFactory(name="Max Boss (West)"),
    ]

    with pytest.raises(Forbidden):
        import_folder(folder, "maven-crm", actor=alice)
    assert Opportunity.objects.count() == 0

    # Carol manages neither team: every row is refused.
    refused = import_folder(folder, "maven-crm", actor=carol)
    assert not refused.ok and Opportunity.objects.count() == 0
    assert {error.line for error in refused.errors} == {2, 3, 4, 5, 6}

    for team in maven_teams:
        team.managers.add(carol)
    carol = get_user_model().objects.get(pk=carol.pk)  # forget her cached teams
    assert import_folder(folder, "maven-crm", actor=carol).created == 5
    assert import_folder(folder, "maven-crm", actor=root).unchanged == 5


def test_reimport_of_a_changed_amount_keeps_the_transition_rows(folder):
    write_maven(folder)
    import_folder(folder, "maven-crm")
    before = list(deal("W2").transitions.order_by("pk").values_list("pk", flat=True))
    write_maven(folder, [line.replace(",60", ",65") for line in PIPELINE])

    result = import_folder(folder, "maven-crm")

    assert (result.updated, result.unchanged, result.transitions_written) == (1, 4, 0)
    changed = deal("W2")
    assert (changed.amount, changed.version) == (Decimal("65"), 2)
    assert list(changed.transitions.order_by("pk").values_list("pk", flat=True)) == before
    assert_consistent(changed)
