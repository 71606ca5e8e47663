from dataclasses import replace
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from epos.lib.errors import Forbidden
from stages import services
from stages.models import Process, Stage, StageItem, Tool
from stages.process_templates import StageDefinition, exit_criterion
from stages.services import InvalidTemplate, process_activate, processes_load_builtin
from stages.templates_data import PROCESS_TEMPLATES
from stages.templates_data.epos_presales import EPOS_PRESALES
from stages.templates_data.revenue_bow_tie import REVENUE_BOW_TIE
from tests.factories import OpportunityFactory, ToolFactory

pytestmark = pytest.mark.django_db

# The stage order each built-in promises (open stages, then Won/Lost; post-sale stages of the
# bow-tie-like processes come after Won because the commitment is the close).
EXPECTED_STAGE_NAMES = {
    "epos-presales": [
        "Preparation",
        "Discovery",
        "Demo (D2W)",
        "Proof of concept",
        "Technical Q&A",
        "Sizing",
        "Won",
        "Lost",
    ],
    "b2b-bant": [
        "Prospecting",
        "Qualification",
        "Discovery",
        "Solution design",
        "Proposal",
        "Negotiation",
        "Won",
        "Lost",
    ],
    "revenue-bow-tie": [
        "Prospect",
        "MQL",
        "SQL",
        "Discovery",
        "Demo",
        "Proposal",
        "Trade (commit)",
        "Won (committed)",
        "Onboarding",
        "Impact",
        "Grow",
        "Lost",
    ],
    "open-source-services": [
        "Leads",
        "Qualifying",
        "Prospecting",
        "Partnering",
        "Invoicing",
        "Won",
        "Provisioning",
        "Ongoing services",
        "Milestone reporting",
        "Renewal",
        "Lost",
    ],
    "consultation-led": [
        "First consultation",
        "Written requirements",
        "Documents & comparison",
        "Contract",
        "Won",
        "Delivery",
        "Lost",
    ],
}


def _with_stage(template, stage_slug, **changes):
    """A copy of `template` with one stage changed."""
    stages = tuple(replace(s, **changes) if s.slug == stage_slug else s for s in template.stages)
    assert stages != template.stages, f"no stage {stage_slug!r} in {template.slug}"
    return replace(template, stages=stages)


def _snapshot():
    return {
        "processes": set(Process.objects.values_list("pk", "slug", "version", "status")),
        "stages": set(Stage.objects.values_list("pk", "process_id", "position", "slug")),
        "items": set(StageItem.objects.values_list("pk", "stage_id", "position", "title")),
        "tools": set(Tool.objects.values_list("pk", "slug", "url")),
        "stage_tools": set(Stage.tools.through.objects.values_list("stage_id", "tool_id")),
    }


def _open_stages(process):
    return list(process.stages.filter(kind=Stage.Kind.OPEN).order_by("position"))


def test_loads_the_five_builtin_processes_with_their_stages_in_order():
    results = processes_load_builtin()

    assert [(r.slug, r.action) for r in results] == [
        (slug, "created") for slug in EXPECTED_STAGE_NAMES
    ]
    assert Process.objects.count() == 5
    for result in results:
        process = Process.objects.get(pk=result.process.pk)
        assert (process.version, process.status, process.based_on_id) == (
            1,
            Process.Status.ACTIVE,
            None,
        )
        assert len(process.template_digest) == 64
        names = list(process.stages.order_by("position").values_list("name", flat=True))
        assert names == EXPECTED_STAGE_NAMES[process.slug]
        positions = list(process.stages.order_by("position").values_list("position", flat=True))
        assert positions == list(range(1, len(names) + 1))
        assert process.stages.filter(starts_clock=True).count() == 1
        assert process.stages.filter(kind=Stage.Kind.WON, probability=100).count() == 1
        assert process.stages.filter(kind=Stage.Kind.LOST, probability=0).count() == 1


def test_clock_starts_where_the_customer_is_first_engaged():
    processes_load_builtin()

    clock_stage = {p.slug: p.stages.get(starts_clock=True).slug for p in Process.objects.all()}
    # Preparation is internal homework, so EPOS starts counting at Discovery; marketing stages
    # of the other processes are outside the clock too.
    assert clock_stage == {
        "epos-presales": "discovery",
        "b2b-bant": "qualification",
        "revenue-bow-tie": "sql",
        "open-source-services": "qualifying",
        "consultation-led": "first-consultation",
    }


