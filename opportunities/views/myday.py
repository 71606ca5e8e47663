"""My day: the home page's panel of what needs doing (a fragment loaded after the board), and
the same on a page of its own."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from opportunities.myday import my_day as my_day_of
from opportunities.views.common import require_role


@require_safe
@login_required
@vary_on_headers("HX-Request")
def my_day(request):
    """An SA's late deals, open required items and next meetings; a curator's review queue
    (a slot the building-block app fills)."""
    require_role(request)
    context = {"day": my_day_of(user=request.user, now=timezone.now())}
    template = "opportunities/my_day.html"
    if request.htmx:
        template = "opportunities/partials/_my_day.html"
    return render(request, template, context)
