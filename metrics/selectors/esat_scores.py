"""ESAT: the answers to the satisfaction survey received in the period, overall and per stage."""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from metrics.cache import cached
from metrics.selectors.scope import Scope, opportunity_ids
from opportunities.measures import ratio
from opportunities.models import EsatResponse


@cached("esat")
def esat(*, scope: Scope) -> dict:
    """Mean score and share of 4–5 answers among the answers received in the period, overall
    and per stage."""
    rows = list(
        EsatResponse.objects.filter(opportunity__in=opportunity_ids(scope))
        .filter(scope.period.q("received_at"))
        .values("stage", "stage__name", "stage__position")
        .annotate(
            answers=Count("pk"),
            score_total=Coalesce(Sum("score"), 0),
            satisfied=Count("pk", filter=Q(score__gte=4)),
        )
        .order_by("stage__position", "stage")
    )
    answers = sum(row["answers"] for row in rows)
    total = sum(row["score_total"] for row in rows)
    satisfied = sum(row["satisfied"] for row in rows)
    return {
        "answers": answers,
        "mean_score": ratio(total, answers),
        "satisfied_share": ratio(satisfied, answers),
        "stages": [
            {
                "stage_id": row["stage"],
                "name": row["stage__name"] or "No stage",
                "answers": row["answers"],
                "mean_score": ratio(row["score_total"], row["answers"]),
                "satisfied_share": ratio(row["satisfied"], row["answers"]),
            }
            for row in rows
        ],
    }
