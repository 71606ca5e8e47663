"""Template helpers of the building-block pages and of the opportunity-page panel.

{% load blocks %}
{% recommended_blocks opportunity %}   one query
{% discovery_panel opportunity %}      two queries
"""

from django import template
from django.utils import timezone

from building_blocks import permissions, selectors
from building_blocks.models import BuildingBlock, DiscoveryLink
from epos.lib.markdown import render_markdown
from opportunities.permissions import can_edit_opportunity

register = template.Library()

# The project's one markdown policy (epos.lib.markdown), under the name these templates use.
register.filter("markdown", render_markdown)


@register.filter
def review_state(block: BuildingBlock) -> str:
    """ "overdue", "soon" (within 30 days) or "" for a published block's review date."""
    if block.status != BuildingBlock.Status.PUBLISHED or block.review_due is None:
        return ""
    days = (block.review_due - timezone.localdate()).days
    if days < 0:
        return "overdue"
    return "soon" if days <= 30 else ""


# The registry that turns log codes into timeline text.
EVENT_LABELS = {
    "block.created": "Created",
    "block.edited": "Edited",
    "block.restored": "Restored an older version",
    "block.submitted": "Submitted for review",
    "block.published": "Approved and published",
    "block.sent_back": "Sent back to the author",
    "block.archived": "Archived",
    "block.unarchived": "Brought back as a draft",
    "block.reviewed": "Confirmed still accurate",
    "block.used": "Used in a deal",
    # The curators' editors (building_blocks/curation/services.py).
    "catalog.challenge_created": "Added a business challenge to the catalog",
    "catalog.challenge_edited": "Edited a business challenge",
    "catalog.challenge_deleted": "Deleted a business challenge",
    "catalog.need_created": "Added a technical need to the catalog",
    "catalog.need_edited": "Edited a technical need",
    "catalog.need_deleted": "Deleted a technical need",
    "catalog.link_created": "Linked a challenge to a need",
    "catalog.link_edited": "Edited a challenge → need link",
    "catalog.link_deleted": "Removed a challenge → need link",
    "training.path_created": "Created a training path",
    "training.path_edited": "Edited a training path",
    "training.step_added": "Added to a training path",
    "training.step_edited": "Edited a training step's note",
    "training.step_moved": "Moved a training step",
    "training.step_removed": "Removed from a training path",
}


@register.filter
def event_label(code: str) -> str:
    return EVENT_LABELS.get(code, code)


@register.filter
def percent(value) -> str:
    return "–" if value is None else f"{value * 100:.0f} %"


@register.filter
def days(value) -> str:
    return "–" if value is None else f"{value:.1f} d"


@register.filter
def signed_days(value) -> str:
    return "" if value is None else f"{value:+.1f} d"


@register.filter
def signed_points(value) -> str:
    return "" if value is None else f"{value * 100:+.0f} pts"


@register.simple_tag
def user_can_curate(user) -> bool:
    return user is not None and permissions.can_curate(user)


def _panel_context(context, opportunity) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    next_url = ""
    if request is not None:
        htmx = getattr(request, "htmx", None)
        # After an htmx refresh the request is the action's URL; the page is the one in the bar.
        next_url = (htmx.current_url_abs_path if htmx else None) or request.get_full_path()
    return {
        "opportunity": opportunity,
        "request": request,
        "user": user,
        "can_edit": user is not None and can_edit_opportunity(user, opportunity),
        "next_url": next_url,
    }


@register.inclusion_tag("building_blocks/partials/_recommended.html", takes_context=True)
def recommended_blocks(context, opportunity, limit=5):
    data = _panel_context(context, opportunity)
    data["recommendations"] = selectors.recommended_blocks(opportunity=opportunity, limit=limit)
    data["can_curate"] = data["user"] is not None and permissions.can_curate(data["user"])
    return data


@register.inclusion_tag("building_blocks/partials/_discovery.html", takes_context=True)
def discovery_panel(context, opportunity):
    data = _panel_context(context, opportunity)
    data["discovery"] = selectors.discovery_panel(opportunity=opportunity)
    data["priorities"] = DiscoveryLink.Priority.choices
    return data
