"""Loading built-in content (catalog entries, tools, process templates, demo data) on every
start without undoing what people did since.

Each loader describes what it ships as entries with a natural key and their content; `builtin_sync`
compares them with the ledger (`BuiltinRecord`) and the database:

- never recorded, not in the database → created and recorded;
- never recorded, already in the database (made by hand, or loaded before the ledger existed)
  → left as it is and recorded;
- recorded, gone from the database → deleted by someone: stays deleted;
- recorded and there → left as it is; when the shipped content changed since, the newer version
  is offered (`available_digest`) and applied only by a person who curates it.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction

from epos.models import BuiltinRecord


@dataclass(frozen=True)
class Shipped:
    key: str
    content: dict

    @property
    def digest(self) -> str:
        return content_digest(self.content)


def content_digest(content) -> str:
    encoded = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    kept_deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    update_available: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{len(self.created)} created",
            f"{len(self.unchanged) + len(self.adopted)} kept as they are",
        ]
        if self.kept_deleted:
            parts.append(f"{len(self.kept_deleted)} deleted by people and left deleted")
        if self.update_available:
            parts.append(f"{len(self.update_available)} with a newer built-in version to review")
        return ", ".join(parts)


def builtin_sync(
    *,
    source: str,
    shipped: Sequence[Shipped],
    existing_keys: Callable[[list[str]], Iterable[str]],
    create: Callable[[Shipped], bool],
) -> SyncReport:
    """Create what is missing and never recorded; record everything; overwrite nothing.

    `existing_keys(keys)` says which keys are in the database; `create(entry)` creates one entry
    and returns False when it could not (e.g. a link whose challenge was deleted), in which case
    the entry is not recorded and a later run tries again.
    """
    report = SyncReport()
    with transaction.atomic():
        # Locked so two containers starting together load once.
        records = {
            record.key: record
            for record in BuiltinRecord.objects.select_for_update().filter(source=source)
        }
        present = set(existing_keys([entry.key for entry in shipped]))
        for entry in shipped:
            record = records.get(entry.key)
            if record is None:
                if entry.key in present:
                    report.adopted.append(entry.key)
                elif create(entry):
                    report.created.append(entry.key)
                else:
                    continue
                BuiltinRecord.objects.create(source=source, key=entry.key, digest=entry.digest)
            elif entry.key not in present:
                report.kept_deleted.append(entry.key)
            elif record.digest == entry.digest:
                if record.available_digest:
                    record.available_digest = ""  # the shipped content went back to the loaded one
                    record.save(update_fields=["available_digest", "updated_at"])
                report.unchanged.append(entry.key)
            else:
                if record.available_digest != entry.digest:
                    record.available_digest = entry.digest
                    record.save(update_fields=["available_digest", "updated_at"])
                report.update_available.append(entry.key)
    return report


def builtin_updates_available(*sources: str) -> set[tuple[str, str]]:
    """(source, key) of the entries with a newer shipped version waiting, in one query."""
    return set(
        BuiltinRecord.objects.filter(source__in=sources)
        .exclude(available_digest="")
        .values_list("source", "key")
    )


def builtin_mark_applied(*, source: str, key: str, digest: str) -> None:
    BuiltinRecord.objects.filter(source=source, key=key).update(digest=digest, available_digest="")
