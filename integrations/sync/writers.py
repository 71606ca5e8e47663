"""Upserts of what a `PresalesSource` yields into the opportunities app, in batches.

Activities and product gaps are keyed on `ExternalRef(system="vivun", kind=..., external_id=...)`:
a row seen before updates the record it made (or leaves it alone when nothing changed), a new one
creates it. Batches go through `bulk_create` / `bulk_update` rather than the one-row services,
because an export has tens of thousands of rows; each row is validated by the adapter first, so
what is written here is what `activity_record` / `product_gap_create` would accept.

Beside each record a `SyncedItem` keeps where it came from and the link back to it, for the
deal's timeline. Deliverables live only there; a finished one, new or changed, is announced as
`deliverable.synced` evidence (opportunities.automation completes the stage item asking for it),
in the run's transaction, so a failed run announces nothing.

Deals are found by the Salesforce (or other CRM) id that imports recorded as
`ExternalRef(kind="opportunity")`, or by an explicit EPOS id; a row naming neither is reported,
never attached to a guessed deal. The SA of a row is the user whose email matches the row's
(case-insensitive); an email no one has is reported and the row written without a person.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from epos.models import ExternalRef
from integrations.models import SyncedItem
from integrations.sync.ports import ActivityRow, DeliverableRow, ProductGapRow, RowProblem
from opportunities.models import Activity, Opportunity, ProductGap
from opportunities.services import evidence_publish

SYSTEM = "vivun"
BATCH = 2000
MAX_REPORTED_ERRORS = 500
EVIDENCE_TOPIC = "deliverable.synced"


@dataclass
class Outcome:
    counts: dict = field(
        default_factory=lambda: dict.fromkeys(
            ("created", "updated", "unchanged", "skipped", "failed"), 0
        )
    )
    errors: list = field(default_factory=list)
    unreported: int = 0

    def report(self, row, reason: str) -> None:
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"row": row, "reason": reason})
        else:
            self.unreported += 1

    def fail(self, row, reason: str) -> None:
        self.counts["failed"] += 1
        self.report(row, reason)

    def close(self) -> "Outcome":
        if self.unreported:
            self.errors.append({"row": "…", "reason": f"and {self.unreported} more rows"})
            self.unreported = 0
        return self


@dataclass(frozen=True)
class RecordKind:
    """How rows of one kind become records of one model."""

    ref_kind: str  # ExternalRef.kind and SyncedItem.kind
    model: type
    fields: Callable  # (row, deal_id, person_id) → the model's values, in `field_names` order
    field_names: tuple[str, ...]
    link: Callable  # (row, created_at) → the SyncedItem's title, detail, status, occurred_at
    always_link: bool  # keep a SyncedItem even without a URL (gaps: to say where they came from)


def _activity_fields(row: ActivityRow, deal_id: int, person_id) -> dict:
    return {
        "opportunity_id": deal_id,
        "kind": row.kind,
        "occurred_at": row.occurred_at,
        "duration_minutes": row.duration_minutes,
        "summary": row.summary,
        "created_by_id": person_id,
    }


def _activity_link(row: ActivityRow, created_at) -> dict:
    return {"title": "", "detail": "", "status": "", "occurred_at": row.occurred_at}


def _gap_fields(row: ProductGapRow, deal_id: int, person_id) -> dict:
    return {
        "opportunity_id": deal_id,
        "title": row.title,
        "description": row.description,
        "severity": row.severity,
        "status": row.status,
        "created_by_id": person_id,
    }


SEVERITY_LABELS = dict(ProductGap.Severity.choices)


def _gap_link(row: ProductGapRow, created_at) -> dict:
    return {
        "title": row.title,
        "detail": SEVERITY_LABELS[row.severity],
        "status": row.status,
        "occurred_at": created_at,
    }


ACTIVITIES = RecordKind(
    ref_kind="activity",
    model=Activity,
    fields=_activity_fields,
    field_names=(
        "opportunity_id",
        "kind",
        "occurred_at",
        "duration_minutes",
        "summary",
        "created_by_id",
    ),
    link=_activity_link,
    always_link=False,
)
PRODUCT_GAPS = RecordKind(
    ref_kind="product_gap",
    model=ProductGap,
    fields=_gap_fields,
    field_names=("opportunity_id", "title", "description", "severity", "status", "created_by_id"),
    link=_gap_link,
    always_link=True,
)
NO_PERSON = object()  # the row names no SA: an existing record keeps the one it has
LINK_FIELDS = (
    "opportunity_id",
    "object_id",
    "title",
    "detail",
    "status",
    "url",
    "person_id",
    "occurred_at",
)


@dataclass(frozen=True)
class Known:
    """A record a row was synced into before: its ExternalRef (None when adopted) and values."""

    ref_pk: int | None
    pk: int  # 0: its record was deleted in EPOS since
    values: tuple  # in the kind's `field_names` order
    created_at: object = None


@dataclass
class _Changes:
    """What one batch of one kind of record will write."""

    saved: dict = field(default_factory=dict)  # external_id → (pk, person_id, created_at)
    new: dict = field(default_factory=dict)  # external_id → the record to create
    new_refs: list = field(default_factory=list)
    stale_refs: list = field(default_factory=list)  # refs whose record was deleted in EPOS
    changed: list = field(default_factory=list)


class VivunWriter:
    def __init__(self, connection=None):
        self.connection_id = connection.pk if connection is not None else None
        self.outcome = Outcome()
        self.content_types = ContentType.objects.get_for_models(Activity, ProductGap, Opportunity)
        self._people: dict[str, int | None] | None = None

    def write_all(self, items) -> Outcome:
        batch: list = []
        for item in items:
            if isinstance(item, RowProblem):
                self.outcome.fail(item.line, item.reason)
                continue
            batch.append(item)
            if len(batch) >= BATCH:
                self._write(batch)
                batch = []
        if batch:
            self._write(batch)
        return self.outcome.close()

    # --- a batch ------------------------------------------------------------------------------

    def _write(self, batch: list) -> None:
        deals = self._deals(batch)
        by_type: dict[type, list] = {ActivityRow: [], ProductGapRow: [], DeliverableRow: []}
        for row in batch:
            deal_id = self._deal_of(row, deals)
            if deal_id is not None:
                by_type[type(row)].append((row, deal_id))
        if by_type[ActivityRow]:
            self._upsert(by_type[ActivityRow], ACTIVITIES)
        if by_type[ProductGapRow]:
            self._upsert(by_type[ProductGapRow], PRODUCT_GAPS)
        if by_type[DeliverableRow]:
            self._upsert_deliverables(by_type[DeliverableRow])

    def _deal_of(self, row, deals: dict[str, int]) -> int | None:
        deal_id = deals.get(row.opportunity_ref) if row.opportunity_ref else None
        if row.epos_opportunity_id is not None:
            deal_id = deals.get(f"pk:{row.epos_opportunity_id}")
        if deal_id is None:
            named = (
                f"EPOS id {row.epos_opportunity_id}"
                if row.epos_opportunity_id is not None
                else f"Opportunity ID {row.opportunity_ref!r}"
            )
            self.outcome.fail(row.line, f"no deal in EPOS matches {named}")
        return deal_id

    def _deals(self, batch: list) -> dict[str, int]:
        """Opportunity refs (and "pk:<id>") of the batch → deal ids; ambiguous refs are left out."""
        refs = {row.opportunity_ref for row in batch if row.opportunity_ref}
        found: dict[str, set[int]] = {}
        if refs:
            for external_id, object_id in ExternalRef.objects.filter(
                kind="opportunity",
                content_type=self.content_types[Opportunity],
                external_id__in=refs,
            ).values_list("external_id", "object_id"):
                found.setdefault(external_id, set()).add(object_id)
        deals = {ref: ids.pop() for ref, ids in found.items() if len(ids) == 1}
        pks = {row.epos_opportunity_id for row in batch if row.epos_opportunity_id is not None}
        if pks:
            for pk in Opportunity.objects.filter(pk__in=pks).values_list("pk", flat=True):
                deals[f"pk:{pk}"] = pk
        return deals

    # --- people -------------------------------------------------------------------------------

    def _person(self, row):
        """The user whose email is the row's (NO_PERSON when the row names none)."""
        email = row.sa_email.strip().lower()
        if not email:
            return NO_PERSON
        if self._people is None:
            self._people = {}
            for address, pk in (
                get_user_model().objects.exclude(email="").values_list("email", "pk")
            ):
                key = address.strip().lower()
                # Two accounts with one address: neither is guessed.
                self._people[key] = None if key in self._people else pk
        person = self._people.get(email)
        if person is None:
            if email in self._people:
                reason = f"the email {row.sa_email!r} belongs to several EPOS users"
            else:
                reason = f"no EPOS user has the email {row.sa_email!r}"
            self.outcome.report(row.line, f"{reason}; written without an SA")
        return person

    # --- activities and product gaps ----------------------------------------------------------

    def _unique(self, pairs: list) -> dict[str, tuple]:
        """external_id → (row, deal_id); a repeated ID is reported, the first row kept."""
        by_id: dict[str, tuple] = {}
        for row, deal_id in pairs:
            if row.external_id in by_id:
                first = by_id[row.external_id][0]
                self.outcome.fail(row.line, f"same ID as line {first.line}; the first one is kept")
                continue
            by_id[row.external_id] = (row, deal_id)
        return by_id

    def _known(self, kind: RecordKind, external_ids) -> dict[str, Known]:
        """The records rows of this batch were synced into before, read as plain values."""
        refs = {
            external_id: (ref_pk, object_id)
            for external_id, ref_pk, object_id in ExternalRef.objects.filter(
                system=SYSTEM, kind=kind.ref_kind, external_id__in=external_ids
            ).values_list("external_id", "pk", "object_id")
        }
        if kind.model is Activity:
            # An activity Zapier or the API recorded as Vivun's, before any sync linked it.
            for external_id, pk in Activity.objects.filter(
                source=Activity.Source.VIVUN, external_id__in=set(external_ids) - set(refs)
            ).values_list("external_id", "pk"):
                refs[external_id] = (None, pk)
        extra = ("created_at",) if kind.model is ProductGap else ()
        rows = {
            values[0]: values[1:]
            for values in kind.model.objects.filter(
                pk__in=[object_id for _ref, object_id in refs.values()]
            ).values_list("pk", *kind.field_names, *extra)
        }
        known = {}
        for external_id, (ref_pk, object_id) in refs.items():
            values = rows.get(object_id)
            if values is None:
                if ref_pk is not None:
                    known[external_id] = Known(ref_pk=ref_pk, pk=0, values=())  # deleted in EPOS
                continue
            created_at = values[len(kind.field_names)] if extra else None
            known[external_id] = Known(
                ref_pk, object_id, values[: len(kind.field_names)], created_at
            )
        return known

    def _new_ref(self, kind: RecordKind, external_id: str, pk=None) -> ExternalRef:
        return ExternalRef(
            system=SYSTEM,
            kind=kind.ref_kind,
            external_id=external_id,
            content_type=self.content_types[kind.model],
            object_id=pk,
        )

    def _values(self, kind: RecordKind, row, deal_id: int, known: Known | None) -> dict:
        person = self._person(row)
        if person is NO_PERSON:
            # The row names no SA: a record keeps the one it has.
            person = known.values[-1] if known is not None and known.pk else None
        return kind.fields(row, deal_id, person)

    def _upsert(self, pairs: list, kind: RecordKind) -> None:
        by_id = self._unique(pairs)
        known = self._known(kind, by_id)
        changes = _Changes()
        for external_id, (row, deal_id) in by_id.items():
            record = known.get(external_id)
            values = self._values(kind, row, deal_id, record)
            if record is None or not record.pk:
                self._plan_new(kind, external_id, values, record, changes)
            else:
                self._plan_update(kind, external_id, values, record, changes)
        self._save(kind, changes)
        self._link(kind, by_id, changes.saved)

    def _plan_new(self, kind: RecordKind, external_id: str, values: dict, known, changes) -> None:
        record = kind.model(**values)
        if kind.model is Activity:
            record.source = Activity.Source.VIVUN
            record.external_id = external_id
        if known is not None:
            changes.stale_refs.append(known.ref_pk)  # the row brings its record back
        changes.new[external_id] = record
        changes.new_refs.append(self._new_ref(kind, external_id))

    def _plan_update(self, kind, external_id: str, values: dict, known: Known, changes) -> None:
        if known.ref_pk is None:
            changes.new_refs.append(self._new_ref(kind, external_id, known.pk))  # adopted
        changes.saved[external_id] = (known.pk, values["created_by_id"], known.created_at)
        if tuple(values.values()) == known.values:
            self.outcome.counts["unchanged"] += 1
            return
        changes.changed.append(kind.model(pk=known.pk, **values))

    def _save(self, kind: RecordKind, changes: _Changes) -> None:
        if changes.stale_refs:
            ExternalRef.objects.filter(pk__in=changes.stale_refs).delete()
        created = kind.model.objects.bulk_create(list(changes.new.values()))
        unlinked = [ref for ref in changes.new_refs if ref.object_id is None]
        for (external_id, record), ref in zip(changes.new.items(), unlinked, strict=True):
            ref.object_id = record.pk
            changes.saved[external_id] = (
                record.pk,
                record.created_by_id,
                getattr(record, "created_at", None),
            )
        ExternalRef.objects.bulk_create(changes.new_refs)
        if changes.changed:
            kind.model.objects.bulk_update(changes.changed, kind.field_names)
        self.outcome.counts["created"] += len(created)
        self.outcome.counts["updated"] += len(changes.changed)

    # --- the links back -----------------------------------------------------------------------

    def _link(self, kind: RecordKind, by_id: dict, saved: dict) -> None:
        """Create or refresh the SyncedItem of each record (a link, not counted as a change)."""
        desired = {}
        for external_id, (row, deal_id) in by_id.items():
            pk, person_id, created_at = saved[external_id]
            desired[external_id] = {
                "opportunity_id": deal_id,
                "object_id": pk,
                "title": "",
                "detail": "",
                "status": "",
                "url": row.url,
                "person_id": person_id,
                **kind.link(row, created_at),
            }
        self._write_items(kind.ref_kind, desired, create_empty=kind.always_link)

    def _write_items(self, kind: str, desired: dict, *, create_empty: bool = True) -> tuple:
        """Upsert SyncedItems of `kind` to `desired` (external_id → values in LINK_FIELDS);
        returns the (created, changed) items."""
        existing = {
            values[0]: values[1:]
            for values in SyncedItem.objects.filter(
                system=SYSTEM, kind=kind, external_id__in=desired
            ).values_list("external_id", "pk", *LINK_FIELDS)
        }
        created, changed = [], []
        now = timezone.now()
        for external_id, values in desired.items():
            current = existing.get(external_id)
            if current is None:
                if create_empty or values["url"]:
                    created.append(self._item(kind, external_id, values))
            elif tuple(values[name] for name in LINK_FIELDS) != current[1:]:
                item = self._item(kind, external_id, values)
                item.pk, item.updated_at = current[0], now
                changed.append(item)
        insert_synced_items(created)
        if changed:
            SyncedItem.objects.bulk_update(changed, [*LINK_FIELDS, "connection", "updated_at"])
        return created, changed

    def _item(self, kind: str, external_id: str, values: dict) -> SyncedItem:
        return SyncedItem(
            system=SYSTEM,
            kind=kind,
            external_id=external_id,
            connection_id=self.connection_id,
            **values,
        )

    # --- deliverables -------------------------------------------------------------------------

    def _upsert_deliverables(self, pairs: list) -> None:
        by_id = self._unique(pairs)
        current = {
            item.external_id: item
            for item in SyncedItem.objects.filter(
                system=SYSTEM, kind=SyncedItem.Kind.DELIVERABLE, external_id__in=by_id
            )
        }
        now = timezone.now()
        desired = {}
        for external_id, (row, deal_id) in by_id.items():
            item = current.get(external_id)
            person = self._person(row)
            if person is NO_PERSON:
                person = item.person_id if item is not None else None
            # A deliverable with no completion date keeps the moment EPOS first saw it.
            occurred_at = row.occurred_at or (item.occurred_at if item is not None else now)
            desired[external_id] = {
                "opportunity_id": deal_id,
                "object_id": None,
                "title": row.name,
                "detail": row.deliverable_type,
                "status": row.status,
                "url": row.url,
                "person_id": person,
                "occurred_at": occurred_at,
            }
        created, changed = self._write_items(SyncedItem.Kind.DELIVERABLE, desired)
        self.outcome.counts["created"] += len(created)
        self.outcome.counts["updated"] += len(changed)
        self.outcome.counts["unchanged"] += len(by_id) - len(created) - len(changed)
        self._announce([item for item in [*created, *changed] if item.status == "done"])

    def _announce(self, items: list) -> None:
        """`deliverable.synced` for each finished deliverable that is new or changed."""
        if not items:
            return
        deals = Opportunity.objects.only("pk", "stage_id").in_bulk(
            {item.opportunity_id for item in items}
        )
        for item in items:
            evidence_publish(
                EVIDENCE_TOPIC,
                deals[item.opportunity_id],
                type=item.detail,
                name=item.title,
                status=item.status,
                evidence_url=item.url,
                external_id=item.external_id,
                source=item.system,
            )


