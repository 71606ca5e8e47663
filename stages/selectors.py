from django.db.models import Prefetch, QuerySet

from stages.models import Process, Stage, StageItem


def process_list() -> QuerySet[Process]:
    stages = Stage.objects.order_by("position").prefetch_related(
        Prefetch("items", queryset=StageItem.objects.order_by("position", "pk")), "tools"
    )
    return Process.objects.prefetch_related(Prefetch("stages", queryset=stages)).order_by(
        "name", "-version"
    )


def process_active_by_slug(slug: str) -> Process | None:
    return (
        Process.objects.filter(slug=slug, status=Process.Status.ACTIVE).order_by("-version").first()
    )


def stage_first_open(process: Process) -> Stage | None:
    return process.stages.filter(kind=Stage.Kind.OPEN).order_by("position").first()
