"""The read-only `PresalesSource` port: what every Vivun adapter yields, and how it fails."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class SourceError(Exception):
    """The source cannot be read as configured (wrong path, bad credentials, bad settings).

    The run fails as a whole, nothing it read is kept, and the connection needs attention.
    """


class TransientSourceError(SourceError):
    """Worth trying again later: a network error, a 5xx, a 429."""


@dataclass(frozen=True)
class ActivityRow:
    line: int | str  # the line of a file, or the record of an API ("vh__Activity__c a0B…")
    external_id: str
    opportunity_ref: str
    epos_opportunity_id: int | None
    kind: str
    occurred_at: datetime
    duration_minutes: int | None
    summary: str
    sa_email: str
    url: str = ""  # the record in Vivun


@dataclass(frozen=True)
class ProductGapRow:
    line: int | str
    external_id: str
    opportunity_ref: str
    epos_opportunity_id: int | None
    title: str
    description: str
    severity: str
    status: str
    sa_email: str = ""
    url: str = ""


@dataclass(frozen=True)
class DeliverableRow:
    """A deliverable made for a deal (a POC report, a technical win document): evidence for the
    stage item that asks for it (the `deliverable.synced` event)."""

    line: int | str
    external_id: str
    opportunity_ref: str
    epos_opportunity_id: int | None
    deliverable_type: str
    name: str
    status: str  # "open" or "done"
    occurred_at: datetime | None  # when it was completed, when the source says
    sa_email: str = ""
    url: str = ""


@dataclass(frozen=True)
class RowProblem:
    """A row the adapter could not read; reported with its line, never written."""

    line: int | str
    reason: str


SourceItem = ActivityRow | ProductGapRow | DeliverableRow | RowProblem


class PresalesSource(Protocol):
    def check(self) -> str:
        """Try the connection; a plain-words result, or SourceError."""

    def read(self, cursor: str) -> Iterator[SourceItem]:
        """Every item changed since `cursor`, streamed."""

    def cursor_after(self) -> str:
        """Where the next run starts; valid once `read` is exhausted."""
