from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from opportunities import selectors
from stages.selectors import process_list


@require_safe
@login_required
def home(request):
    """Landing page until the stage board arrives: the user's open deals per process."""
    opportunities = (
        selectors.opportunity_list(user=request.user)
        .filter(outcome="open")
        .order_by("-stage_entered_at")[:25]
    )
    return render(
        request,
        "opportunities/home.html",
        {"opportunities": opportunities, "processes": process_list().filter(status="active")},
    )
