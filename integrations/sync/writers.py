"""Upserts of what a `PresalesSource` yields into the opportunities app, in batches.

Rows are keyed on `ExternalRef(system="vivun", kind=..., external_id=...)`: a row seen before
updates the record it made (or leaves it alone when nothing changed), a new one creates it.
Batches go through `bulk_create` / `bulk_update` rather than the one-row services, because an
export has tens of thousands of rows; each row is validated by the adapter first, so what is
written here is what `activity_record` / `product_gap_create` would accept.

Deals are found by the Salesforce (or other CRM) id that imports recorded as
`ExternalRef(kind="opportunity")`, or by an explicit EPOS id; a row naming neither is reported,
never attached to a guessed deal.
"""

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType

from epos.models import ExternalRef
from integrations.sync.ports import ActivityRow, ProductGapRow, RowProblem
from opportunities.models import Activity, Opportunity, ProductGap

SYSTEM = "vivun"
BATCH = 1000
MAX_REPORTED_ERRORS = 500


@dataclass
class Outcome:
    counts: dict = field(
        default_factory=lambda: dict.fromkeys(
            ("created", "updated", "unchanged", "skipped", "failed"), 0
        )
    )
    errors: list = field(default_factory=list)

    def fail(self, row, reason: str) -> None:
        self.counts["failed"] += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"row": row, "reason": reason})


class VivunWriter:
    def __init__(self):
        self.outcome = Outcome()
        self.content_types = ContentType.objects.get_for_models(Activity, ProductGap, Opportunity)

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
        if self.outcome.counts["failed"] > len(self.outcome.errors):
            hidden = self.outcome.counts["failed"] - len(self.outcome.errors)
            self.outcome.errors.append({"row": "…", "reason": f"and {hidden} more rows failed"})
        return self.outcome

    def _write(self, batch: list) -> None:
        deals = self._deals(batch)
        activities, gaps = [], []
        for row in batch:
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
                continue
            (activities if isinstance(row, ActivityRow) else gaps).append((row, deal_id))
        if activities:
            self._upsert(activities, Activity, "activity", self._activity_fields)
        if gaps:
            self._upsert(gaps, ProductGap, "product_gap", self._gap_fields)

    def _deals(self, batch: list) -> dict[str, int]:
        """Opportunity refs (and "pk:<id>") of the batch → deal ids; ambiguous refs are left out."""
        refs = {row.opportunity_ref for row in batch if row.opportunity_ref}
        found: dict[str, set[int]] = {}
        for external_id, object_id in ExternalRef.objects.filter(
            kind="opportunity",
            content_type=self.content_types[Opportunity],
            external_id__in=refs,
        ).values_list("external_id", "object_id"):
            found.setdefault(external_id, set()).add(object_id)
        deals = {ref: ids.pop() for ref, ids in found.items() if len(ids) == 1}
        pks = {row.epos_opportunity_id for row in batch if row.epos_opportunity_id is not None}
        for pk in Opportunity.objects.filter(pk__in=pks).values_list("pk", flat=True):
            deals[f"pk:{pk}"] = pk
        return deals

    @staticmethod
    def _activity_fields(row: ActivityRow, deal_id: int) -> dict:
        return {
            "opportunity_id": deal_id,
            "kind": row.kind,
            "occurred_at": row.occurred_at,
            "duration_minutes": row.duration_minutes,
            "summary": row.summary,
        }

    @staticmethod
    def _gap_fields(row: ProductGapRow, deal_id: int) -> dict:
        return {
            "opportunity_id": deal_id,
            "title": row.title,
            "description": row.description,
            "severity": row.severity,
            "status": row.status,
        }

    def _upsert(self, pairs: list, model, kind: str, fields_of) -> None:
        content_type = self.content_types[model]
        by_id: dict[str, tuple] = {}
        for row, deal_id in pairs:
            if row.external_id in by_id:
                first = by_id[row.external_id][0]
                self.outcome.fail(row.line, f"same ID as line {first.line}; the first one is kept")
                continue
            by_id[row.external_id] = (row, deal_id)
        refs = {
            ref.external_id: ref
            for ref in ExternalRef.objects.filter(system=SYSTEM, kind=kind, external_id__in=by_id)
        }
        if model is Activity:
            # An activity Zapier or the API recorded as Vivun's, before any sync linked it.
            for external_id, pk in Activity.objects.filter(
                source=Activity.Source.VIVUN, external_id__in=set(by_id) - set(refs)
            ).values_list("external_id", "pk"):
                refs[external_id] = ExternalRef(
                    system=SYSTEM,
                    kind=kind,
                    external_id=external_id,
                    content_type=content_type,
                    object_id=pk,
                )
        existing = model.objects.in_bulk([ref.object_id for ref in refs.values()])
        new_objects, new_refs, changed = [], [], []
        names = list(fields_of(pairs[0][0], pairs[0][1]))
        for external_id, (row, deal_id) in by_id.items():
            values = fields_of(row, deal_id)
            ref = refs.get(external_id)
            current = existing.get(ref.object_id) if ref is not None else None
            if current is None:
                obj = model(**values)
                if model is Activity:
                    obj.source = Activity.Source.VIVUN
                    obj.external_id = external_id
                new_objects.append(obj)
                if ref is not None and ref.pk is not None:
                    ref.delete()  # its record was deleted in EPOS; the row brings it back
                new_refs.append(
                    ExternalRef(
                        system=SYSTEM,
                        kind=kind,
                        external_id=external_id,
                        content_type=content_type,
                    )
                )
                continue
            if ref.pk is None:
                new_refs.append(ref)
            if all(getattr(current, name) == value for name, value in values.items()):
                self.outcome.counts["unchanged"] += 1
                continue
            for name, value in values.items():
                setattr(current, name, value)
            changed.append(current)
        created = model.objects.bulk_create(new_objects)
        for obj, ref in zip(created, [r for r in new_refs if r.object_id is None], strict=True):
            ref.object_id = obj.pk
        ExternalRef.objects.bulk_create(new_refs)
        if changed:
            model.objects.bulk_update(changed, names)
        self.outcome.counts["created"] += len(created)
        self.outcome.counts["updated"] += len(changed)
