"""CSV that spreadsheets open safely: text a spreadsheet would run as a formula is quoted, and a
long export is written row by row (streamed) instead of built in memory."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

# A cell that starts with one of these is a formula to Excel, LibreOffice and Google Sheets
# (a deal or a person named "=HYPERLINK(...)"); tab and carriage return start one in some.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value):
    """Text a spreadsheet must not run as a formula: prefixed with a quote, which the
    spreadsheet shows as text. Anything that is not text (numbers, dates) is left alone."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write hands the line back, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text of `header` and `rows`, one line at a time (for a StreamingHttpResponse).
    Rows are written as given: guard text cells with `csv_text` when building them."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield writer.writerow(list(header))
    for row in rows:
        yield writer.writerow(list(row))
