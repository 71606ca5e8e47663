"""The deal page's tool links (opportunities.tool_links)."""

from django import template

from opportunities import tool_links

register = template.Library()


@register.filter
def tool_url(tool, opportunity) -> str:
    """{{ tool|tool_url:opportunity }}: where the tool opens for this deal."""
    return tool_links.tool_url(tool, opportunity)
