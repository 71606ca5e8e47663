"""The dashboard's filter choices: the processes and teams it offers, and its default process."""

from __future__ import annotations

from django.core.cache import cache as django_cache
from django.db.models import Count, QuerySet

from metrics.cache import cache_seconds
from opportunities import permissions as opportunity_permissions
from opportunities.models import Team
from opportunities.selectors import opportunity_list
from stages.models import Process


def dashboard_processes() -> QuerySet[Process]:
    return Process.objects.exclude(status=Process.Status.DRAFT).order_by("name", "-version")


def dashboard_teams(user) -> QuerySet[Team]:
    teams = Team.objects.order_by("name")
    if opportunity_permissions.opportunity_visibility_q(user) is None:
        return teams
    return teams.filter(pk__in=list(opportunity_permissions.visible_team_ids(user)))


def busiest_process(*, user) -> Process | None:
    """The default process of the dashboard: the one with the most deals the user can see.

    Only a default, so it is remembered for the cache's time limit without a generation.
    """
    sees_everything = opportunity_permissions.opportunity_visibility_q(user) is None
    key = f"metrics:busiest-process:{'everything' if sees_everything else user.pk}"
    seconds = cache_seconds()
    process_id = django_cache.get(key) if seconds else None
    if process_id is None:
        row = (
            opportunity_list(user=user)
            .order_by()
            .values("process")
            .annotate(deals=Count("pk"))
            .order_by("-deals", "process")
            .first()
        )
        process_id = row["process"] if row else 0
        if seconds:
            django_cache.set(key, process_id, seconds)
    if not process_id:
        return dashboard_processes().filter(status=Process.Status.ACTIVE).first()
    return Process.objects.filter(pk=process_id).first()
