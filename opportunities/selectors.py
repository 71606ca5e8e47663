"""Every read of opportunities the views, the API and the metrics use."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import (
    Count,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from epos.lib.prepared import PreparedRead
from epos.lib.roles import MANAGER, SA
from opportunities import permissions
from opportunities.filters import OpportunityListFilter, opportunity_ordering
from opportunities.models import (
    Account,
    Activity,
    ChecklistCompletion,
    Contact,
    EsatInvitation,
    EsatResponse,
    Opportunity,
    ProductGap,
    SavedView,
    StageTransition,
    Team,
)
from stages import rules
from stages.models import Process, Stage, StageItem, Tool


def _restrict(queryset: QuerySet, user, prefix: str = "") -> QuerySet:
    scope = permissions.opportunity_visibility_q(user)
    if scope is None:
        return queryset
    if prefix:
        # Re-root the scope under a relation: Q(team_id__in=...) -> Q(opportunity__team_id__in=...)
        scope = _prefix_q(scope, prefix)
    return queryset.filter(scope)


def _prefix_q(q: Q, prefix: str) -> Q:
    clone = Q()
    clone.connector, clone.negated = q.connector, q.negated
    clone.children = [
        _prefix_q(child, prefix) if isinstance(child, Q) else (f"{prefix}__{child[0]}", child[1])
        for child in q.children
    ]
    return clone


def opportunity_list(*, user) -> QuerySet[Opportunity]:
    return _restrict(
        Opportunity.objects.select_related(
            "account", "process", "stage", "owner", "account_executive", "team"
        ),
        user,
    )


def opportunity_list_for_api(*, user) -> QuerySet[Opportunity]:
    """The API prints the process as an id: one join fewer keeps PostgreSQL's planning time
    (which grows steeply with each join) small on the page query."""
    return _restrict(
        Opportunity.objects.select_related(
            "account", "stage", "owner", "account_executive", "team"
        ),
        user,
    )


def opportunity_get(*, user, pk) -> Opportunity | None:
    return opportunity_list(user=user).filter(pk=pk).first()


# The relations a deal's representation prints (opportunities.api.serializers), beside its
# stage and process, which a move reads with the process's stages.
OUTPUT_RELATIONS = ("account", "owner", "account_executive", "team")


def _locked(relations: tuple[str, ...]) -> PreparedRead:
    rows = Opportunity.objects.select_for_update(of=("self",) if relations else ())
    if relations:  # select_related() with no names would follow every relation
        rows = rows.select_related(*relations)
    return PreparedRead(lambda pk: rows.filter(pk=pk).order_by(), pk=-1)


# Every move runs one of them: compiled once (epos.lib.prepared).
_LOCKED = {(): _locked(()), OUTPUT_RELATIONS: _locked(OUTPUT_RELATIONS)}


def opportunity_for_update(pk: int, *, relations: tuple[str, ...] = ()) -> Opportunity | None:
    """The deal with its row locked until the transaction ends (call it inside one), or None.
    `relations`: none, or OUTPUT_RELATIONS.

    Only the deal's row is locked and nothing joins its stage: when a concurrent move commits
    first, PostgreSQL re-checks the locked row against the joined rows it read before, and a
    join on the stage that move replaced would drop the row instead of showing its new version.
    `relations` (nullable, so outer joins) come in the same statement; one that a concurrent
    change re-pointed comes back empty or stale, so it is forgotten here and read on use."""
    found = _LOCKED[relations].rows(pk=pk)
    if not found:
        return None
    opportunity = found[0]
    for name in relations:
        related = getattr(opportunity, name)
        if (related.pk if related is not None else None) != getattr(opportunity, f"{name}_id"):
            Opportunity._meta.get_field(name).delete_cached_value(opportunity)
    return opportunity


# By position alone: Stage's default order starts with its process's (name, version), a join
# that orders nothing here. Every move reads them: compiled once.
_PROCESS_STAGES = PreparedRead(
    lambda process_id: Stage.objects.filter(process_id=process_id).order_by("position"),
    process_id=-1,
)


def process_stages(process_id: int) -> list[Stage]:
    """The stages of a process, in order."""
    return _PROCESS_STAGES.rows(process_id=process_id)


# Every forward move reads them: compiled once, for the whole process (a process has a few
# dozen items; the stages asked for are picked here). NOT IN rather than NOT EXISTS: the same
# rows, as item_id is never null.
_OPEN_REQUIRED_ITEMS = PreparedRead(
    lambda opportunity_id, process_id: (
        StageItem.objects.filter(stage__process_id=process_id, required=True)
        .exclude(
            pk__in=ChecklistCompletion.objects.filter(
                opportunity_id=opportunity_id, done=True
            ).values("item_id")
        )
        .order_by("position", "pk")
        .values_list("stage_id", "pk", "title")
    ),
    opportunity_id=-1,
    process_id=-2,
)


def open_required_items(
    opportunity_id: int, *, process_id: int, stage_ids: Iterable[int]
) -> dict[int, list[rules.Item]]:
    """The required items of these stages (of the deal's process) that the deal has not
    done, by stage."""
    wanted = set(stage_ids)
    if not wanted:
        return {}
    open_items: dict[int, list[rules.Item]] = {}
    for stage_id, pk, title in _OPEN_REQUIRED_ITEMS.rows(
        opportunity_id=opportunity_id, process_id=process_id
    ):
        if stage_id in wanted:
            open_items.setdefault(stage_id, []).append(rules.Item(pk, title))
    return open_items


def transition_list(*, opportunity: Opportunity) -> QuerySet[StageTransition]:
    return (
        StageTransition.objects.filter(opportunity=opportunity)
        .select_related("from_stage", "to_stage", "moved_by")
        .order_by("moved_at", "pk")
    )


def activity_list(*, user) -> QuerySet[Activity]:
    return _restrict(
        Activity.objects.select_related("opportunity", "created_by"), user, "opportunity"
    )


def esat_response_list(*, user) -> QuerySet[EsatResponse]:
    return _restrict(
        EsatResponse.objects.select_related("opportunity", "stage"), user, "opportunity"
    )


def product_gap_list(*, user) -> QuerySet[ProductGap]:
    return _restrict(
        ProductGap.objects.select_related("opportunity", "created_by"), user, "opportunity"
    )


def account_list(*, user) -> QuerySet[Account]:
    if not permissions.can_view_accounts(user):
        return Account.objects.none()
    return Account.objects.select_related("team")


def contact_list(*, user) -> QuerySet[Contact]:
    if not permissions.can_view_accounts(user):
        return Contact.objects.none()
    return Contact.objects.select_related("account")


# --- the stage board -------------------------------------------------------------------------

BOARD_PAGE_SIZE = 25
# Won and lost columns are drop targets; they show what closed recently, not all history.
BOARD_CLOSED_DAYS = 30
BOARD_SORTS = {
    "recent": ("-stage_entered_at", "-id"),
    "oldest": ("stage_entered_at", "id"),
    "amount": (F("amount").desc(nulls_last=True), "-id"),  # unknown amounts last
    "close": (F("expected_close_date").asc(nulls_last=True), "id"),
}


@dataclass(frozen=True)
class BoardFilters:
    """What the board shows; every field comes from the URL so a filtered board can be shared."""

    owner_id: int | None = None
    team_id: int | None = None
    use_case: str = ""
    source: str = ""
    search: str = ""
    sort: str = "recent"

    def q(self) -> Q:
        q = Q()
        if self.owner_id is not None:
            q &= Q(owner_id=self.owner_id)
        if self.team_id is not None:
            q &= Q(team_id=self.team_id)
        if self.use_case:
            q &= Q(use_case=self.use_case)
        if self.source:
            q &= Q(source=self.source)
        if self.search:
            q &= Q(name__icontains=self.search) | Q(account__name__icontains=self.search)
        return q

    @property
    def ordering(self) -> tuple:
        return BOARD_SORTS.get(self.sort, BOARD_SORTS["recent"])


def board_stages(*, process: Process) -> list[Stage]:
    """The process's stages in order, each with `required_count` (its required items)."""
    return list(
        Stage.objects.filter(process=process)
        .annotate(required_count=Count("items", filter=Q(items__required=True)))
        .order_by("position")
    )


def _board_base(*, user, process: Process, filters: BoardFilters) -> QuerySet[Opportunity]:
    cutoff = timezone.now() - timedelta(days=BOARD_CLOSED_DAYS)
    queryset = Opportunity.objects.filter(process=process).filter(
        Q(outcome=Opportunity.Outcome.OPEN) | Q(closed_at__gte=cutoff)
    )
    return _restrict(queryset, user).filter(filters.q())


def board_column_totals(*, user, process: Process, filters: BoardFilters) -> dict[int, dict]:
    """Per stage: count, amount sum and the currency (None when mixed), in one aggregate query."""
    rows = (
        _board_base(user=user, process=process, filters=filters)
        .order_by()
        .values("stage_id")
        .annotate(
            count=Count("pk"),
            amount=Sum("amount"),
            currency_min=Min("currency"),
            currency_max=Max("currency"),
        )
    )
    return {
        row["stage_id"]: {
            "count": row["count"],
            "amount": row["amount"] or Decimal("0"),
            "currency": row["currency_min"] if row["currency_min"] == row["currency_max"] else None,
        }
        for row in rows
    }


# What a card shows and what the edit check needs; the rest (an account's business context,
# a user's password hash) stays in the database.
CARD_FIELDS = (
    "name",
    "process_id",
    "stage_id",
    "owner_id",
    "account_executive_id",
    "team_id",
    "amount",
    "currency",
    "use_case",
    "outcome",
    "version",
    "stage_entered_at",
    "account__name",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
)


def required_done_count():
    """The done required items of a deal's current stage, as a subquery over the outer deal
    (OuterRef pk and stage_id): the board card's progress and My day's open items."""
    done = (
        ChecklistCompletion.objects.filter(
            opportunity_id=OuterRef("pk"),
            done=True,
            item__required=True,
            item__stage_id=OuterRef("stage_id"),
        )
        .order_by()
        .values("opportunity_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(done, output_field=IntegerField()), 0)


def _with_card_fields(queryset: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
    # The next planned activity (a meeting booked, a demo scheduled), shown on the card.
    upcoming = (
        Activity.objects.filter(opportunity_id=OuterRef("pk"), occurred_at__gte=timezone.now())
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    return (
        queryset.select_related("account", "owner")
        .only(*CARD_FIELDS)
        .annotate(
            checklist_done=required_done_count(),
            next_activity_at=Subquery(upcoming),
        )
    )


def board_cards(
    *, user, process: Process, filters: BoardFilters, per_column: int = BOARD_PAGE_SIZE
) -> list[Opportunity]:
    """The first `per_column` cards of every column, in one query.

    ROW_NUMBER() OVER (PARTITION BY stage) ranks the cards inside each column over the indexed
    columns only; the outer query then joins accounts and owners and counts checklist progress
    for the few hundred cards kept, never for the thousands ranked.
    """
    ranked = (
        _board_base(user=user, process=process, filters=filters)
        .annotate(
            board_rank=Window(
                RowNumber(), partition_by=[F("stage_id")], order_by=list(filters.ordering)
            )
        )
        .filter(board_rank__lte=per_column)
        .values("pk")
    )
    return list(
        _with_card_fields(Opportunity.objects.filter(pk__in=ranked)).order_by(
            "stage_id", *filters.ordering
        )
    )


def board_column_cards(
    *, user, process: Process, stage: Stage, filters: BoardFilters, offset: int, limit: int
) -> list[Opportunity]:
    """One column's cards past the first page ("load more")."""
    queryset = _board_base(user=user, process=process, filters=filters).filter(stage=stage)
    return list(_with_card_fields(queryset).order_by(*filters.ordering)[offset : offset + limit])


def board_moved_since(*, process: Process, since, limit: int) -> list[int]:
    """The deals of `process` that entered a stage after `since` (at most `limit`): what a
    live board re-renders. Reads the (to_stage, moved_at) index, one range per stage."""
    return list(
        StageTransition.objects.filter(to_stage__process=process, moved_at__gt=since)
        .order_by()
        .values_list("opportunity_id", flat=True)
        .distinct()[:limit]
    )


def board_cards_by_id(*, user, process: Process, filters: BoardFilters, ids) -> list[Opportunity]:
    """Those of `ids` that the board, with these filters, shows; the others left it."""
    queryset = _board_base(user=user, process=process, filters=filters).filter(pk__in=ids)
    return list(_with_card_fields(queryset))


def board_card(*, user, pk) -> Opportunity | None:
    """One card with the fields the board shows, for re-rendering it after a move."""
    return _with_card_fields(_restrict(Opportunity.objects.filter(pk=pk), user)).first()


def board_default_process(*, user, mine_only: bool) -> Process | None:
    """The active process the user's open deals use most; the first active process otherwise."""
    queryset = _restrict(
        Opportunity.objects.filter(
            outcome=Opportunity.Outcome.OPEN, process__status=Process.Status.ACTIVE
        ),
        user,
    )
    if mine_only:
        queryset = queryset.filter(owner_id=user.pk)
    used = (
        queryset.filter(process_id=OuterRef("pk"))
        .order_by()
        .values("process_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Process.objects.filter(status=Process.Status.ACTIVE)
        .annotate(used=Coalesce(Subquery(used, output_field=IntegerField()), 0))
        .order_by("-used", "name", "-version")
        .first()
    )


def board_owner_choices(*, user) -> list:
    """The people the owner filter offers: members of the user's teams, or everyone for an admin
    or curator (who see every deal)."""
    User = get_user_model()
    scope = permissions.opportunity_visibility_q(user)
    queryset = User.objects.filter(is_active=True)
    if scope is None:
        queryset = queryset.filter(groups__name__in=[SA, MANAGER])
    else:
        teams = permissions.visible_team_ids(user)
        queryset = queryset.filter(Q(teams__in=teams) | Q(managed_teams__in=teams) | Q(pk=user.pk))
    return list(
        queryset.distinct()
        .order_by("first_name", "last_name", "username")
        .only("pk", "username", "first_name", "last_name")
    )


def team_choices(*, user) -> list[Team]:
    scope = permissions.opportunity_visibility_q(user)
    if scope is None:
        return list(Team.objects.order_by("name"))
    return list(Team.objects.filter(pk__in=permissions.visible_team_ids(user)).order_by("name"))


def assignable_team_choices(*, user) -> list[Team]:
    """The teams a create or edit form offers: those `user` may put a deal in."""
    allowed = permissions.assignable_team_ids(user)
    teams = Team.objects.all() if allowed is None else Team.objects.filter(pk__in=allowed)
    return list(teams.order_by("name"))


def board_process(*, slug: str, version: int | None = None) -> Process | None:
    """The process a board shows: that version, else the active one, else the newest."""
    processes = Process.objects.filter(slug=slug)
    if version is not None:
        return processes.filter(version=version).first()
    return (
        processes.filter(status=Process.Status.ACTIVE).order_by("-version").first()
        or processes.order_by("-version").first()
    )


def process_stage(*, process_id: int, pk: int) -> Stage | None:
    return Stage.objects.filter(process_id=process_id, pk=pk).first()


def stage_get(*, pk: int) -> Stage | None:
    return Stage.objects.filter(pk=pk).first()


def process_item(*, process_id: int, pk: int) -> StageItem | None:
    """A checklist item of the process, with its stage."""
    return (
        StageItem.objects.select_related("stage")
        .filter(pk=pk, stage__process_id=process_id)
        .first()
    )


def checklist_completion(*, opportunity, item) -> ChecklistCompletion | None:
    return ChecklistCompletion.objects.filter(opportunity=opportunity, item=item).first()


def gate_items(*, opportunity, item_ids) -> list[dict]:
    """The items a refused move named, in stage and checklist order, each with the deal's
    completion of it (or None): what the gate dialog lists for ticking."""
    items = list(
        StageItem.objects.filter(pk__in=item_ids)
        .select_related("stage")
        .order_by("stage__position", "position", "pk")
    )
    completions = {
        c.item_id: c
        for c in ChecklistCompletion.objects.filter(opportunity=opportunity, item__in=items)
    }
    return [{"item": item, "completion": completions.get(item.pk)} for item in items]


def active_processes() -> QuerySet[Process]:
    return Process.objects.filter(status=Process.Status.ACTIVE).order_by("name", "-version")


# --- the opportunity page --------------------------------------------------------------------


def opportunity_detail(*, user, pk) -> Opportunity | None:
    return (
        opportunity_list(user=user).select_related("qualification", "process").filter(pk=pk).first()
    )


def process_stages_with_items(*, process: Process) -> list[Stage]:
    """Every stage of the process with its checklist items and tools (three queries)."""
    return list(
        Stage.objects.filter(process=process)
        .order_by("position")
        .prefetch_related(
            Prefetch("items", queryset=StageItem.objects.order_by("position", "pk")),
            Prefetch("tools", queryset=Tool.objects.order_by("name")),
        )
    )


def checklist_by_item(*, opportunity: Opportunity) -> dict[int, ChecklistCompletion]:
    return {
        completion.item_id: completion
        for completion in ChecklistCompletion.objects.filter(
            opportunity=opportunity
        ).select_related("done_by")
    }


def opportunity_activity_count(*, opportunity: Opportunity) -> int:
    return Activity.objects.filter(opportunity=opportunity).count()


def opportunity_product_gaps(*, opportunity: Opportunity) -> list[ProductGap]:
    return list(
        ProductGap.objects.filter(opportunity=opportunity)
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )


def opportunity_esat_responses(*, opportunity: Opportunity) -> list[EsatResponse]:
    return list(
        EsatResponse.objects.filter(opportunity=opportunity)
        .select_related("stage")
        .order_by("-received_at", "-pk")
    )


def opportunity_esat_invitations(*, opportunity: Opportunity) -> list[EsatInvitation]:
    return list(
        EsatInvitation.objects.filter(opportunity=opportunity)
        .select_related("stage")
        .order_by("-created_at", "-pk")[:20]
    )


def account_contacts(*, account: Account | None) -> list[Contact]:
    if account is None:
        return []
    return list(Contact.objects.filter(account=account).order_by("name"))


def stage_path(*, stages: list[Stage], current: Stage, entered_ids: set[int]) -> list[dict]:
    """Salesforce-style path: each stage is done, current, skipped or ahead.

    Won and Lost are alternatives at the end: only the one the deal reached is shown as a step
    of its own when it is closed; an open deal shows a single "Closed" goal.
    """
    path = []
    open_stages = [s for s in stages if s.kind == Stage.Kind.OPEN]
    for stage in open_stages:
        if stage.pk == current.pk:
            status = "current"
        elif current.kind != Stage.Kind.OPEN or stage.position < current.position:
            status = "done" if stage.pk in entered_ids else "skipped"
        else:
            status = "ahead"
        path.append({"stage": stage, "status": status})
    if current.kind != Stage.Kind.OPEN:
        path.append({"stage": current, "status": "current"})
    return path


# --- accounts --------------------------------------------------------------------------------


def account_list_with_counts(*, user) -> QuerySet[Account]:
    scope = permissions.opportunity_visibility_q(user)
    visible = Q(opportunities__outcome=Opportunity.Outcome.OPEN)
    if scope is not None:
        visible &= _prefix_q(scope, "opportunities")
    return account_list(user=user).annotate(
        open_count=Count("opportunities", filter=visible, distinct=True)
    )


def account_opportunities(*, user, account: Account) -> QuerySet[Opportunity]:
    return opportunity_list(user=user).filter(account=account).order_by("outcome", "-created_at")


# --- the opportunity list: filters, sort, saved views, bulk actions ---------------------------


def opportunity_list_params(params, *, user):
    """The list's query string as its FilterSet reads it: owner "me" is the user; open deals
    unless an outcome is asked for ("all": any outcome)."""
    data = params.copy()
    if data.get("owner") == "me":
        data["owner"] = str(user.pk)
    if "outcome" not in data:
        data["outcome"] = Opportunity.Outcome.OPEN
    elif data.get("outcome") == "all":
        data.pop("outcome")
    return data


def opportunity_list_filtered(*, user, params) -> OpportunityListFilter:
    """The list's FilterSet over the deals `user` may see: newest first unless ?sort= names a
    column. The page, the CSV export and the saved views all read through it."""
    queryset = opportunity_list(user=user).order_by(*opportunity_ordering(None))
    return OpportunityListFilter(opportunity_list_params(params, user=user), queryset=queryset)


# What the CSV export writes of each deal: plain values, no model instances (an export of
# thousands of rows spends its time building objects otherwise).
EXPORT_FIELDS = (
    "pk",
    "name",
    "account__name",
    "process__name",
    "stage__name",
    "outcome",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
    "account_executive__first_name",
    "account_executive__last_name",
    "account_executive__username",
    "team__name",
    "amount",
    "currency",
    "product",
    "use_case",
    "source",
    "expected_close_date",
    "created_at",
    "closed_at",
    "loss_reason",
)


def opportunity_export_rows(queryset: QuerySet[Opportunity]):
    """The rows of a filtered, sorted list as dicts of EXPORT_FIELDS, read in chunks (a
    server-side cursor on PostgreSQL): one query, whatever the length."""
    return queryset.values(*EXPORT_FIELDS).iterator(chunk_size=2000)


def list_processes_with_stages() -> list[Process]:
    """The active processes with their stages in order: the process filter and the stages a
    bulk move offers."""
    stages = Prefetch("stages", queryset=Stage.objects.order_by("position", "pk"))
    return list(active_processes().prefetch_related(stages))


def stage_with_process(*, pk) -> Stage | None:
    if pk is None:
        return None
    return Stage.objects.select_related("process").filter(pk=pk).first()


def opportunities_by_ids(*, user, ids) -> dict[int, Opportunity]:
    """The deals among `ids` that `user` may see (the others are simply absent)."""
    return {deal.pk: deal for deal in opportunity_list(user=user).filter(pk__in=list(ids))}


def active_user(*, pk) -> object | None:
    if pk is None:
        return None
    return get_user_model().objects.filter(pk=pk, is_active=True).first()


def saved_view_list(*, user) -> list[SavedView]:
    return list(SavedView.objects.filter(user=user).order_by("name", "pk"))


def saved_view_get(*, user, pk) -> SavedView | None:
    """One of `user`'s own views; another user's is None (a 404), as if it did not exist."""
    if pk is None:
        return None
    return SavedView.objects.filter(user=user, pk=pk).first()
