"""A generic CSV with a column-mapping file (YAML or JSON)."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from epos.models import ExternalRef
from opportunities.importers import presets
from opportunities.importers.services import pipeline_import
from opportunities.models import Opportunity
from stages.models import Stage
from tests import factories
from tests.importers.conftest import assert_consistent, day, history, write_csv

pytestmark = pytest.mark.django_db

CSV_HEADER = "Deal ID,Deal,Stage,Amount,Created,Engaged,Closed,Owner,Company"


@pytest.fixture
def hubspot_process(db):
    """Discovery → Demo → Proposal → Won/Lost, with the clock starting at Demo."""
    process, stages = factories.make_process(("Discovery", "Demo", "Proposal"), slug="hubspot-like")
    Stage.objects.filter(pk=stages[0].pk).update(starts_clock=False)
    Stage.objects.filter(pk=stages[1].pk).update(starts_clock=True)
    return process


def yaml_mapping(process_slug: str, **overrides) -> str:
    mapping = {
        "process": process_slug,
        "system": "hubspot",
        "date_format": "%m/%d/%Y",
        "columns": {
            "external_id": "Deal ID",
            "name": "Deal",
            "stage": "Stage",
            "amount": "Amount",
            "created": "Created",
            "engaged": "Engaged",
            "closed": "Closed",
            "owner": "Owner",
            "account": "Company",
        },
        "stages": {"closedwon": "Won", "closedlost": "Lost", "appointmentscheduled": "Discovery"},
    }
    mapping.update(overrides)
    lines = [f"process: {mapping['process']}", f"system: {mapping['system']}"]
    lines.append(f'date_format: "{mapping["date_format"]}"')
    lines.append("columns:")
    lines += [f"  {key}: {value}" for key, value in mapping["columns"].items()]
    lines.append("stages:")
    lines += [f"  {key}: {value}" for key, value in mapping["stages"].items()]
    return "\n".join(lines) + "\n"


def run(folder, rows, mapping_text, *, mapping_name="mapping.yaml", dry_run=False, crlf=False):
    data = write_csv(folder, "deals.csv", [CSV_HEADER, *rows], crlf=crlf)
    mapping = folder / mapping_name
    mapping.write_text(mapping_text)
    plan = presets.build_plan(
        preset=presets.GENERIC,
        files={data.name: data.read_bytes()},
        mapping=(mapping.name, mapping.read_bytes()),
    )
    return pipeline_import(plan=plan, actor=None, dry_run=dry_run)


def deal(external_id: str) -> Opportunity:
    ref = ExternalRef.objects.get(system="hubspot", kind="opportunity", external_id=external_id)
    return Opportunity.objects.select_related("stage", "owner", "account").get(pk=ref.object_id)


ROWS = [
    'H1,"Acme, big deal",closedwon,1200.50,01/02/2024,01/05/2024,02/01/2024,alice,Acme',
    "H2,Small,Demo,300,01/10/2024,,,Zed Zero,Globex",
    "H3,Gone,closedlost,0,01/03/2024,01/04/2024,01/20/2024,,",
    "H4,Fresh,appointmentscheduled,,01/15/2024,,,,",
]


def test_yaml_mapping_imports_rows_with_mapped_stages_and_dates(folder, hubspot_process, alice):
    result = run(folder, ROWS, yaml_mapping("hubspot-like"))

    assert result.ok and result.committed
    assert result.process == hubspot_process
    won = deal("H1")
    assert won.name == "Acme, big deal"
    assert won.amount == Decimal("1200.50")
    assert history(won) == [
        (None, "Discovery", day("2024-01-02"), ""),
        ("Discovery", "Demo", day("2024-01-05"), ""),
        ("Demo", "Won", day("2024-02-01"), ""),
    ]
    assert (won.engaged_at, won.closed_at) == (day("2024-01-05"), day("2024-02-01"))
    lost = deal("H3")
    assert [to for _, to, _, _ in history(lost)] == ["Discovery", "Demo", "Lost"]
    assert lost.outcome == "lost"
    fresh = deal("H4")
    assert (fresh.stage.name, fresh.engaged_at) == ("Discovery", None)
    for opportunity in Opportunity.objects.all():
        assert_consistent(opportunity)


def test_an_open_deal_in_the_clock_stage_is_engaged_when_it_entered_it(folder, hubspot_process):
    run(folder, ROWS, yaml_mapping("hubspot-like"))

    demo = deal("H2")

    assert history(demo) == [
        (None, "Discovery", day("2024-01-10"), ""),
        ("Discovery", "Demo", day("2024-01-10"), ""),
    ]
    assert demo.engaged_at == day("2024-01-10")


def test_owner_matches_an_existing_user_else_a_user_without_login_is_made(
    folder, hubspot_process, alice
):
    run(folder, ROWS, yaml_mapping("hubspot-like"))

    assert deal("H1").owner == alice
    zed = deal("H2").owner
    assert zed.get_full_name() == "Zed Zero"
    assert not zed.has_usable_password()
    assert deal("H3").owner is None
    assert get_user_model().objects.filter(first_name="Zed").count() == 1


def test_json_mapping_with_iso_dates(folder, hubspot_process):
    mapping = {
        "process": "hubspot-like",
        "columns": {"external_id": "Deal ID", "name": "Deal", "stage": "Stage", "closed": "Closed"},
    }
    data = write_csv(
        folder, "deals.csv", ["Deal ID,Deal,Stage,Closed", "J1,Json deal,Won,2024-03-01"]
    )
    plan = presets.build_plan(
        preset=presets.GENERIC,
        files={data.name: data.read_bytes()},
        mapping=("mapping.json", json.dumps(mapping).encode()),
    )

    result = pipeline_import(plan=plan, actor=None)

    assert result.ok
    ref = ExternalRef.objects.get(system="csv", external_id="J1")
    won = Opportunity.objects.get(pk=ref.object_id)
    assert (won.outcome, won.closed_at, won.created_at) == (
        "won",
        day("2024-03-01"),
        day("2024-03-01"),
    )


def test_bad_rows_are_reported_with_physical_line_numbers(folder, hubspot_process):
    rows = [
        'B1,"Two\r\nline name",Demo,10,01/02/2024,,,,',  # a quoted field spanning lines 2-3
        "B2,Unknown stage,negotiation,10,01/02/2024,,,,",
        "B3,Bad date,Demo,10,13/45/2024,,,,",
        "B4,Negative,Demo,-10,01/02/2024,,,,",
        "B5,Close before engage,closedwon,10,01/02/2024,01/10/2024,01/05/2024,,",
        "B6,Open with close date,Demo,10,01/02/2024,,01/05/2024,,",
        ",No id,Demo,10,01/02/2024,,,,",
        "B1,Duplicate,Demo,10,01/02/2024,,,,",
    ]

    result = run(folder, rows, yaml_mapping("hubspot-like"), crlf=True)

    assert not result.ok
    messages = {error.line: error.message for error in result.errors}
    assert sorted(messages) == [4, 5, 6, 7, 8, 9, 10]
    assert "unknown stage 'negotiation'" in messages[4]
    assert "bad date in Created: '13/45/2024' (expected %m/%d/%Y)" in messages[5]
    assert "negative" in messages[6]
    assert "Closed (2024-01-05) is before Engaged (2024-01-10)" in messages[7]
    assert "open deal" in messages[8]
    assert "Deal ID is empty" in messages[9]
    assert "appears twice" in messages[10]
    assert Opportunity.objects.count() == 0


def test_mapping_problems_are_reported_before_any_row(folder, hubspot_process):
    text = yaml_mapping("hubspot-like", stages={"closedwon": "Signed"}, colour="blue")
    text += "colour: blue\n"

    result = run(folder, ROWS, text)

    assert not result.ok
    messages = [error.message for error in result.errors]
    assert all(error.file == "mapping.yaml" for error in result.errors)
    assert any("unknown key 'colour'" in message for message in messages)
    assert any("'closedwon' maps to 'Signed'" in message for message in messages)


def test_an_unknown_process_and_missing_columns_are_rejected(folder, db):
    mapping = "process: nowhere\ncolumns:\n  name: Deal\n"

    result = run(folder, ROWS, mapping)

    messages = [error.message for error in result.errors]
    assert "process 'nowhere' does not exist" in messages
    assert "columns: 'external_id' is required" in messages
    assert "columns: 'stage' is required" in messages
    assert Opportunity.objects.count() == 0


def test_a_mapping_column_missing_from_the_csv_is_an_error(folder, hubspot_process):
    text = yaml_mapping("hubspot-like").replace("account: Company", "account: Organisation")

    result = run(folder, ROWS, text)

    assert [(e.file, e.line) for e in result.errors] == [("deals.csv", 1)]
    assert "Organisation" in result.errors[0].message


def test_reimport_by_external_id_never_duplicates(folder, hubspot_process):
    first = run(folder, ROWS, yaml_mapping("hubspot-like"))
    second = run(folder, ROWS, yaml_mapping("hubspot-like"))

    assert first.created == 4
    assert (second.created, second.updated, second.unchanged) == (0, 0, 4)
    assert Opportunity.objects.count() == 4
    assert ExternalRef.objects.filter(system="hubspot", kind="opportunity").count() == 4


def test_a_draft_process_is_refused(folder, hubspot_process):
    hubspot_process.status = "draft"
    hubspot_process.save()

    result = run(folder, ROWS, yaml_mapping("hubspot-like"))

    assert not result.ok
    assert "draft" in result.errors[0].message
    assert Opportunity.objects.count() == 0
