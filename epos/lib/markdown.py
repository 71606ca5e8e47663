"""The one markdown policy of EPOS: every text people write (stage guidance, account context,
block bodies, previews) is rendered and sanitised here, the same way.

- Only harmless tags survive: no script, style, iframe, form or event attribute.
- Headings start at h2 (the page owns h1); a `#` heading is shown as h2.
- Links may be http, https or mailto, and carry rel="noopener noreferrer nofollow".
- Images only from EPOS itself (a path such as /media/…): a remote image would tell its server
  who read the text and when (a tracking pixel), so it is dropped.
- Rendering takes time linear in the text: cmark-gfm (GitHub's C implementation of CommonMark
  with tables, strikethrough and autolinks) has no pathological inputs, where a pure-Python
  parser took minutes on 50,000 "[" and held a web worker past its timeout.
"""

import re

import cmarkgfm
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead",
    "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "img": {"src", "alt", "title"}}
# Quotes nested deeper than this are flattened: no text needs more, and the sanitiser's time grows
# steeply with the depth of the HTML tree (100,000 ">" took 24 s).
MAX_QUOTE_DEPTH = 8
_DEEP_QUOTE = re.compile(rf"^((?:[ \t]*>){{{MAX_QUOTE_DEPTH}}})(?:[ \t]*>)+", flags=re.MULTILINE)
_SOURCELESS_IMAGE = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")


def _is_local(url: str) -> bool:
    return url.startswith("/") and not url.startswith("//") and "\\" not in url


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not _is_local(value.strip()):
        return None
    return value


def _demote_h1(html: str) -> str:
    return html.replace("<h1>", "<h2>").replace("<h1 ", "<h2 ").replace("</h1>", "</h2>")


def render_markdown(text: str | None) -> SafeString:
    if not text:
        return mark_safe("")  # noqa: S308 - empty
    # Safe mode (the default): raw HTML in the source is left out, not passed through.
    html = cmarkgfm.github_flavored_markdown_to_html(_DEEP_QUOTE.sub(r"\1", str(text)))
    cleaned = nh3.clean(
        _demote_h1(html),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    # An image whose remote source was dropped is no image at all.
    cleaned = _SOURCELESS_IMAGE.sub("", cleaned)
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above
