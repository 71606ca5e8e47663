"""Ids from text (query strings, form values): ASCII digits within a 64-bit integer, or None.

`str.isdigit()` is not the test: it is true for "²" and "١٢", which `int()` then refuses or reads
as another number, and for 30-digit strings that no database column holds. Everything that reads
an id from a request goes through `parse_id`, so bad input is "no such thing", never a 500.
"""

import re

_ID = re.compile(r"[0-9]{1,19}")
MAX_ID = 2**63 - 1


def parse_id(value) -> int | None:
    text = "" if value is None else str(value).strip()
    if not _ID.fullmatch(text):
        return None
    number = int(text)
    return number if number <= MAX_ID else None