INSERTED_FIELDS = ("system", "kind", "external_id", "connection_id", *LINK_FIELDS, "updated_at")
INSERT_ROWS = 500


def insert_synced_items(items: list[SyncedItem]) -> None:
    """INSERT new SyncedItems, up to INSERT_ROWS a statement: what `bulk_create` does, without
    its preparation of every field of every row, which at tens of thousands of links cost more
    than the database's own work (bench/vivun.py). The values are plain text, numbers and None,
    but for the two dates, which the backend adapts as the ORM would."""
    if not items:
        return
    ops = connection.ops
    adapt = ops.adapt_datetimefield_value
    table = ops.quote_name(SyncedItem._meta.db_table)
    columns = ", ".join(
        ops.quote_name(SyncedItem._meta.get_field(name).column) for name in INSERTED_FIELDS
    )
    placeholders = "(" + ", ".join(["%s"] * len(INSERTED_FIELDS)) + ")"
    now = adapt(timezone.now())
    with connection.cursor() as cursor:
        for start in range(0, len(items), INSERT_ROWS):
            chunk = items[start : start + INSERT_ROWS]
            params = []
            for item in chunk:
                params += (
                    item.system,
                    item.kind,
                    item.external_id,
                    item.connection_id,
                    item.opportunity_id,
                    item.object_id,
                    item.title,
                    item.detail,
                    item.status,
                    item.url,
                    item.person_id,
                    adapt(item.occurred_at),
                    now,
                )
            values = ", ".join([placeholders] * len(chunk))
            # Names from the model's metadata, quoted; every value a parameter.
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values}", params)  # noqa: S608
