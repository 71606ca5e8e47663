"""The salesforce preset on small hand-made exports (the real sample is in test_real_datasets)."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from epos.models import ExternalRef
from opportunities.importers.salesforce import FINAL_STAGE_NOTE, OPENED_NOTE
from opportunities.models import Opportunity, StageTransition
from stages.models import Process
from tests.importers.conftest import assert_consistent, day, history, import_folder, write_csv

pytestmark = pytest.mark.django_db

OPPORTUNITY_HEADER = (
    "CreatedDate,Id,IsDeleted,AccountId,Name,Amount,CloseDate,IsClosed,IsWon,OwnerId,StageName"
)
OPPORTUNITIES = [
    OPPORTUNITY_HEADER,
    # IsClosed/IsWon say open; StageName says won: StageName wins.
    "01/03/2022,O1,FALSE,A1,Alpha,1000,20/03/2022,FALSE,FALSE,U1,Closed Won",
    # History ends in Value Proposition; StageName says Negotiation/Review. No Amount.
    "10/03/2022,O2,FALSE,A1,Beta,,15/04/2022,TRUE,TRUE,U2,Negotiation/Review",
    # History starts before CreatedDate.
    "15/03/2022,O3,FALSE,A2,Gamma,500,25/03/2022,TRUE,FALSE,U1,Closed Lost",
    # The only history row is the close.
    "01/04/2022,O4,FALSE,A2,Delta,700,11/04/2022,FALSE,FALSE,U2,Closed Won",
    "01/04/2022,O5,TRUE,A2,Deleted,700,11/04/2022,FALSE,FALSE,U2,Prospecting",
]
HISTORY = [
    "OppID,CreatedDate,StageName,SortOrder",
    # O1's rows out of date order in the file, a repeated stage and a backward move.
    "O1,10/03/2022,Negotiation/Review,8",
    "O1,01/03/2022,Prospecting,1",
    "O1,05/03/2022,Qualification,2",
    "O1,08/03/2022,Qualification,2",
    "O1,12/03/2022,Prospecting,1",
    "O1,20/03/2022,Closed Won,9",
    "O2,11/03/2022,Prospecting,1",
    "O2,01/04/2022,Value Proposition,4",
    "O3,10/03/2022,Qualification,2",
    "O3,25/03/2022,Closed Lost,10",
    "O4,11/04/2022,Closed Won,9",
    "O5,01/04/2022,Prospecting,1",
]


def write_export(folder, opportunities=OPPORTUNITIES, history_rows=HISTORY):
    # As exported: Opportunity.csv with CRLF, the history with a BOM and LF.
    write_csv(folder, "Opportunity.csv", opportunities, crlf=True)
    write_csv(folder, "Opportunity History.csv", history_rows, bom=True)


def deal(external_id: str) -> Opportunity:
    ref = ExternalRef.objects.get(system="salesforce", kind="opportunity", external_id=external_id)
    return Opportunity.objects.select_related("stage", "owner", "account").get(pk=ref.object_id)


def test_import_uses_the_salesforce_default_stages(folder):
    write_export(folder)

    result = import_folder(folder, "salesforce")

    assert result.ok and result.committed
    process = Process.objects.get(slug="salesforce")
    names = list(process.stages.order_by("position").values_list("name", flat=True))
    assert names[:2] == ["Prospecting", "Qualification"]
    assert names[-3:] == ["Negotiation/Review", "Closed Won", "Closed Lost"]
    assert {"Value Proposition", "Needs Analysis", "Proposal/Price Quote"} <= set(names)
    assert process.stages.get(name="Closed Won").kind == "won"
    assert process.stages.get(name="Closed Lost").kind == "lost"
    assert Opportunity.objects.count() == 4
    for opportunity in Opportunity.objects.all():
        assert_consistent(opportunity)


def test_stage_name_is_authoritative_over_is_closed_and_is_won(folder):
    write_export(folder)
    import_folder(folder, "salesforce")

    alpha, gamma = deal("O1"), deal("O3")

    assert (alpha.stage.name, alpha.outcome, alpha.closed_at) == (
        "Closed Won",
        "won",
        day("2022-03-20"),
    )
    assert (gamma.stage.name, gamma.outcome) == ("Closed Lost", "lost")


def test_history_in_date_order_without_repeats_and_with_backward_moves(folder):
    write_export(folder)
    import_folder(folder, "salesforce")

    alpha = deal("O1")

    assert history(alpha) == [
        (None, "Prospecting", day("2022-03-01"), ""),
        ("Prospecting", "Qualification", day("2022-03-05"), ""),
        ("Qualification", "Negotiation/Review", day("2022-03-10"), ""),
        ("Negotiation/Review", "Prospecting", day("2022-03-12"), ""),
        ("Prospecting", "Closed Won", day("2022-03-20"), ""),
    ]
    assert alpha.engaged_at == day("2022-03-01")
    assert alpha.amount == Decimal("1000")
    assert alpha.expected_close_date.isoformat() == "2022-03-20"


def test_a_final_entry_into_stage_name_is_added_when_history_disagrees(folder):
    write_export(folder)
    import_folder(folder, "salesforce")

    beta = deal("O2")

    assert history(beta) == [
        (None, "Prospecting", day("2022-03-10"), ""),
        ("Prospecting", "Value Proposition", day("2022-04-01"), ""),
        ("Value Proposition", "Negotiation/Review", day("2022-04-01"), FINAL_STAGE_NOTE),
    ]
    assert beta.stage.name == "Negotiation/Review"
    assert beta.outcome == "open" and beta.closed_at is None
    assert beta.amount is None  # the export's Amount is empty: unknown, not zero


def test_history_before_created_date_moves_creation_back(folder):
    write_export(folder)
    import_folder(folder, "salesforce")

    gamma = deal("O3")

    assert gamma.created_at == day("2022-03-10")
    assert history(gamma) == [
        (None, "Qualification", day("2022-03-10"), ""),
        ("Qualification", "Closed Lost", day("2022-03-25"), ""),
    ]
    assert gamma.loss_reason


def test_a_history_that_starts_closed_opens_in_the_first_stage(folder):
    write_export(folder)
    import_folder(folder, "salesforce")

    delta = deal("O4")

    assert history(delta) == [
        (None, "Prospecting", day("2022-04-01"), OPENED_NOTE),
        ("Prospecting", "Closed Won", day("2022-04-11"), ""),
    ]
    assert (delta.engaged_at, delta.closed_at) == (day("2022-04-01"), day("2022-04-11"))


def test_deleted_rows_are_skipped_with_a_note(folder):
    write_export(folder)

    result = import_folder(folder, "salesforce")

    assert not ExternalRef.objects.filter(external_id="O5").exists()
    assert not Opportunity.objects.filter(name="Deleted").exists()
    assert any("deleted" in warning for warning in result.plan.warnings)


def test_owners_are_users_named_by_their_salesforce_id_and_accounts_by_account_id(folder):
    write_export(folder)
    import_folder(folder, "salesforce")

    alpha = deal("O1")

    assert alpha.owner.get_full_name() == "U1"
    assert not alpha.owner.has_usable_password()
    assert alpha.account.name == "A1"
    assert deal("O3").owner == alpha.owner
    assert get_user_model().objects.filter(username__startswith="salesforce.").count() == 2


def test_without_user_csv_the_plan_warns_that_owners_are_known_only_by_id(folder):
    write_export(folder)

    result = import_folder(folder, "salesforce", dry_run=True)

    assert [(o.external_id, o.label, o.name_known) for o in result.owners] == [
        ("U1", "new user without login: U1", False),
        ("U2", "new user without login: U2", False),
    ]
    assert any(
        "2 owner id(s) have no name: User.csv was not given" in w for w in result.plan.warnings
    )


def test_user_csv_names_the_owners_and_finds_those_already_in_epos(folder, alice):
    write_export(folder)
    write_csv(
        folder,
        "User.csv",
        [
            "Id,FirstName,LastName,Name,Username,Email",
            "U1,Ann,Other,Ann Other,ann@acme.example,alice@example.com",
            "U2,,,Una Known,una@acme.example,una@acme.example",
            "U9,Not,Anowner,Not Anowner,not@acme.example,not@acme.example",
        ],
    )

    result = import_folder(folder, "salesforce")

    assert result.ok
    assert [(o.external_id, o.label, o.via) for o in result.owners] == [
        ("U1", "existing: Alice Archer", "same email"),
        ("U2", "new user without login: Una Known", ""),
    ]
    assert not any("owner id" in warning for warning in result.plan.warnings)
    assert deal("O1").owner == alice
    alice.refresh_from_db()
    assert alice.get_full_name() == "Alice Archer"  # the file's name for her changes nothing
    una = deal("O2").owner
    assert (una.get_full_name(), una.email, una.has_usable_password()) == ("Una Known", "", False)
    assert get_user_model().objects.filter(username__startswith="salesforce.").count() == 1


def test_a_deal_without_history_enters_its_stage_name_at_creation(folder):
    write_export(folder, history_rows=["OppID,CreatedDate,StageName,SortOrder"])
    import_folder(folder, "salesforce")

    assert history(deal("O2")) == [(None, "Negotiation/Review", day("2022-03-10"), "")]
    assert history(deal("O1")) == [
        (None, "Prospecting", day("2022-03-01"), OPENED_NOTE),
        ("Prospecting", "Closed Won", day("2022-03-20"), FINAL_STAGE_NOTE),
    ]


def test_every_bad_row_in_either_file_is_reported_and_nothing_is_written(folder):
    write_export(
        folder,
        opportunities=[
            *OPPORTUNITIES,
            "04/31/2022,O6,FALSE,A2,Bad date,700,11/04/2022,FALSE,FALSE,U2,Prospecting",
            "01/04/2022,O7,FALSE,A2,Bad stage,700,11/04/2022,FALSE,FALSE,U2,Closed Maybe",
            "01/04/2022,O8,FALSE,A2,Negative,-1,11/04/2022,FALSE,FALSE,U2,Prospecting",
        ],
        history_rows=[
            *HISTORY,
            "O9,01/04/2022,Prospecting,1",
            "O2,32/03/2022,Prospecting,1",
            "O2,02/04/2022,Sleeping,3",
        ],
    )

    result = import_folder(folder, "salesforce")

    assert not result.ok
    found = {(error.file, error.line): error.message for error in result.errors}
    assert set(found) == {
        ("Opportunity.csv", 7),
        ("Opportunity.csv", 8),
        ("Opportunity.csv", 9),
        ("Opportunity History.csv", 14),
        ("Opportunity History.csv", 15),
        ("Opportunity History.csv", 16),
    }
    assert "bad CreatedDate '04/31/2022': expected DD/MM/YYYY" in found[("Opportunity.csv", 7)]
    assert "unknown StageName 'Closed Maybe'" in found[("Opportunity.csv", 8)]
    assert "negative" in found[("Opportunity.csv", 9)]
    assert "'O9' is not in Opportunity.csv" in found[("Opportunity History.csv", 14)]
    assert "bad CreatedDate '32/03/2022'" in found[("Opportunity History.csv", 15)]
    assert "unknown StageName 'Sleeping'" in found[("Opportunity History.csv", 16)]
    assert Opportunity.objects.count() == 0
    assert StageTransition.objects.count() == 0
    assert not Process.objects.filter(slug="salesforce").exists()


def test_reimport_is_idempotent_and_follows_new_history_rows(folder):
    write_export(folder)
    import_folder(folder, "salesforce")
    beta = deal("O2")

    same = import_folder(folder, "salesforce")
    write_export(folder, history_rows=[*HISTORY, "O2,20/04/2022,Closed Lost,10"])
    moved = import_folder(folder, "salesforce")

    assert (same.created, same.updated, same.unchanged) == (0, 0, 4)
    # StageName still says Negotiation/Review: the new Closed Lost row is followed by a final
    # entry back into the current stage.
    assert (moved.created, moved.updated, moved.unchanged) == (0, 1, 3)
    beta_after = deal("O2")
    assert beta_after.pk == beta.pk and beta_after.version == beta.version + 1
    assert [to for _, to, _, _ in history(beta_after)] == [
        "Prospecting",
        "Value Proposition",
        "Closed Lost",
        "Negotiation/Review",
    ]
    assert beta_after.outcome == "open" and beta_after.closed_at is None
    assert_consistent(beta_after)
    assert Opportunity.objects.count() == 4