def test_elastic_stages_are_optional_and_the_rest_are_not():
    processes_load_builtin()

    epos = Process.objects.get(slug="epos-presales")
    optional = set(epos.stages.filter(is_optional=True).values_list("name", flat=True))
    assert optional == {"Proof of concept", "Technical Q&A"}
    assert not Stage.objects.filter(is_optional=True).exclude(kind=Stage.Kind.OPEN).exists()


def test_running_twice_changes_nothing():
    processes_load_builtin()
    before = _snapshot()

    with CaptureQueriesContext(connection) as queries:
        results = processes_load_builtin()

    assert {r.action for r in results} == {"unchanged"}
    assert _snapshot() == before
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []


def test_changed_template_without_deals_is_rewritten_in_place():
    processes_load_builtin()
    process = Process.objects.get(slug="epos-presales")
    old_stage_ids = dict(process.stages.values_list("slug", "pk"))
    old_digest = process.template_digest
    stages = {s.slug: s for s in EPOS_PRESALES.stages}
    workshop = StageDefinition(
        name="Architecture workshop",
        slug="architecture-workshop",
        probability=50,
        target_days=7,
        items=(exit_criterion("Target architecture agreed", required=True),),
        tools=("google-docs",),
    )
    sizing = replace(stages["sizing"], goal="Size it properly.", items=stages["sizing"].items[:2])
    changed = replace(
        EPOS_PRESALES,
        description="Edited.",
        stages=(
            stages["preparation"],
            stages["discovery"],
            stages["demo-d2w"],
            workshop,  # new
            stages["proof-of-concept"],  # Technical Q&A removed
            sizing,
            stages["lost"],  # Won and Lost swapped
            stages["won"],
        ),
    )

    [result] = processes_load_builtin(templates=[changed])

    assert result.action == "updated"
    assert result.process.pk == process.pk
    process.refresh_from_db()
    assert (process.version, process.description) == (1, "Edited.")
    assert process.template_digest not in ("", old_digest)
    assert Process.objects.filter(slug="epos-presales").count() == 1
    rows = list(process.stages.order_by("position").values_list("position", "slug", "pk"))
    assert [slug for _, slug, _ in rows] == [
        "preparation",
        "discovery",
        "demo-d2w",
        "architecture-workshop",
        "proof-of-concept",
        "sizing",
        "lost",
        "won",
    ]
    assert [position for position, _, _ in rows] == list(range(1, 9))
    # Stages that stay keep their rows (and whatever points at them); the removed one is gone.
    for _, slug, pk in rows:
        if slug != "architecture-workshop":
            assert pk == old_stage_ids[slug]
    assert not Stage.objects.filter(pk=old_stage_ids["technical-qa"]).exists()
    sizing_row = process.stages.get(slug="sizing")
    assert sizing_row.goal == "Size it properly."
    assert list(sizing_row.items.values_list("title", flat=True)) == [
        item.title for item in stages["sizing"].items[:2]
    ]
    assert list(
        process.stages.get(slug="architecture-workshop").tools.values_list("slug", flat=True)
    ) == ["google-docs"]
    assert processes_load_builtin(templates=[changed])[0].action == "unchanged"


def test_changed_template_with_deals_offers_a_draft_version_and_keeps_the_old_one_active():
    processes_load_builtin()
    v1 = Process.objects.get(slug="epos-presales")
    v1_discovery = v1.stages.get(slug="discovery")
    deal = OpportunityFactory(stage=v1_discovery, process=v1)
    v1_rows = set(
        StageItem.objects.filter(stage__process=v1).values_list("pk", "stage_id", "title")
    )
    v1_stage_rows = set(v1.stages.values_list("pk", "slug", "goal"))
    changed = _with_stage(EPOS_PRESALES, "discovery", goal="Find the pain, then the budget.")

    [result] = processes_load_builtin(templates=[changed])

    assert result.action == "new_version_offered"
    v2 = result.process
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v2.pk != v1.pk
    # Offered, not imposed: deals keep starting on v1 until an admin activates v2.
    assert (v2.version, v2.based_on_id, v2.status) == (2, v1.pk, Process.Status.DRAFT)
    assert v1.status == Process.Status.ACTIVE
    assert v2.stages.get(slug="discovery").goal == "Find the pain, then the budget."
    assert not v2.stages.filter(pk__in=[pk for pk, _, _ in v1_stage_rows]).exists()
    # History stays exactly as it was.
    assert set(v1.stages.values_list("pk", "slug", "goal")) == v1_stage_rows
    assert (
        set(StageItem.objects.filter(stage__process=v1).values_list("pk", "stage_id", "title"))
        == v1_rows
    )
    deal.refresh_from_db()
    assert (deal.process_id, deal.stage_id) == (v1.pk, v1_discovery.pk)
    assert processes_load_builtin(templates=[changed])[0].action == "unchanged"
    assert Process.objects.filter(slug="epos-presales").count() == 2

    process_activate(process=v2, actor=None)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.status, v2.status) == (Process.Status.RETIRED, Process.Status.ACTIVE)


