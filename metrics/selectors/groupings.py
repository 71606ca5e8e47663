"""The groupings of a grouped summary (owner, team, product, use case, segment, source, process,
month closed): what keys a group, how it is labelled and sorted. `summary_by` and `summary_sets`
group by them; a drill-down lists the deals of one group."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import F
from django.db.models.functions import TruncMonth

from metrics.selectors.common import full_name
from opportunities.models import Account, Opportunity, Team
from stages.models import Process


@dataclass(frozen=True)
class Grouping:
    name: str
    title: str
    key: object  # a field path or an expression, annotated as "group_key"
    label_fields: tuple[str, ...] = ()
    choices: Mapping | None = None
    empty_label: str = "—"
    # Groupings of one family take few values together (an owner has one team; products,
    # use cases, segments and sources are short lists): `summary_sets` aggregates the deals
    # once per family, on all its keys, and adds the rows up per grouping. Empty: its own.
    family: str = ""

    def expression(self):
        return F(self.key) if isinstance(self.key, str) else self.key

    def label(self, row: Mapping) -> str:
        key = row["group_key"]
        if key in (None, ""):
            return self.empty_label
        if self.name == "owner":
            return full_name(row, "owner")
        if self.name == "team":
            return row["team__name"]
        if self.name == "process":
            return f"{row['process__name']} v{row['process__version']}"
        if self.name == "month":
            return key.strftime("%Y-%m")
        if self.choices is not None:
            return str(self.choices.get(key, key))
        return str(key)

    def output_key(self, key):
        if self.name == "month" and key is not None:
            return key.strftime("%Y-%m")
        return key


GROUPINGS: dict[str, Grouping] = {
    grouping.name: grouping
    for grouping in (
        Grouping(
            "owner",
            "Owner",
            "owner_id",
            ("owner__first_name", "owner__last_name", "owner__username"),
            empty_label="No owner",
            family="people",
        ),
        Grouping(
            "team", "Team", "team_id", ("team__name",), empty_label="No team", family="people"
        ),
        Grouping("product", "Product", "product", empty_label="No product", family="kind"),
        Grouping(
            "use_case",
            "Use case",
            "use_case",
            choices=dict(Opportunity.UseCase.choices),
            empty_label="No use case",
            family="kind",
        ),
        Grouping(
            "segment",
            "Segment",
            "account__segment",
            choices=dict(Account.Segment.choices),
            empty_label="No segment",
            family="kind",
        ),
        Grouping(
            "source",
            "Source",
            "source",
            choices=dict(Opportunity.Source.choices),
            empty_label="No source",
            family="kind",
        ),
        Grouping(
            "process",
            "Process",
            "process_id",
            ("process__name", "process__version"),
            empty_label="",
        ),
        Grouping("month", "Month closed", TruncMonth("closed_at"), empty_label="Open"),
    )
}
API_GROUPINGS = ("owner", "team", "product", "use_case", "segment", "month")


def sort_groups(grouping: Grouping, groups: list[dict]) -> list[dict]:
    """Months in order (open deals last), other groups by label (the empty group last)."""
    if grouping.name == "month":
        groups.sort(key=lambda group: (group["key"] is None, group["key"] or ""))
    else:
        groups.sort(key=lambda group: (group["key"] in (None, ""), group["label"].lower()))
    return groups


def group_labels(keys: dict[str, list]) -> dict[tuple[str, object], dict]:
    """The label fields of owner, team and process groups, one query each:
    {(grouping, key): fields}."""
    labels = {}
    owners = [key for key in keys.get("owner", ()) if key is not None]
    if owners:
        for user in (
            get_user_model()
            .objects.filter(pk__in=owners)
            .values("pk", "first_name", "last_name", "username")
        ):
            labels[("owner", user["pk"])] = {
                f"owner__{field}": user[field] for field in ("first_name", "last_name", "username")
            }
    teams = [key for key in keys.get("team", ()) if key is not None]
    if teams:
        for team in Team.objects.filter(pk__in=teams).values("pk", "name"):
            labels[("team", team["pk"])] = {"team__name": team["name"]}
    processes = [key for key in keys.get("process", ()) if key is not None]
    if processes:
        for process in Process.objects.filter(pk__in=processes).values("pk", "name", "version"):
            labels[("process", process["pk"])] = {
                "process__name": process["name"],
                "process__version": process["version"],
            }
    return labels
