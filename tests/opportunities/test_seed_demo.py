"""`manage.py seed_demo`: the demo database is believable, consistent and reproducible.

The command runs once for the whole module (it writes ~400 deals through the real services);
the module's tests read that database, and everything is rolled back at the end.
"""

from collections import Counter, defaultdict
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import F, Sum
from django.test.utils import override_settings
from django.utils import timezone

from building_blocks import selectors as block_selectors
from building_blocks import services as block_services
from building_blocks.models import BuildingBlock
from epos.lib.roles import ADMIN, CURATOR, MANAGER, ROLES, SA
from metrics.models import Pilot
from metrics.selectors import pilot_arms
from metrics.statistics import compare
from opportunities.demo.apply import DEMO_PASSWORD, active_process, process_shape
from opportunities.demo.plan import (
    BANT_SLUG,
    EPOS_SLUG,
    MEETING_DAYS,
    PILOT_MEMBERS,
    PILOT_SLUG,
    build_plan,
)
from opportunities.models import (
    Account,
    Activity,
    ChecklistCompletion,
    EsatResponse,
    Opportunity,
    ProductGap,
    Qualification,
    StageTransition,
    Team,
)
from opportunities.myday import MEETING_KINDS, my_day
from stages.models import Stage, StageItem

pytestmark = pytest.mark.django_db

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seed once; the per-test transactions nest inside this one, which is rolled back."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHER):
        with transaction.atomic():
            out = StringIO()
            call_command("seed_demo", stdout=out)
            yield out.getvalue()
            transaction.set_rollback(True)


@pytest.fixture
def shapes(seeded):
    return {slug: process_shape(active_process(slug)) for slug in (EPOS_SLUG, BANT_SLUG)}


def _usernames(role):
    return set(
        get_user_model().objects.filter(groups__name=role).values_list("username", flat=True)
    )


def test_demo_users_have_their_roles(seeded):
    assert _usernames(SA) == {f"sa{n}" for n in range(1, 10)}
    assert _usernames(MANAGER) == {"manager1", "manager2", "manager3"}
    assert _usernames(CURATOR) == {"curator1", "curator2"}
    assert _usernames(ADMIN) == {"admin"}
    users = get_user_model().objects.filter(groups__name__in=ROLES).distinct()
    assert users.count() == 15
    admin = users.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert not users.exclude(username="admin").filter(is_staff=True).exists()
    assert all(user.first_name and user.last_name for user in users)
    assert all(user.email.endswith("@example.com") for user in users)
    assert len({user.email for user in users}) == 15
    assert len({user.get_full_name() for user in users}) == 15


@override_settings(PASSWORD_HASHERS=FAST_HASHER)
def test_demo_users_log_in_with_the_demo_password(seeded):
    from django.test import RequestFactory

    # As the login form does: with the request, which the failed-login counter needs.
    login = RequestFactory().post("/accounts/login/")
    users = get_user_model().objects.filter(groups__name__in=ROLES).distinct()
    for user in users:
        assert authenticate(login, username=user.username, password=DEMO_PASSWORD) == user
    assert authenticate(login, username="sa1", password="wrong-password") is None


def test_three_teams_with_three_sas_and_a_manager_each(seeded):
    teams = Team.objects.prefetch_related("members", "managers")
    assert teams.count() == 3
    for team in teams:
        assert len(team.members.all()) == 3
        assert all(member.groups.filter(name=SA).exists() for member in team.members.all())
        assert [m.groups.get().name for m in team.managers.all()] == [MANAGER]
    all_members = [member.username for team in teams for member in team.members.all()]
    assert sorted(all_members) == sorted(f"sa{n}" for n in range(1, 10))


def test_sixty_accounts_with_full_profiles_and_contacts(seeded):
    accounts = Account.objects.prefetch_related("contacts")
    assert accounts.count() == 60
    assert len({account.name for account in accounts}) == 60
    for account in accounts:
        for field in ("industry", "segment", "customer_type", "ownership", "country", "city"):
            assert getattr(account, field), (account.name, field)
        assert account.employees > 0
        assert account.has_own_infrastructure is not None
        sentences = [s for s in account.business_context.split(". ") if s.strip()]
        assert 2 <= len(sentences) <= 3, account.business_context
        assert 1 <= len(account.contacts.all()) <= 3
    contacts = [contact for account in accounts for contact in account.contacts.all()]
    assert {contact.level for contact in contacts} == {
        "executive",
        "management",
        "technical",
        "operations",
    }
    assert any(contact.is_decision_maker for contact in contacts)
    assert any(contact.is_champion for contact in contacts)
    assert not all(contact.is_decision_maker for contact in contacts)
    assert {account.segment for account in accounts} == {"smb", "mid_market", "enterprise"}


