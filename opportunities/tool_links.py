"""Where a stage's tool opens on one deal's page: the tool's own address, unless an app that
knows the deal's place in that tool registered a better one (the Google Drive sync: the deal's
folder). Apps register by tool slug in their AppConfig.ready, so this app imports none of them.
A link maker must not query the database: the deal page's query budget is fixed.
"""

from __future__ import annotations

from collections.abc import Callable

from opportunities.models import Opportunity
from stages.models import Tool

LinkMaker = Callable[[Tool, Opportunity], str]  # the deal's address in the tool, or ""

_makers: dict[str, LinkMaker] = {}


def register(slug: str, maker: LinkMaker) -> None:
    """Registering a slug again replaces its maker (tests reload apps)."""
    _makers[slug] = maker


def tool_url(tool: Tool, opportunity: Opportunity) -> str:
    maker = _makers.get(tool.slug)
    return (maker(tool, opportunity) if maker is not None else "") or tool.url
