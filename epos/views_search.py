"""The top bar's search: the suggestions as the user types (htmx) and the page behind Enter."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from epos.lib.roles import user_roles
from epos.search import (
    MAX_LENGTH,
    MIN_LENGTH,
    RESULTS_PER_GROUP,
    SUGGESTIONS_PER_GROUP,
    clean_search_text,
    global_search,
)

PAGE_TEMPLATE = "epos/search.html"
SUGGESTIONS_TEMPLATE = "epos/partials/_search_suggestions.html"


@require_safe
@login_required
@vary_on_headers("HX-Request")
def search(request):
    if not user_roles(request.user):
        raise PermissionDenied("Your account has no EPOS role; ask an admin to assign one.")
    raw = request.GET.get("q", "")
    query = clean_search_text(raw)
    suggestions = bool(request.htmx) and not request.htmx.boosted
    limit = SUGGESTIONS_PER_GROUP if suggestions else RESULTS_PER_GROUP
    groups = [
        result
        for result in global_search(user=request.user, text=query.text, limit=limit)
        if result.hits
    ]
    context = {
        "q": raw.strip()[:MAX_LENGTH],
        "query": query,
        "groups": groups,
        "hit_count": sum(len(result.hits) for result in groups),
        "min_length": MIN_LENGTH,
        "max_length": MAX_LENGTH,
    }
    return render(
        request,
        SUGGESTIONS_TEMPLATE if suggestions else PAGE_TEMPLATE,
        context,
        status=400 if query.too_long else 200,
    )