def test_about_four_hundred_deals_mostly_on_the_epos_process(seeded):
    count = Opportunity.objects.count()
    assert 350 <= count <= 450
    by_process = Counter(Opportunity.objects.values_list("process__slug", flat=True))
    assert set(by_process) == {EPOS_SLUG, BANT_SLUG, PILOT_SLUG}
    # The pilot's deals are EPOS deals run on the piloted playbook.
    assert by_process[EPOS_SLUG] + by_process[PILOT_SLUG] > 2 * by_process[BANT_SLUG] > 0
    use_cases = Counter(Opportunity.objects.values_list("use_case", flat=True))
    assert use_cases.most_common(2)[0][0] == "observability"
    assert use_cases["observability"] + use_cases["security"] > count / 2
    assert len(set(Opportunity.objects.values_list("product", flat=True))) >= 4


def test_outcome_mix_has_won_lost_open_and_qualified_out(seeded):
    outcomes = Counter(Opportunity.objects.values_list("outcome", flat=True))
    total = sum(outcomes.values())
    assert 0.25 <= outcomes["won"] / total <= 0.45
    assert 0.15 <= outcomes["lost"] / total <= 0.35
    assert 0 < outcomes["qualified_out"] < outcomes["lost"]
    assert outcomes["open"] > 0


def test_every_deal_sits_in_the_stage_of_its_last_transition(seeded):
    last_stage = {}
    for opportunity_id, to_stage_id in StageTransition.objects.order_by(
        "opportunity_id", "moved_at", "id"
    ).values_list("opportunity_id", "to_stage_id"):
        last_stage[opportunity_id] = to_stage_id
    current = dict(Opportunity.objects.values_list("id", "stage_id"))
    assert last_stage == current


def test_outcome_and_closed_at_agree_with_the_stage_kind(seeded):
    last_moved = {}
    for opportunity_id, moved_at in StageTransition.objects.order_by("moved_at").values_list(
        "opportunity_id", "moved_at"
    ):
        last_moved[opportunity_id] = moved_at
    expected_kind = {"open": "open", "won": "won", "lost": "lost", "qualified_out": "lost"}
    for deal in Opportunity.objects.select_related("stage"):
        assert deal.stage.kind == expected_kind[deal.outcome], deal.name
        if deal.outcome == "open":
            assert deal.closed_at is None and deal.loss_reason == ""
        else:
            assert deal.closed_at == last_moved[deal.pk]
        if deal.outcome in ("lost", "qualified_out"):
            assert deal.loss_reason
        assert deal.stage_entered_at == last_moved[deal.pk]


def test_transitions_of_each_deal_are_ordered_in_time_and_in_the_past(seeded):
    now = timezone.now()
    history = defaultdict(list)
    for row in StageTransition.objects.order_by("id").values(
        "opportunity_id", "from_stage_id", "to_stage_id", "moved_at"
    ):
        history[row["opportunity_id"]].append(row)
    created = dict(Opportunity.objects.values_list("id", "created_at"))
    assert set(history) == set(created)
    for opportunity_id, rows in history.items():
        assert rows[0]["from_stage_id"] is None
        assert rows[0]["moved_at"] == created[opportunity_id]
        times = [row["moved_at"] for row in rows]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert times[-1] < now
        for previous, row in zip(rows, rows[1:], strict=False):
            assert row["from_stage_id"] == previous["to_stage_id"]


