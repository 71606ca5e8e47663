"""The presets on the published sample files in ../shared/datasets (skipped when absent).

Expected figures come from the datasets' READMEs and the issue, not from this code.
"""

import csv
import importlib
import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F, OuterRef, Q, Subquery

from epos.models import ExternalRef
from opportunities.models import Opportunity, StageTransition, Team
from stages.models import Process
from tests.importers.conftest import day, import_folder

DATASETS = Path(settings.BASE_DIR).parent / "shared" / "datasets"
MAVEN = DATASETS / "maven-crm"
SALESFORCE = DATASETS / "sf-opportunity-history"

pytestmark = pytest.mark.django_db


def require(folder: Path) -> None:
    if not folder.is_dir():
        pytest.skip(f"{folder} is not here (the datasets live outside the repository)")


def inconsistent_deals(process: Process) -> int:
    """Deals whose stage, stage_entered_at or created_at disagree with their transitions."""
    transitions = StageTransition.objects.filter(opportunity=OuterRef("pk"))
    last = transitions.order_by("-moved_at", "-pk")
    first = transitions.order_by("moved_at", "pk")
    deals = Opportunity.objects.filter(process=process).annotate(
        last_stage=Subquery(last.values("to_stage")[:1]),
        last_moved=Subquery(last.values("moved_at")[:1]),
        first_moved=Subquery(first.values("moved_at")[:1]),
        first_from=Subquery(first.values("from_stage")[:1]),
    )
    return deals.filter(
        ~Q(stage_id=F("last_stage"))
        | ~Q(stage_entered_at=F("last_moved"))
        | ~Q(created_at=F("first_moved"))
        | Q(first_from__isnull=False)
        | Q(outcome="open", closed_at__isnull=False)
        | (~Q(outcome="open") & ~Q(closed_at=F("last_moved")))
    ).count()


def test_maven_import_matches_the_published_figures(root):
    require(MAVEN)

    result = import_folder(MAVEN, "maven-crm")

    assert result.ok, result.errors[:5]
    process = Process.objects.get(slug="maven-crm")
    deals = Opportunity.objects.filter(process=process)
    won = deals.filter(outcome="won").count()
    lost = deals.filter(outcome="lost").count()
    assert (won, lost, deals.filter(outcome="open").count()) == (4238, 2473, 2089)
    assert round(won / (won + lost), 4) == 0.6315
    by_stage = {
        name: deals.filter(stage__name=name).count()
        for name in ("Prospecting", "Engaging", "Won", "Lost")
    }
    assert by_stage == {"Prospecting": 500, "Engaging": 1589, "Won": 4238, "Lost": 2473}
    assert inconsistent_deals(process) == 0

    # Dates and durations as the README states them.
    closed = deals.exclude(outcome="open")
    cycle_days = [
        (closed_at - engaged_at).days
        for closed_at, engaged_at in closed.values_list("closed_at", "engaged_at")
    ]
    assert (min(cycle_days), max(cycle_days)) == (1, 138)
    engaged = sorted(deals.exclude(engaged_at=None).values_list("engaged_at", flat=True))
    assert (engaged[0], engaged[-1]) == (day("2016-10-20"), day("2017-12-27"))
    assert deals.filter(stage__name="Prospecting", engaged_at__isnull=False).count() == 0
    closes = sorted(closed.values_list("closed_at", flat=True))
    assert (closes[0], closes[-1]) == (day("2017-03-01"), day("2017-12-31"))

    assert deals.filter(account=None).count() == 1425
    assert deals.filter(product="GTXPro").count() == 0
    assert deals.values("owner").distinct().count() == 30
    # sales_teams.csv lists 35 agents and 6 managers: only the 30 agents who own deals become
    # users, without any role; nobody is made a team's manager.
    imported_users = get_user_model().objects.filter(username__startswith="maven-crm.")
    assert imported_users.count() == 30
    assert not imported_users.filter(groups__isnull=False).exists()
    assert Team.objects.count() == 6
    assert not Team.managers.through.objects.exists()
    assert Team.members.through.objects.count() == 30
    assert {team.region for team in Team.objects.all()} == {"Central", "East", "West"}
    assert ExternalRef.objects.filter(system="maven-crm", kind="account").count() == 85

    # The same figures through the metrics definitions, where that module exists.
    if importlib.util.find_spec("metrics.selectors") is not None:
        metrics = importlib.import_module("metrics.selectors")
        scope = metrics.metric_scope(user=root, params={"process": str(process.pk)})
        summary = metrics.summary(scope=scope)
        assert (summary["won_count"], summary["lost_count"], summary["open_count"]) == (
            4238,
            2473,
            2089,
        )
        assert round(summary["win_rate"], 4) == 0.6315


def test_maven_reimport_changes_nothing():
    require(MAVEN)
    import_folder(MAVEN, "maven-crm")
    transitions = StageTransition.objects.count()

    again = import_folder(MAVEN, "maven-crm")

    assert (again.created, again.updated, again.unchanged) == (0, 0, 8800)
    assert Opportunity.objects.count() == 8800
    assert StageTransition.objects.count() == transitions
    assert set(Opportunity.objects.values_list("version", flat=True)) == {1}


def read_opportunity_file() -> dict[str, dict]:
    with open(SALESFORCE / "Opportunity.csv", encoding="utf-8-sig", newline="") as handle:
        return {row["Id"]: row for row in csv.DictReader(handle)}


def file_date(text: str) -> datetime:
    return datetime.strptime(text, "%d/%m/%Y").replace(tzinfo=UTC)


def test_salesforce_import_follows_stage_name_and_history():
    require(SALESFORCE)

    result = import_folder(SALESFORCE, "salesforce")

    assert result.ok, result.errors[:5]
    process = Process.objects.get(slug="salesforce")
    deals = Opportunity.objects.filter(process=process)
    assert deals.count() == 219
    assert (
        deals.filter(outcome="won").count(),
        deals.filter(outcome="lost").count(),
        deals.filter(outcome="open").count(),
    ) == (89, 57, 73)
    assert inconsistent_deals(process) == 0

    rows = read_opportunity_file()
    refs = dict(
        ExternalRef.objects.filter(system="salesforce", kind="opportunity").values_list(
            "object_id", "external_id"
        )
    )
    shifted = 0
    for pk, stage, created_at, closed_at in deals.values_list(
        "pk", "stage__name", "created_at", "closed_at"
    ):
        row = rows[refs[pk]]
        assert stage == row["StageName"]
        if closed_at is not None:
            assert closed_at == file_date(row["CloseDate"])
        assert created_at <= file_date(row["CreatedDate"])
        shifted += created_at < file_date(row["CreatedDate"])
    assert shifted == 32

    transitions = StageTransition.objects.filter(opportunity__process=process)
    # 584 history rows less 107 same-stage repeats; the rest carry a note saying why added.
    assert transitions.filter(note="").count() == 584 - 107
    backward = transitions.filter(
        from_stage__isnull=False, to_stage__position__lt=F("from_stage__position")
    )
    assert backward.count() == 72
    assert backward.values("opportunity").distinct().count() == 55
    assert get_user_model().objects.filter(username__startswith="salesforce.").count() == 26
    assert ExternalRef.objects.filter(system="salesforce", kind="account").count() == 118


def test_salesforce_reimport_changes_nothing():
    require(SALESFORCE)
    import_folder(SALESFORCE, "salesforce")

    again = import_folder(SALESFORCE, "salesforce")

    assert (again.created, again.updated, again.unchanged) == (0, 0, 219)