def test_a_restart_keeps_what_people_edited_or_deleted():
    processes_load_builtin()
    edited = Process.objects.get(slug="epos-presales")
    discovery = edited.stages.get(slug="discovery")
    discovery.goal = "Our own goal"
    discovery.save()
    Process.objects.filter(slug="b2b-bant").delete()
    vivun = Tool.objects.get(slug="vivun")
    vivun.url = "https://ourcompany.vivun.app/"
    vivun.save()
    Tool.objects.filter(slug="zapier").delete()
    changed = _with_stage(EPOS_PRESALES, "sizing", goal="A shipped improvement.")
    templates = [changed, *(t for t in PROCESS_TEMPLATES if t.slug != "epos-presales")]

    results = {result.slug: result.action for result in processes_load_builtin(templates=templates)}
    processes_load_builtin(templates=templates)

    assert results["b2b-bant"] == "deleted_by_people"
    assert not Process.objects.filter(slug="b2b-bant").exists()
    # Edited and without deals: not rewritten, the change is offered as a draft.
    assert results["epos-presales"] == "new_version_offered"
    discovery.refresh_from_db()
    assert discovery.goal == "Our own goal"
    assert Process.objects.filter(slug="epos-presales").count() == 2
    assert Tool.objects.get(slug="vivun").url == "https://ourcompany.vivun.app/"
    assert not Tool.objects.filter(slug="zapier").exists()


def test_only_curators_and_admins_activate_a_version(alice):
    processes_load_builtin()
    process = Process.objects.get(slug="epos-presales")

    with pytest.raises(Forbidden):
        process_activate(process=process, actor=alice)


def test_an_offered_version_nobody_touched_takes_a_newer_template_in_place():
    processes_load_builtin()
    v1 = Process.objects.get(slug="epos-presales")
    OpportunityFactory(stage=v1.stages.get(slug="discovery"), process=v1)
    first_change = _with_stage(EPOS_PRESALES, "sizing", target_days=10)
    v2 = processes_load_builtin(templates=[first_change])[0].process
    v1_goals = dict(v1.stages.values_list("slug", "goal"))

    second_change = _with_stage(first_change, "sizing", goal="Sized by two SAs.")
    [result] = processes_load_builtin(templates=[second_change])

    assert (result.action, result.process.pk) == ("updated", v2.pk)
    assert v2.stages.get(slug="sizing").goal == "Sized by two SAs."
    assert dict(v1.stages.values_list("slug", "goal")) == v1_goals
    assert Process.objects.filter(slug="epos-presales").count() == 2


def _two_clock_starters(template):
    return _with_stage(template, "preparation", starts_clock=True)


def _no_won_stage(template):
    return replace(template, stages=tuple(s for s in template.stages if s.kind != "won"))


def _two_lost_stages(template):
    return replace(
        template, stages=(*template.stages, replace(template.stages[-1], name="Lost 2", slug="l2"))
    )


def _duplicate_slug(template):
    return _with_stage(template, "sizing", slug="discovery")


def _unknown_tool(template):
    return _with_stage(template, "sizing", tools=("excel",))


def _won_below_certainty(template):
    return _with_stage(template, "won", probability=90)


@pytest.mark.parametrize(
    ("break_template", "problem"),
    [
        (_two_clock_starters, "exactly one stage must start the clock"),
        (_no_won_stage, "exactly one won stage"),
        (_two_lost_stages, "exactly one lost stage"),
        (_duplicate_slug, "stage slugs must be unique"),
        (_unknown_tool, "unknown tools excel"),
        (_won_below_certainty, "a won stage has probability 100"),
    ],
)
def test_invalid_template_is_refused_and_nothing_is_written(break_template, problem):
    templates = [*PROCESS_TEMPLATES[1:], break_template(EPOS_PRESALES)]

    with pytest.raises(InvalidTemplate) as refused:
        processes_load_builtin(templates=templates)

    assert refused.value.slug == "epos-presales"
    assert problem in refused.value.message
    assert _snapshot() == {
        "processes": set(),
        "stages": set(),
        "items": set(),
        "tools": set(),
        "stage_tools": set(),
    }