def test_history_spans_eighteen_months_up_to_recent_days(seeded):
    now = timezone.now()
    created = list(Opportunity.objects.values_list("created_at", flat=True))
    assert min(created) >= now - timedelta(days=600)
    assert min(created) <= now - timedelta(days=400)
    assert Opportunity.objects.filter(closed_at__gte=now - timedelta(days=30)).exists()
    assert Opportunity.objects.filter(created_at__gte=now - timedelta(days=30)).exists()
    open_ages = [now - c for c in Opportunity.objects.filter(outcome="open").values_list(
        "created_at", flat=True
    )]  # fmt: skip
    closed_ages = [now - c for c in Opportunity.objects.exclude(outcome="open").values_list(
        "created_at", flat=True
    )]  # fmt: skip
    assert sorted(open_ages)[len(open_ages) // 2] < sorted(closed_ages)[len(closed_ages) // 2]


def test_some_deals_skip_optional_stages_and_some_step_back(seeded):
    stages = {stage.pk: stage for stage in Stage.objects.all()}
    skips = backs = 0
    for from_id, to_id in StageTransition.objects.filter(from_stage__isnull=False).values_list(
        "from_stage_id", "to_stage_id"
    ):
        left, entered = stages[from_id], stages[to_id]
        if entered.kind != Stage.Kind.OPEN:
            continue
        if entered.position < left.position:
            backs += 1
        elif entered.position > left.position + 1:
            skips += 1
            passed_over = [
                stage
                for stage in stages.values()
                if stage.process_id == left.process_id
                and left.position < stage.position < entered.position
            ]
            assert all(stage.is_optional for stage in passed_over), (left.name, entered.name)
    assert skips > 0
    assert 0 < backs < Opportunity.objects.count() / 5


def test_owners_are_sas_and_the_deal_team_is_the_owners_team(seeded):
    deals = Opportunity.objects.select_related("owner").prefetch_related("owner__teams")
    owners = Counter()
    for deal in deals:
        assert deal.team_id in {team.pk for team in deal.owner.teams.all()}, deal.name
        assert deal.account.team_id == deal.team_id
        owners[deal.owner.username] += 1
    assert set(owners) == {f"sa{n}" for n in range(1, 10)}
    assert min(owners.values()) >= 10


def test_gates_were_passed_by_ticking_required_items_or_by_a_manager_override(seeded):
    required = defaultdict(set)
    for stage_id, item_id in StageItem.objects.filter(required=True).values_list("stage_id", "id"):
        required[stage_id].add(item_id)
    done = defaultdict(set)
    for opportunity_id, item_id in ChecklistCompletion.objects.filter(done=True).values_list(
        "opportunity_id", "item_id"
    ):
        done[opportunity_id].add(item_id)
    exits = StageTransition.objects.filter(
        from_stage__kind=Stage.Kind.OPEN, to_stage__position__gt=F("from_stage__position")
    ).exclude(to_stage__kind=Stage.Kind.LOST)
    overrides = 0
    for transition in exits.select_related("opportunity__team").prefetch_related(
        "opportunity__team__managers"
    ):
        if transition.override_reason:
            overrides += 1
            assert transition.unmet_items
            managers = transition.opportunity.team.managers.all()
            assert transition.moved_by in managers
        else:
            assert transition.unmet_items == []
            assert required[transition.from_stage_id] <= done[transition.opportunity_id]
    assert 0 < overrides < exits.count() / 10


def test_checklist_items_were_ticked_during_the_deal_not_at_seed_time(seeded):
    completions = ChecklistCompletion.objects.filter(done=True)
    assert completions.exists()
    assert not completions.filter(done_at__lt=F("opportunity__created_at")).exists()
    assert not completions.filter(done_at__gt=timezone.now()).exists()
    assert completions.filter(done_at__lt=timezone.now() - timedelta(days=180)).exists()


def test_activities_fall_within_the_life_of_their_deal(seeded):
    activities = Activity.objects.all()
    assert activities.count() >= 2 * Opportunity.objects.count()
    assert not activities.filter(occurred_at__lt=F("opportunity__created_at")).exists()
    assert not activities.filter(occurred_at__gt=F("opportunity__closed_at")).exists()
    kinds = set(activities.values_list("kind", flat=True))
    assert {"call", "meeting", "demo", "workshop", "poc_work"} <= kinds


def test_esat_answers_follow_demo_and_poc_stages_and_skew_high(seeded):
    answers = EsatResponse.objects.select_related("stage")
    scores = [answer.score for answer in answers]
    assert len(scores) > Opportunity.objects.count() / 4
    assert set(scores) <= {1, 2, 3, 4, 5}
    assert sum(score >= 4 for score in scores) / len(scores) > 0.65
    assert {answer.stage.slug for answer in answers} <= {
        "demo-d2w",
        "proof-of-concept",
        "solution-design",
    }
    for answer in answers:
        assert StageTransition.objects.filter(
            opportunity_id=answer.opportunity_id,
            to_stage_id=answer.stage_id,
            moved_at__lt=answer.received_at,
        ).exists()


def test_product_gaps_on_about_fifteen_percent_of_deals(seeded):
    with_gaps = ProductGap.objects.values("opportunity_id").distinct().count()
    assert 0.08 <= with_gaps / Opportunity.objects.count() <= 0.25
    severities = set(ProductGap.objects.values_list("severity", flat=True))
    assert severities == {"deal_breaker", "deal_challenge", "nice_to_have"}
    assert not ProductGap.objects.filter(created_at__lt=F("opportunity__created_at")).exists()


def test_most_deals_are_qualified_and_won_deals_score_higher(seeded):
    qualifications = Qualification.objects.select_related("opportunity")
    assert qualifications.count() > 0.7 * Opportunity.objects.count()
    scores = defaultdict(list)
    for qualification in qualifications:
        scores[qualification.opportunity.outcome].append(qualification.score)
    mean = {outcome: sum(values) / len(values) for outcome, values in scores.items()}
    assert mean["won"] > mean["lost"] > mean["qualified_out"]


def test_two_curators_wrote_the_library_and_reviewed_each_others_blocks(seeded):
    authors = Counter(BuildingBlock.objects.values_list("owner__username", flat=True))
    assert set(authors) == {"curator1", "curator2"}
    assert min(authors.values()) >= 15
    reviewed = BuildingBlock.objects.filter(published_at__isnull=False).select_related(
        "owner", "reviewer"
    )
    assert reviewed.count() > 30
    for block in reviewed:
        assert {block.owner.username, block.reviewer.username} == {"curator1", "curator2"}


@pytest.mark.parametrize("username", ["curator1", "curator2"])
def test_each_curator_finds_a_block_to_review_and_can_publish_it(seeded, username):
    curator = get_user_model().objects.get(username=username)
    queue = list(block_selectors.review_queue(user=curator))
    others = [block for block in queue if block.owner_id != curator.pk]
    assert others, "nothing this curator may approve"
    # My day on their home page shows exactly those.
    (reviews,) = my_day(user=curator, now=timezone.now()).sections
    assert [block.pk for block in reviews.data.to_review] == [block.pk for block in others]

    published = block_services.block_approve(block=others[0], actor=curator)

    assert published.status == "published" and published.reviewer_id == curator.pk


def _mttc_days(deal) -> float:
    return (deal.closed_at - deal.engaged_at).total_seconds() / 86400


def test_the_pilot_is_running_and_its_deals_give_it_a_real_verdict(seeded):
    pilot = Pilot.objects.select_related("process", "baseline_process").get()
    assert pilot.status_on(timezone.localdate()) == "running"
    assert (pilot.process.slug, pilot.baseline_process.slug) == (PILOT_SLUG, EPOS_SLUG)
    assert {pilot.process.status, pilot.baseline_process.status} == {"active"}
    assert sorted(m.username for m in pilot.members.all()) == sorted(PILOT_MEMBERS)
    assert pilot.target_metric == "mttc_change_pct" and pilot.target_value < 0

    # The arms read from the deals themselves, as the pilot defines them.
    def in_window(deal):
        return pilot.starts_on <= timezone.localtime(deal.created_at).date() <= pilot.ends_on

    deals = [d for d in Opportunity.objects.select_related("owner") if in_window(d)]
    pilot_arm = [
        d for d in deals if d.process_id == pilot.process_id and d.owner.username in PILOT_MEMBERS
    ]
    control_arm = [d for d in deals if d.process_id == pilot.baseline_process_id]
    assert (
        not Opportunity.objects.filter(process=pilot.process)
        .exclude(owner__username__in=PILOT_MEMBERS)
        .exists()
    )
    pilot_days = [_mttc_days(d) for d in pilot_arm if d.outcome == "won" and d.engaged_at]
    control_days = [_mttc_days(d) for d in control_arm if d.outcome == "won" and d.engaged_at]
    assert len(pilot_days) >= 8 and len(control_days) >= 15
    pilot_mean = sum(pilot_days) / len(pilot_days)
    control_mean = sum(control_days) / len(control_days)
    assert pilot_mean < 0.8 * control_mean
    from scipy import stats

    p_value = stats.mannwhitneyu(pilot_days, control_days, alternative="two-sided").pvalue
    assert p_value < 0.05

    # What the pilot page says: a verdict reached on those deals, not "wait for more data".
    comparison = compare(pilot, pilot_arms(pilot))
    assert comparison.arms["pilot"].opportunities == len(pilot_arm)
    assert comparison.arms["control"].opportunities == len(control_arm)
    assert comparison.mttc_p == pytest.approx(p_value)
    assert comparison.mttc_change_pct == pytest.approx((pilot_mean / control_mean - 1) * 100)
    assert comparison.tone == "good"
    assert comparison.verdict.startswith("The pilot process closes deals faster")
    assert "meets the target" in comparison.verdict
    assert comparison.verdict in seeded  # the command's summary says it too


def test_every_sa_logged_hours_over_the_last_ninety_days(seeded):
    now = timezone.now()
    activities = Activity.objects.filter(occurred_at__lte=now)
    hours = {}
    for window in (30, 90):
        rows = (
            activities.filter(occurred_at__gte=now - timedelta(days=window))
            .values("opportunity__owner__username")
            .annotate(minutes=Sum("duration_minutes"))
        )
        hours[window] = {row["opportunity__owner__username"]: row["minutes"] / 60 for row in rows}
    sas = _usernames(SA)
    assert set(hours[90]) == set(hours[30]) == sas
    capacity = {window: 40 * window / 7 for window in (30, 90)}  # the default 40 h a week
    for username in sas:
        assert 0.3 <= hours[90][username] / capacity[90] <= 1.25, username
        assert 0.2 <= hours[30][username] / capacity[30] <= 1.4, username
    # Someone is stretched and someone has room: a workload page has something to tell.
    assert max(hours[90].values()) >= 2 * min(hours[90].values())
    recent = activities.filter(occurred_at__gte=now - timedelta(days=90))
    assert set(recent.values_list("source", flat=True)) >= {"manual", "google_calendar", "vivun"}
    assert not recent.filter(opportunity__created_at__gt=F("occurred_at")).exists()


def test_each_sa_has_meetings_booked_on_open_deals_for_the_next_two_weeks(seeded):
    now = timezone.now()
    booked = Activity.objects.filter(occurred_at__gt=now)
    assert booked.exists()
    assert not booked.exclude(opportunity__outcome="open").exists()
    assert set(booked.values_list("kind", flat=True)) <= set(MEETING_KINDS)
    assert not booked.filter(occurred_at__gt=now + timedelta(days=MEETING_DAYS + 1)).exists()
    owners = set(booked.values_list("opportunity__owner__username", flat=True))
    assert owners == _usernames(SA)
    sa1 = get_user_model().objects.get(username="sa1")
    assert my_day(user=sa1, now=now).meetings


def test_if_empty_on_a_seeded_database_adds_nothing(seeded):
    before = (Opportunity.objects.count(), Account.objects.count(), StageTransition.objects.count())
    out = StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    after = (Opportunity.objects.count(), Account.objects.count(), StageTransition.objects.count())
    assert after == before
    assert "already" in out.getvalue()


def test_deleting_the_demo_deals_does_not_bring_them_back_on_the_next_start(seeded):
    Opportunity.objects.all().delete()
    out = StringIO()

    call_command("seed_demo", "--if-empty", stdout=out)

    assert Opportunity.objects.count() == 0
    assert "loaded once already" in out.getvalue()


def test_seeding_a_database_with_data_is_refused(seeded):
    before = Opportunity.objects.count()
    with pytest.raises(CommandError, match="already has data"):
        call_command("seed_demo", stdout=StringIO())
    assert Opportunity.objects.count() == before


def test_the_plan_is_the_same_for_the_same_seed(shapes):
    now = timezone.now()
    first = build_plan(seed=7, now=now, processes=shapes)
    second = build_plan(seed=7, now=now, processes=shapes)
    other = build_plan(seed=8, now=now, processes=shapes)
    assert first == second
    assert [d.name for d in first.deals] != [d.name for d in other.deals]
    assert [d.amount for d in first.deals] != [d.amount for d in other.deals]


def test_the_plan_slides_with_now_but_keeps_names_amounts_and_paths(shapes):
    now = timezone.now()
    today = build_plan(seed=7, now=now, processes=shapes)
    later = build_plan(seed=7, now=now + timedelta(days=10), processes=shapes)
    for deal, moved in zip(today.deals, later.deals, strict=True):
        assert (moved.name, moved.amount, moved.owner) == (deal.name, deal.amount, deal.owner)
        assert [m.to_stage for m in moved.moves] == [m.to_stage for m in deal.moves]
        assert moved.created_at - deal.created_at == timedelta(days=10)


def test_the_seeded_database_is_the_plan_of_its_seed(seeded, shapes):
    plan = build_plan(seed=42, now=timezone.now(), processes=shapes)
    seeded_deals = list(
        Opportunity.objects.order_by("pk").values_list(
            "name", "amount", "owner__username", "outcome"
        )
    )
    planned = [(d.name, d.amount, d.owner, d.outcome) for d in plan.deals]
    assert seeded_deals == planned
    transitions = StageTransition.objects.count()
    assert transitions == len(plan.deals) + sum(len(d.moves) for d in plan.deals)
