"""Small filters of the /integrations/ page."""

from django import template

register = template.Library()


@register.filter
def sync_row(row) -> str:
    """Where a run's problem is: "Line 3" of a file, or the record an API named."""
    if isinstance(row, int) and not isinstance(row, bool):
        return f"Line {row}"
    return str(row)
