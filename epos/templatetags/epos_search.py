"""Template filters of the global search."""

import re

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.filter
def highlight(value, text):
    """`value` escaped, with each occurrence of `text` (any case) in <mark>: what matched."""
    value = str(value)
    if not text:
        return format_html("{}", value)
    pieces, last = [], 0
    for found in re.finditer(re.escape(str(text)), value, flags=re.IGNORECASE):
        pieces.append((value[last : found.start()], found.group()))
        last = found.end()
    return format_html_join("", "{}<mark>{}</mark>", pieces) + format_html("{}", value[last:])