def test_invalid_change_leaves_the_loaded_processes_untouched():
    processes_load_builtin()
    before = _snapshot()

    with pytest.raises(InvalidTemplate):
        processes_load_builtin(templates=[_two_clock_starters(EPOS_PRESALES)])

    assert _snapshot() == before


@pytest.mark.parametrize("slug", list(EXPECTED_STAGE_NAMES))
def test_every_open_stage_has_at_least_one_required_item(slug):
    processes_load_builtin()
    process = Process.objects.get(slug=slug)

    without_gate = [
        stage.name for stage in _open_stages(process) if not stage.items.filter(required=True)
    ]

    assert without_gate == []
    # "A few required", not everything: a gate on every line would be overridden, not followed.
    open_items = StageItem.objects.filter(stage__process=process, stage__kind=Stage.Kind.OPEN)
    assert open_items.filter(required=True).count() < open_items.count()


@pytest.mark.parametrize("slug", list(EXPECTED_STAGE_NAMES))
def test_probabilities_never_decrease_along_the_open_stages(slug):
    processes_load_builtin()

    probabilities = [stage.probability for stage in _open_stages(Process.objects.get(slug=slug))]

    assert probabilities == sorted(probabilities)
    assert all(0 <= p <= 100 for p in probabilities)


@pytest.mark.parametrize(
    ("slug", "closing_stage"),
    [
        ("revenue-bow-tie", "trade"),
        ("open-source-services", "invoicing"),
        ("consultation-led", "contract"),
    ],
)
def test_post_sale_stages_follow_won_so_the_clock_stops_at_the_commitment(slug, closing_stage):
    processes_load_builtin()
    process = Process.objects.get(slug=slug)
    won = process.stages.get(kind=Stage.Kind.WON)

    assert process.stages.get(slug=closing_stage).position == won.position - 1
    after_won = process.stages.filter(kind=Stage.Kind.OPEN, position__gt=won.position)
    assert after_won.exists()
    assert not after_won.filter(phase__in=[Stage.Phase.MARKETING, Stage.Phase.SALES]).exists()
    assert not process.stages.filter(
        kind=Stage.Kind.OPEN, position__lt=won.position, phase__in=["onboarding", "impact", "grow"]
    ).exists()


def test_bow_tie_stages_carry_their_phases():
    processes_load_builtin()
    process = Process.objects.get(slug=REVENUE_BOW_TIE.slug)

    phases = dict(process.stages.values_list("slug", "phase"))

    assert phases["prospect"] == phases["mql"] == "marketing"
    assert {phases[s] for s in ("sql", "discovery", "demo", "proposal", "trade")} == {"sales"}
    assert (phases["onboarding"], phases["impact"], phases["grow"]) == (
        "onboarding",
        "impact",
        "grow",
    )


def test_tools_are_created_once_kept_as_people_set_them_and_linked_to_stages():
    existing = ToolFactory(slug="vivun", name="Vivun", url="https://ourcompany.example/")

    processes_load_builtin()

    vivun = Tool.objects.get(slug="vivun")
    assert vivun.pk == existing.pk
    assert vivun.url == "https://ourcompany.example/"
    assert Tool.objects.filter(slug="vivun").count() == 1
    assert {"vivun", "zapier", "google-docs", "google-calendar", "esat-survey", "crm"} <= set(
        Tool.objects.values_list("slug", flat=True)
    )
    demo = Stage.objects.get(process__slug="epos-presales", slug="demo-d2w")
    assert "esat-survey" in set(demo.tools.values_list("slug", flat=True))
    assert not Tool.objects.filter(stages=None).exists()


def test_command_prints_one_line_per_process():
    out = StringIO()

    call_command("load_processes", stdout=out)

    lines = out.getvalue().splitlines()
    assert len(lines) == 5
    for line, process in zip(lines, Process.objects.order_by("pk"), strict=True):
        stage_count = process.stages.count()
        item_count = StageItem.objects.filter(stage__process=process).count()
        assert line == f"created {process.name} v1 ({stage_count} stages, {item_count} items)"

    again = StringIO()
    call_command("load_processes", stdout=again)
    assert [line.split(" ")[0] for line in again.getvalue().splitlines()] == ["unchanged"] * 5


def test_command_fails_with_the_template_problem(monkeypatch):
    monkeypatch.setattr(services, "PROCESS_TEMPLATES", (_no_won_stage(EPOS_PRESALES),))

    with pytest.raises(CommandError, match="exactly one won stage"):
        call_command("load_processes", stdout=StringIO())

    assert not Process.objects.exists()
