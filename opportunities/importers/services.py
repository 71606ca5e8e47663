"""Writing an import plan: one transaction, bulk statements, the move service's invariants.

Calling `opportunity_move_to_stage` once per historical move would take minutes for a few
thousand deals, so the rows are written directly. What the move service guarantees still holds,
because every deal's fields come from `base.replay` over the very transitions written with it:
the stage is the last transition's stage, `stage_entered_at` its time, `engaged_at`,
`closed_at`, `outcome` and `loss_reason` follow the same rules, and `version` is bumped on
every change. No outbox events are published: historical moves from another CRM are not news
that webhooks and Zapier should act on.

Re-imports are idempotent through `ExternalRef(system, kind, external_id)`: the file is the
source of truth for the deals it names. A deal that differs gets the file's fields and a bumped
version; when its history differs too, its transitions are replaced by the file's (moves made
in EPOS since the last import are dropped: the other CRM still owns that deal). A deal that does
not differ is left alone (same version, same transition rows) and nothing is ever duplicated.
A deal the file gives no date for keeps the times of its first import. Fields the import does
not carry (use case, source, qualification, checklists, activities...) keep their EPOS values.

An import never changes who is who. An owner already in EPOS (linked by an earlier import, or
matched by username or email) is only linked to: their name, roles, teams and password stay as
they are. Any other owner becomes a new user without login and without a role, and joins the
teams of their deals: they cannot log in, so that gives nobody a right, and it keeps their deals
on the team's board and in its owner filter. A manager imports only into the teams they manage
(`importable_team_ids`); only an admin (or the management command, which runs with no actor)
imports into any team and creates teams. A row that breaks this is rejected like any bad row,
so the import writes nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from epos.lib.errors import Forbidden
from epos.lib.roles import ADMIN, MANAGER, has_role
from epos.models import ExternalRef
from opportunities.importers.base import (
    ImportPlan,
    ProcessSpec,
    ReplayError,
    RowError,
    TransitionRecord,
    replay,
)
from opportunities.models import Account, Opportunity, StageTransition, Team
from opportunities.permissions import managed_team_ids
from opportunities.services import visit_times
from stages.models import Process, Stage

BATCH_SIZE = 1000
# Ids per `IN (...)` list: well under SQLite's variable limit and PostgreSQL's comfort zone.
CHUNK_SIZE = 900

OPPORTUNITY_FIELDS = (
    "name",
    "account_id",
    "process_id",
    "stage_id",
    "owner_id",
    "team_id",
    "amount",
    "currency",
    "product",
    "expected_close_date",
    "created_at",
    "engaged_at",
    "stage_entered_at",
    "closed_at",
    "outcome",
    "loss_reason",
)
ACCOUNT_FIELDS = ("name", "industry", "segment", "employees", "country", "business_context")


def can_import(user) -> bool:
    return has_role(user, MANAGER, ADMIN)


def importable_team_ids(actor) -> frozenset[int] | None:
    """The teams `actor` may import deals into (None: any, and may create teams): a manager's
    managed teams; any for an admin or the system (no actor: the management command)."""
    if actor is None or has_role(actor, ADMIN):
        return None
    return managed_team_ids(actor)


LINKED = "linked by an earlier import"
SAME_USERNAME = "same username"
SAME_EMAIL = "same email"


@dataclass(frozen=True)
class OwnerMapping:
    """How an owner named in the files maps to an EPOS user: what the preview lists."""

    external_id: str
    name: str
    existing: bool
    via: str = ""  # how an existing user was found: LINKED, SAME_USERNAME or SAME_EMAIL
    name_known: bool = True  # False: the file names a new user by an id only
    deals: int = 0

    @property
    def label(self) -> str:
        if self.existing:
            return f"existing: {self.name}"
        return f"new user without login: {self.name}"


@dataclass
class ImportResult:
    plan: ImportPlan
    dry_run: bool
    committed: bool = False
    process: Process | None = None
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    transitions_written: int = 0
    users_created: int = 0
    teams_created: int = 0
    accounts_created: int = 0
    accounts_updated: int = 0
    seconds: float = 0.0
    owners: list[OwnerMapping] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.plan.errors

    @property
    def errors(self) -> list[RowError]:
        return self.plan.errors


class _Abort(Exception):
    """A problem found only against the database (the process lacks a stage...): roll back."""


def pipeline_import(*, plan: ImportPlan, actor, dry_run: bool = False) -> ImportResult:
    """Write `plan` in one transaction, or nothing at all when any row was rejected.

    A dry run does all the work, counts what it would create and update, and rolls back, so
    its preview is exactly what the real run will do. `actor` is the manager or admin who
    imports (None: the system, as an admin); a manager's rows naming a team they may not import
    into are rejected (see the module's docstring).
    """
    if actor is not None and not can_import(actor):
        raise Forbidden("Only managers and admins may import pipelines.")
    result = ImportResult(plan=plan, dry_run=dry_run)
    started = time.perf_counter()
    if plan.errors:
        plan.sort_errors()
        return result
    try:
        with transaction.atomic():
            _Writer(plan, result, actor).run()
            if dry_run:
                transaction.set_rollback(True)
    except _Abort:
        result.process = None
        plan.sort_errors()
    else:
        result.committed = not dry_run
    result.seconds = time.perf_counter() - started
    return result


def _chunks(values: list, size: int = CHUNK_SIZE):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _preparer(field):
    """How a Python value of `field` becomes a query parameter (None: as it is)."""
    ops = connection.ops
    internal = field.get_internal_type()
    if internal == "DateTimeField":
        return ops.adapt_datetimefield_value
    if internal == "DateField":
        return ops.adapt_datefield_value
    if internal == "DecimalField":
        return lambda value: ops.adapt_decimalfield_value(
            value, field.max_digits, field.decimal_places
        )
    if internal == "JSONField":
        return lambda value: field.get_db_prep_save(value, connection)
    return None


def _column_plan(model, given: set[str], now) -> tuple[list, list]:
    """The model's columns (but the primary key) and, for each, the row key to read or, for a
    column the rows leave out, the value to write: its default, or `now` for auto_now."""
    fields, plan = [], []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key:
            continue
        fields.append(model_field)
        if model_field.attname in given:
            plan.append((model_field.attname, _preparer(model_field), None))
            continue
        if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            default = now
        else:
            default = model_field.get_default()
        if model_field.get_internal_type() == "JSONField":
            # Rendered once: an adapter object would be serialised again for every row.
            constant = json.dumps(default)
        else:
            constant = model_field.get_db_prep_save(default, connection)
        plan.append((None, None, constant))
    return fields, plan


def _with_visit_ends(signature: list[tuple], stages: dict[int, Stage]) -> list[tuple]:
    """Each transition with its derived columns (see `visit_times`), in time order. Rows are
    inserted in this order, so ids follow it and ties on the time keep it."""
    ordered = sorted(signature, key=lambda transition: transition[2])  # stable on ties
    derived = visit_times([stages[t[1]] for t in ordered], [t[2] for t in ordered])
    return [(transition, *times) for transition, times in zip(ordered, derived, strict=True)]


def _bulk_insert(model, rows: list[dict], *, now, return_ids: bool = False) -> list[int]:
    """INSERT many rows given as {attname: value}; returns their ids when asked, in row order.

    `bulk_create` spends most of an 8,800-deal import building model instances and preparing
    every value through the field machinery. This prepares only the values that need it and
    resolves the columns the rows leave out once. PostgreSQL gets the rows through COPY, the
    fastest way in; other databases through multi-row INSERT statements.
    """
    if not rows:
        return []
    fields, plan = _column_plan(model, set(rows[0]), now)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if hasattr(cursor.cursor, "copy_expert"):
                return _copy_rows(cursor, model, fields, plan, rows, return_ids)
    return _insert_rows(model, fields, plan, rows, return_ids)


def _insert_rows(model, fields, plan, rows, return_ids: bool) -> list[int]:
    quote = connection.ops.quote_name
    width = len(fields)
    max_params = connection.features.max_query_params
    per_statement = min(BATCH_SIZE, max_params // width if max_params else BATCH_SIZE)
    row_sql = "(" + ", ".join(["%s"] * width) + ")"
    columns = ", ".join(quote(model_field.column) for model_field in fields)
    # Table and column names come from the model, never from the file: nothing to inject.
    head = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "  # noqa: S608
    tail = f" RETURNING {quote(model._meta.pk.column)}" if return_ids else ""
    ids: list[int] = []
    with connection.cursor() as cursor:
        for batch in _chunks(rows, per_statement):
            params = []
            for row in batch:
                for attname, prepare, constant in plan:
                    if attname is None:
                        params.append(constant)
                    else:
                        value = row[attname]
                        params.append(prepare(value) if prepare and value is not None else value)
            cursor.execute(head + ", ".join([row_sql] * len(batch)) + tail, params)
            if return_ids:
                ids.extend(row[0] for row in cursor.fetchall())
    return ids


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value) -> str:
    """A value in COPY's text format: \\N for NULL, backslash escapes in text."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value).translate(_COPY_ESCAPES)
    return str(value).translate(_COPY_ESCAPES)


def _copy_rows(cursor, model, fields, plan, rows, return_ids: bool) -> list[int]:
    quote = connection.ops.quote_name
    table = model._meta.db_table
    columns = [quote(model_field.column) for model_field in fields]
    ids: list[int] = []
    if return_ids:
        # COPY returns nothing: take the ids from the table's own sequence first.
        pk_column = model._meta.pk.column
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [quote(table), pk_column, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        columns.insert(0, quote(pk_column))
    constants = [_copy_value(constant) for _, _, constant in plan]
    lines = []
    for index, row in enumerate(rows):
        values = [str(ids[index])] if return_ids else []
        for (attname, _, _), constant in zip(plan, constants, strict=True):
            values.append(constant if attname is None else _copy_value(row[attname]))
        lines.append("\t".join(values))
    data = io.StringIO("\n".join(lines) + "\n")
    cursor.cursor.copy_expert(f"COPY {quote(table)} ({', '.join(columns)}) FROM STDIN", data)
    return ids


def _bulk_update(model, rows: list[dict], attnames: list[str]) -> None:
    """UPDATE many rows given as {"pk": ..., attname: value}: the given columns only.

    Django's bulk_update builds one CASE per column over the whole batch, which PostgreSQL
    takes minutes to run for thousands of rows. PostgreSQL gets the new values through COPY
    into a temporary table and one UPDATE ... FROM; other databases one prepared UPDATE per row
    (executemany, a C loop for SQLite).
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(attname) for attname in attnames]
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    columns = [quote(model_field.column) for model_field in fields]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and hasattr(cursor.cursor, "copy_expert"):
            staging = quote(f"import_update_{model._meta.db_table}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {staging} AS "  # noqa: S608 - names from the model
                f"SELECT {pk}, {', '.join(columns)} FROM {table} WITH NO DATA"
            )
            lines = [
                "\t".join(_copy_value(value) for value in (row["pk"], *(row[a] for a in attnames)))
                for row in rows
            ]
            cursor.cursor.copy_expert(
                f"COPY {staging} ({pk}, {', '.join(columns)}) FROM STDIN",
                io.StringIO("\n".join(lines) + "\n"),
            )
            assignments = ", ".join(f"{column} = staged.{column}" for column in columns)
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM {staging} AS staged "  # noqa: S608
                f"WHERE {table}.{pk} = staged.{pk}"
            )
            cursor.execute(f"DROP TABLE {staging}")
            return
        preparers = [_preparer(model_field) for model_field in fields]
        params = [
            [
                prepare(row[attname]) if prepare and row[attname] is not None else row[attname]
                for attname, prepare in zip(attnames, preparers, strict=True)
            ]
            + [row["pk"]]
            for row in rows
        ]
        assignments = ", ".join(f"{column} = %s" for column in columns)
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", params)  # noqa: S608


def _opportunity_values(record, process, stages, users, accounts, teams) -> dict:
    """The deal's columns (`OPPORTUNITY_FIELDS`) as the file gives them."""
    state = record.state
    return {
        "name": record.name,
        "account_id": accounts[record.account].pk if record.account else None,
        "process_id": process.pk,
        "stage_id": stages[state.stage.casefold()].pk,
        "owner_id": users[record.owner].pk if record.owner else None,
        "team_id": teams[record.team].pk if record.team else None,
        "amount": record.amount,
        "currency": record.currency,
        "product": record.product,
        "expected_close_date": record.expected_close_date,
        "created_at": record.created_at,
        "engaged_at": state.engaged_at,
        "stage_entered_at": state.stage_entered_at,
        "closed_at": state.closed_at,
        "outcome": state.outcome,
        "loss_reason": record.loss_reason,
    }


def _transition_signature(record, stages) -> list[tuple]:
    """The deal's transitions as (from stage id, to stage id, moved at, note, unmet items),
    the way they are stored, so a re-import can compare them with the stored ones."""
    signature = []
    previous_id = None
    for transition, unmet in zip(record.transitions, record.state.unmet, strict=True):
        stage_id = stages[transition.stage.casefold()].pk
        signature.append((previous_id, stage_id, transition.moved_at, transition.note, unmet))
        previous_id = stage_id
    return signature


def _transition_rows(written: list[tuple[int, list[tuple]]], stages: dict) -> list[dict]:
    """The StageTransition rows of each (deal id, signature), with their visit ends."""
    stage_by_id = {stage.pk: stage for stage in stages.values()}
    return [
        {
            "opportunity_id": opportunity_id,
            "from_stage_id": from_stage_id,
            "to_stage_id": to_stage_id,
            "moved_at": moved_at,
            "note": note,
            "unmet_items": unmet,
            "left_at": left_at,
            "passed_at": passed_at,
        }
        for opportunity_id, signature in written
        for (from_stage_id, to_stage_id, moved_at, note, unmet), left_at, passed_at in (
            _with_visit_ends(signature, stage_by_id)
        )
    ]


class _Writer:
    def __init__(self, plan: ImportPlan, result: ImportResult, actor=None):
        self.plan = plan
        self.result = result
        self.actor = actor
        self.now = timezone.now()
        self.new_refs: list[dict] = []
        self.moved_refs: list[ExternalRef] = []
        self.read_refs: dict[str, dict[str, ExternalRef]] = {}
        # Only deal owners become users, and only deals' teams are written.
        self.owner_keys = list(dict.fromkeys(r.owner for r in plan.opportunities if r.owner))
        self.team_keys = list(dict.fromkeys(r.team for r in plan.opportunities if r.team))

    def run(self) -> None:
        self._lock()
        process, stages = self._process()
        # Everything is looked up and judged before anything about people or teams is written.
        existing_owners = self._find_owners()
        self._describe_owners(existing_owners)
        existing_teams = self._find_teams()
        self._check_rights(existing_owners, existing_teams)
        users, new_owners = self._users(existing_owners)
        accounts = self._accounts()
        teams = self._teams(existing_teams, users, new_owners)
        self._opportunities(process, stages, users, accounts, teams)
        self._save_refs()

    def _lock(self) -> None:
        """One import per source system at a time: two runs racing on the same external ids
        would otherwise both decide "new" and the second would fail on the unique reference.
        SQLite serialises writers by itself."""
        if connection.vendor != "postgresql":
            return
        key = int.from_bytes(
            hashlib.sha256(f"epos-import:{self.plan.system}".encode()).digest()[:8]
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key - 2**63])

    def _abort(self, message: str, file: str | None = None, line: int | None = None):
        self.plan.reject(file or "import", line, message)
        raise _Abort(message)

    # --- external references -------------------------------------------------------------

    def _refs(self, kind: str) -> dict[str, ExternalRef]:
        if kind not in self.read_refs:
            self.read_refs[kind] = {
                ref.external_id: ref
                for ref in ExternalRef.objects.filter(system=self.plan.system, kind=kind)
            }
        return self.read_refs[kind]

    def _link(self, kind: str, external_id: str, obj, ref: ExternalRef | None) -> None:
        self._link_pk(kind, external_id, type(obj), obj.pk, ref)

    def _link_pk(self, kind: str, external_id: str, model, pk: int, ref: ExternalRef | None):
        content_type = ContentType.objects.get_for_model(model)
        if ref is None:
            self.new_refs.append(
                {
                    "system": self.plan.system,
                    "kind": kind,
                    "external_id": external_id,
                    "content_type_id": content_type.pk,
                    "object_id": pk,
                }
            )
        elif ref.object_id != pk or ref.content_type_id != content_type.pk:
            # The row it pointed at was deleted in EPOS: the new row takes over the identifier.
            ref.object_id, ref.content_type, ref.updated_at = pk, content_type, self.now
            self.moved_refs.append(ref)

    def _save_refs(self) -> None:
        _bulk_insert(ExternalRef, self.new_refs, now=self.now)
        ExternalRef.objects.bulk_update(
            self.moved_refs, ["object_id", "content_type", "updated_at"], batch_size=BATCH_SIZE
        )

    # --- process ---------------------------------------------------------------------------

    def _process(self) -> tuple[Process, dict[str, Stage]]:
        spec = self.plan.process
        process = Process.objects.filter(slug=spec.slug).order_by("-version").first()
        if process is None:
            if not spec.create_if_missing:
                self._abort(f"Process {spec.slug!r} does not exist.")
            process = Process.objects.create(
                name=spec.name,
                slug=spec.slug,
                status=Process.Status.ACTIVE,
                description=spec.description,
            )
            Stage.objects.bulk_create(
                Stage(
                    process=process,
                    name=stage.name,
                    slug=stage.slug,
                    position=stage.position,
                    kind=stage.kind,
                    probability=stage.probability,
                    starts_clock=stage.starts_clock,
                    is_optional=stage.is_optional,
                )
                for stage in spec.stages
            )
        elif process.status == Process.Status.DRAFT:
            self._abort(f"Process {process} is a draft: activate it before importing into it.")
        self.result.process = process
        stages = {stage.name.casefold(): stage for stage in process.stages.all()}
        used = {t.stage for record in self.plan.opportunities for t in record.transitions}
        for name in sorted(used):
            stage = stages.get(name.casefold())
            expected = spec.stage(name)
            if stage is None:
                self._abort(f"Process {process} has no stage named {name!r}.")
            if expected is not None and stage.kind != expected.kind:
                self._abort(
                    f"Stage {name!r} of process {process} is {stage.kind}, not {expected.kind}."
                )
        self._replay_against(process, stages)
        return process, stages

    def _replay_against(self, process: Process, stages: dict[str, Stage]) -> None:
        """Recompute every deal's state with the stored stages: a curator may have moved the
        clock or the positions since the process was created."""
        actual = ProcessSpec.of_process(process)
        self.actual_process = actual

        def shape(spec: ProcessSpec) -> set[tuple]:
            return {
                (s.name, s.position, s.kind, s.starts_clock, s.is_optional, s.required_items)
                for s in spec.stages
            }

        if shape(actual) == shape(self.plan.process):
            return
        failed = False
        for record in self.plan.opportunities:
            try:
                record.state = replay(record.transitions, actual)
            except ReplayError as exc:
                self.plan.reject(record.file, record.line, f"stage history {exc}")
                failed = True
        if failed:
            raise _Abort("stage histories do not fit the stored process")

    # --- people, accounts, teams ----------------------------------------------------------

    def _find_owners(self) -> dict[str, tuple[object, str]]:
        """The owners who are already EPOS users, with how each was found: linked by an earlier
        import, else by a username or email the file gives. Only read: an import never changes
        an existing user's name, roles, teams or password."""
        User = get_user_model()
        refs = self._refs("user")
        linked = User.objects.in_bulk([refs[k].object_id for k in self.owner_keys if k in refs])
        found: dict[str, tuple[object, str]] = {}
        for key in self.owner_keys:
            ref = refs.get(key)
            user = linked.get(ref.object_id) if ref else None
            if user is not None:
                found[key] = (user, LINKED)
        wanted = {
            key: self.plan.users[key].match
            for key in self.owner_keys
            if key not in found and self.plan.users[key].match
        }
        values = sorted({value for candidates in wanted.values() for value in candidates})
        by_username, by_email = {}, {}
        for chunk in _chunks(values):
            matches = User.objects.filter(Q(username__in=chunk) | Q(email__in=chunk))
            for user in matches.order_by("pk"):
                by_username[user.username.casefold()] = user
                if user.email:
                    by_email.setdefault(user.email.casefold(), user)
        for key, candidates in wanted.items():
            for value in candidates:
                user, via = by_username.get(value.casefold()), SAME_USERNAME
                if user is None:
                    user, via = by_email.get(value.casefold()), SAME_EMAIL
                if user is not None:
                    found[key] = (user, via)
                    self._link("user", key, user, refs.get(key))
                    break
        return found

    def _describe_owners(self, existing: dict[str, tuple[object, str]]) -> None:
        deals = Counter(record.owner for record in self.plan.opportunities if record.owner)
        owners = []
        for key in self.owner_keys:
            if key in existing:
                user, via = existing[key]
                name = user.get_full_name() or user.username
                owners.append(OwnerMapping(key, name, True, via, deals=deals[key]))
            else:
                record = self.plan.users[key]
                owners.append(
                    OwnerMapping(
                        key, record.full_name, False, name_known=record.name_known, deals=deals[key]
                    )
                )
        self.result.owners = owners

    def _find_teams(self) -> dict[str, Team]:
        """The deals' teams that exist: linked by an earlier import, else the team of that name
        (team names are unique). Only read."""
        refs = self._refs("team")
        linked = Team.objects.in_bulk([refs[k].object_id for k in self.team_keys if k in refs])
        found: dict[str, Team] = {}
        unlinked = []
        for key in self.team_keys:
            ref = refs.get(key)
            team = linked.get(ref.object_id) if ref else None
            if team is None:
                unlinked.append(key)
            else:
                found[key] = team
        by_name: dict[str, Team] = {}
        for chunk in _chunks([self.plan.teams[key].name for key in unlinked]):
            by_name.update((team.name, team) for team in Team.objects.filter(name__in=chunk))
        for key in unlinked:
            team = by_name.get(self.plan.teams[key].name)
            if team is not None:
                found[key] = team
                self._link("team", key, team, refs.get(key))
        return found

    def _check_rights(
        self, existing_owners: dict[str, tuple[object, str]], existing_teams: dict[str, Team]
    ) -> None:
        """Reject every deal a manager may not import: one in no team, in a team that does not
        exist (only an admin creates teams) or that they do not manage, one that updates a deal
        now in a team they do not manage, and one whose owner is an EPOS user outside the
        deal's team (an import adds no existing user to a team)."""
        allowed = importable_team_ids(self.actor)
        if allowed is None:
            return
        yours = ", ".join(
            sorted(Team.objects.filter(pk__in=allowed).values_list("name", flat=True))
        )
        yours = f"yours: {yours}" if yours else "you manage no team"
        owner_teams = self._team_ids_of({user.pk for user, _ in existing_owners.values()})
        stored = self._stored_teams()
        failed = False
        for record in self.plan.opportunities:
            team = existing_teams.get(record.team) if record.team else None
            problems = []
            if record.team is None:
                problems.append(
                    f"has no team: a manager imports deals only into a team they manage ({yours})"
                )
            elif team is None:
                problems.append(
                    f"team {self.plan.teams[record.team].name!r} does not exist: only an admin "
                    f"can create teams ({yours})"
                )
            elif team.pk not in allowed:
                problems.append(f"team {team.name!r} is not a team you manage ({yours})")
            if record.external_id in stored:
                team_id, team_name = stored[record.external_id]
                if team_id not in allowed:
                    where = f"team {team_name!r}" if team_id else "no team"
                    problems.append(
                        f"updates a deal that is in {where} in EPOS, which you do not manage"
                    )
            if team is not None and team.pk in allowed and record.owner in existing_owners:
                user, _ = existing_owners[record.owner]
                if team.pk not in owner_teams.get(user.pk, ()):
                    name = user.get_full_name() or user.username
                    problems.append(
                        f"owner {record.owner!r} is {name}, who is not in team {team.name!r}: an "
                        "import adds no existing user to a team"
                    )
            for problem in problems:
                self.plan.reject(record.file, record.line, problem)
            failed = failed or bool(problems)
        if failed:
            raise _Abort("rows name teams the actor may not import into")

    @staticmethod
    def _team_ids_of(user_ids: set[int]) -> dict[int, set[int]]:
        """The teams each user belongs to or manages, in one query per relation and chunk."""
        teams: dict[int, set[int]] = defaultdict(set)
        for through in (Team.members.through, Team.managers.through):
            for chunk in _chunks(sorted(user_ids)):
                rows = through.objects.filter(user_id__in=chunk).values_list("user_id", "team_id")
                for user_id, team_id in rows:
                    teams[user_id].add(team_id)
        return teams

    def _stored_teams(self) -> dict[str, tuple[int | None, str | None]]:
        """(team id, team name) of the deals in EPOS that the file's deals would update."""
        refs = self._refs("opportunity")
        content_type = ContentType.objects.get_for_model(Opportunity)
        linked = {
            refs[record.external_id].object_id: record.external_id
            for record in self.plan.opportunities
            if record.external_id in refs
            and refs[record.external_id].content_type_id == content_type.pk
        }
        stored = {}
        for chunk in _chunks(sorted(linked)):
            rows = Opportunity.objects.filter(pk__in=chunk).values_list(
                "pk", "team_id", "team__name"
            )
            for pk, team_id, team_name in rows:
                stored[linked[pk]] = (team_id, team_name)
        return stored

    def _users(self, existing: dict[str, tuple[object, str]]) -> tuple[dict[str, object], set[str]]:
        """Every deal owner as an EPOS user, and the keys of those created now: the owners not
        yet in EPOS, as users who cannot log in and have no role."""
        User = get_user_model()
        refs = self._refs("user")
        users = {key: user for key, (user, _) in existing.items()}
        pending = [key for key in self.owner_keys if key not in users]
        if not pending:
            return users, set()
        prefix = f"{self.plan.system}."
        taken = set(
            User.objects.filter(username__startswith=prefix).values_list("username", flat=True)
        )
        created = []
        for key in pending:
            record = self.plan.users[key]
            base = (prefix + (slugify(key) or "user"))[:140]
            username, n = base, 1
            while username in taken:
                n += 1
                username = f"{base}-{n}"
            taken.add(username)
            # No password anyone knows: imported people own deals but do not log in.
            user = User(
                username=username,
                first_name=record.first_name,
                last_name=record.last_name,
                password=make_password(None),
            )
            created.append((key, user))
        User.objects.bulk_create([user for _, user in created], batch_size=BATCH_SIZE)
        for key, user in created:
            users[key] = user
            self._link("user", key, user, refs.get(key))
        self.result.users_created = len(created)
        return users, {key for key, _ in created}

    def _accounts(self) -> dict[str, Account]:
        refs = self._refs("account")
        existing = Account.objects.in_bulk(
            [refs[key].object_id for key in self.plan.accounts if key in refs]
        )
        accounts: dict[str, Account] = {}
        created, changed = [], []
        for key, record in self.plan.accounts.items():
            # Only what the file says: an account named in a deal row alone keeps its profile.
            values = {
                name: getattr(record, name)
                for name in ACCOUNT_FIELDS
                if getattr(record, name) not in ("", None)
            }
            ref = refs.get(key)
            account = existing.get(ref.object_id) if ref else None
            if account is None:
                account = Account(**values)
                created.append((key, account))
            elif any(getattr(account, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(account, name, value)
                changed.append(account)
            accounts[key] = account
        Account.objects.bulk_create([account for _, account in created], batch_size=BATCH_SIZE)
        Account.objects.bulk_update(changed, ACCOUNT_FIELDS, batch_size=BATCH_SIZE)
        for key, account in created:
            self._link("account", key, account, refs.get(key))
        self.result.accounts_created, self.result.accounts_updated = len(created), len(changed)
        return accounts

    def _teams(
        self, existing: dict[str, Team], users: dict[str, object], new_owners: set[str]
    ) -> dict[str, Team]:
        """The deals' teams: those that exist, and new ones (only an import by an admin gets
        here with any: `_check_rights`). The owners created by this import join the teams of
        their deals; nobody else's membership is touched."""
        refs = self._refs("team")
        teams = dict(existing)
        created = []
        for key in self.team_keys:
            if key not in teams:
                record = self.plan.teams[key]
                teams[key] = Team(name=record.name, region=record.region)
                created.append(key)
        Team.objects.bulk_create([teams[key] for key in created], batch_size=BATCH_SIZE)
        for key in created:
            self._link("team", key, teams[key], refs.get(key))
        changed = []
        for key in self.team_keys:
            record, team = self.plan.teams[key], teams[key]
            if record.region and team.region != record.region:
                team.region = record.region
                changed.append(team)
        Team.objects.bulk_update(changed, ["region"], batch_size=BATCH_SIZE)
        self.result.teams_created = len(created)

        memberships = sorted(
            {
                (teams[record.team].pk, users[record.owner].pk)
                for record in self.plan.opportunities
                if record.team and record.owner in new_owners
            }
        )
        Team.members.through.objects.bulk_create(
            [Team.members.through(team_id=team, user_id=user) for team, user in memberships],
            batch_size=BATCH_SIZE,
            ignore_conflicts=True,
        )
        return teams

    # --- opportunities and their transitions -------------------------------------------------

    def _opportunities(self, process, stages, users, accounts, teams) -> None:
        """Insert the new deals, update the changed ones (rewriting the transitions of those
        whose history changed) and count the unchanged ones."""
        refs = self._refs("opportunity")
        linked = {
            key: refs[key].object_id
            for key in (r.external_id for r in self.plan.opportunities)
            if key in refs
        }
        existing, stored_transitions = self._imported_opportunities()
        new: list[tuple[str, dict, list[tuple]]] = []
        changed: list[tuple[dict, list[tuple] | None]] = []
        for record in self.plan.opportunities:
            pk = linked.get(record.external_id)
            stored = existing.get(pk)
            if record.undated and stored is not None:
                self._keep_first_seen_times(record, stages, stored_transitions[pk])
            values = _opportunity_values(record, process, stages, users, accounts, teams)
            signature = _transition_signature(record, stages)
            if stored is None:
                new.append((record.external_id, values, signature))
                continue
            change = self._change(pk, stored, values, signature, stored_transitions[pk])
            if change is None:
                self.result.unchanged += 1
            else:
                changed.append(change)
        self._write_opportunities(new, changed, refs, stages)

    def _imported_opportunities(self) -> tuple[dict[int, tuple], dict[int, list[tuple]]]:
        """(fields and version by deal id, transition signatures by deal id) of every deal
        this system imported before."""
        # Everything this system imported before, read as plain tuples in two queries: the
        # unchanged deals of a re-import (usually nearly all) never become model instances.
        imported = ExternalRef.objects.filter(
            system=self.plan.system,
            kind="opportunity",
            content_type=ContentType.objects.get_for_model(Opportunity),
        ).values("object_id")
        existing: dict[int, tuple] = {
            row[0]: row[1:]
            for row in Opportunity.objects.filter(pk__in=imported)
            .order_by()
            .values_list("pk", *OPPORTUNITY_FIELDS, "version")
        }
        stored_transitions: dict[int, list[tuple]] = defaultdict(list)
        rows = (
            StageTransition.objects.filter(opportunity_id__in=imported)
            .order_by("opportunity_id", "moved_at", "id")
            .values_list(
                "opportunity_id", "from_stage_id", "to_stage_id", "moved_at", "note", "unmet_items"
            )
        )
        for opportunity_id, *signature in rows.iterator(chunk_size=5000):
            stored_transitions[opportunity_id].append(tuple(signature))
        return existing, stored_transitions

    def _change(
        self, pk: int, stored: tuple, values: dict, signature: list[tuple], stored_signature
    ) -> tuple[dict, list[tuple] | None] | None:
        """The update of a deal imported before, and its new transitions when its history
        changed (else None); None when neither its fields nor its history changed."""
        *stored_values, version = stored
        same_fields = stored_values == [values[name] for name in OPPORTUNITY_FIELDS]
        same_history = stored_signature == signature
        if same_fields and same_history:
            return None
        update = {"pk": pk, **values, "version": version + 1, "updated_at": self.now}
        # A deal whose history is the same keeps its transition rows (and their ids).
        return update, None if same_history else signature

    def _write_opportunities(
        self,
        new: list[tuple[str, dict, list[tuple]]],
        changed: list[tuple[dict, list[tuple] | None]],
        refs: dict[str, ExternalRef],
        stages: dict,
    ) -> None:
        """Insert the new deals, update the changed ones, and replace the transitions of the
        new deals and of the changed deals whose history changed."""
        new_ids = _bulk_insert(
            Opportunity,
            [{**values, "version": 1} for _, values, _ in new],
            now=self.now,
            return_ids=True,
        )
        for (external_id, _, _), pk in zip(new, new_ids, strict=True):
            self._link_pk("opportunity", external_id, Opportunity, pk, refs.get(external_id))
        _bulk_update(
            Opportunity,
            [update for update, _ in changed],
            [*OPPORTUNITY_FIELDS, "version", "updated_at"],
        )
        rewritten = [(u["pk"], signature) for u, signature in changed if signature is not None]
        for chunk in _chunks([pk for pk, _ in rewritten]):
            StageTransition.objects.filter(opportunity_id__in=chunk).delete()

        written = [(pk, signature) for pk, (_, _, signature) in zip(new_ids, new, strict=True)]
        written += rewritten
        transitions = _transition_rows(written, stages)
        _bulk_insert(StageTransition, transitions, now=self.now)
        self.result.created, self.result.updated = len(new), len(changed)
        self.result.transitions_written = len(transitions)

    def _keep_first_seen_times(self, record, stages, stored: list[tuple]) -> None:
        stage_ids = [stages[t.stage.casefold()].pk for t in record.transitions]
        if stage_ids != [to_stage_id for _, to_stage_id, *_ in stored]:
            return
        record.transitions = [
            TransitionRecord(t.stage, moved_at, t.note)
            for t, (_, _, moved_at, *_) in zip(record.transitions, stored, strict=True)
        ]
        record.state = replay(record.transitions, self.actual_process)
