"""Google Drive: each deal's folder on a shared drive, with the stage's document templates copied
into it when the deal enters the stage.

A service account (its JSON key is the connection's encrypted credentials) is a member of the
shared drive. The connection's settings map checklist items to Google Docs templates::

    {"shared_drive_id": "0AbCdEfGhIjKlUk9PVA",
     "parent_folder_id": "1xYz…",            # optional: where deal folders go (default: the root)
     "templates": [{"stage": "discovery", "item": "Discovery notes",
                    "template_id": "1AbC…", "process": "epos-presales"}]}   # process optional

A template row names a stage by slug and one of its checklist items by title (any version of
the process has them). When a deal enters such a stage (the `opportunity.stage_changed` or
`opportunity.created` outbox event), `drive_on_outbox_message` queues a task that creates the
deal's folder once and copies each template into it, then records a `DriveFile` and announces
`document.created` with the copy's link as `evidence_url`: the checklist automation ticks the
item when its evidence rule is `document.created` (a condition `{"item_id": <id>}` or
`{"template_id": "…"}` tells two documents of one stage apart).

Every file EPOS creates carries `appProperties` (epos_opportunity_id, epos_kind, epos_item_id);
before creating anything the source looks the file up by them, so a retry after a crash or a
lost answer finds what the first attempt made instead of making it twice. A per-deal lease keeps
two tasks of one deal from creating at the same time.

"Sync now" (and the 5-minute fan-out) catches up: deals that entered a mapped stage in the last
two days and still miss a document get it, so an event lost while Google was down is not lost.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from epos.lib import crypto
from epos.lib.errors import InvalidInput
from integrations.models import Connection, DriveFile
from integrations.sync import google_client
from integrations.sync.google_client import GoogleClient
from integrations.sync.ports import SourceError, TransientSourceError
from opportunities import timeline, tool_links
from opportunities.models import Opportunity
from stages.models import Stage, StageItem, Tool

SCOPES = ["https://www.googleapis.com/auth/drive"]
FOLDER_MIME = "application/vnd.google-apps.folder"
EVIDENCE_TOPIC = "document.created"
DOCS_TOOL = "google-docs"  # the stage tool that opens the deal's folder
TOPICS = ("opportunity.stage_changed", "opportunity.created")
CATCH_UP = timedelta(days=2)
CATCH_UP_LIMIT = 200  # deals per run; the next run takes the rest
DEAL_LEASE_SECONDS = 300
DEAL_LEASE_WAIT = 60  # seconds a task waits for another one of the same deal (no broker)

_ID = r"[A-Za-z0-9_-]{10,200}"
_FILE_ID = re.compile(rf"^{_ID}$")
_ID_IN_URL = re.compile(rf"/(?:d|folders)/({_ID})|[?&]id=({_ID})")
_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,80}$")
SETTINGS_KEYS = {"shared_drive_id", "parent_folder_id", "templates", "api_endpoint"}


# --- settings ---------------------------------------------------------------------------------


def file_id_from(value, what: str) -> str:
    """A Drive file id, also out of a Docs or Drive URL (what people copy from the browser)."""
    text = value.strip() if isinstance(value, str) else ""
    if _FILE_ID.match(text):
        return text
    found = _ID_IN_URL.search(text)
    if found:
        return found.group(1) or found.group(2)
    raise InvalidInput(f"{what} must be a Google Drive file id or link, not {str(value)[:80]!r}.")


def template_rows(settings: dict, stage: Stage) -> list[dict]:
    """The settings' template rows for `stage` (its process loaded)."""
    process = stage.process.slug
    return [
        row
        for row in settings.get("templates") or []
        if row["stage"] == stage.slug and row.get("process", process) == process
    ]


def clean_settings(settings: dict) -> dict:
    """The connection's settings, checked; each template must name an item that exists."""
    if not isinstance(settings, dict):
        raise InvalidInput("settings must be an object.")
    unknown = set(settings) - SETTINGS_KEYS
    if unknown:
        raise InvalidInput(f"Unknown settings {sorted(unknown)}.")
    cleaned = {"shared_drive_id": file_id_from(settings.get("shared_drive_id"), "The shared drive")}
    if settings.get("parent_folder_id"):
        cleaned["parent_folder_id"] = file_id_from(settings["parent_folder_id"], "The folder")
    try:
        endpoint = google_client.clean_endpoint(settings.get("api_endpoint"))
    except ValueError as error:
        raise InvalidInput(str(error)) from error
    if endpoint:
        cleaned["api_endpoint"] = endpoint
    rows = settings.get("templates")
    if not isinstance(rows, list) or not rows:
        raise InvalidInput("settings.templates must list at least one template.")
    cleaned["templates"] = []
    seen = set()
    for number, row in enumerate(rows, start=1):
        cleaned_row = _clean_template_row(row, number)
        key = (cleaned_row.get("process"), cleaned_row["stage"], cleaned_row["item"].casefold())
        if key in seen:
            raise InvalidInput(f"Template {number} repeats the item “{cleaned_row['item']}”.")
        seen.add(key)
        cleaned["templates"].append(cleaned_row)
    return cleaned


def _clean_template_row(row, number: int) -> dict:
    if not isinstance(row, dict) or set(row) - {"stage", "item", "template_id", "process"}:
        raise InvalidInput(
            f"Template {number} must have a stage, an item, a template_id (and maybe a process)."
        )
    stage, item = str(row.get("stage", "")).strip(), str(row.get("item", "")).strip()
    process = str(row.get("process", "")).strip()
    if not _SLUG.match(stage) or (process and not _SLUG.match(process)):
        raise InvalidInput(f"Template {number}: name the stage (and process) by its slug.")
    if not item or len(item) > 200:
        raise InvalidInput(f"Template {number}: name the checklist item by its title.")
    items = StageItem.objects.filter(stage__slug=stage, title__iexact=item)
    if process:
        items = items.filter(stage__process__slug=process)
    if not items.exists():
        where = f"stage “{stage}”" + (f" of process “{process}”" if process else "")
        raise InvalidInput(f"Template {number}: no {where} has an item “{item}”.")
    cleaned = {
        "stage": stage,
        "item": item,
        "template_id": file_id_from(row.get("template_id"), f"Template {number}"),
    }
    if process:
        cleaned["process"] = process
    return cleaned


# --- what the source yields -------------------------------------------------------------------


@dataclass(frozen=True)
class FolderReady:
    opportunity_id: int
    file_id: str
    name: str
    url: str


@dataclass(frozen=True)
class DocumentReady:
    opportunity_id: int
    stage_id: int
    item_id: int
    item_title: str
    template_id: str
    file_id: str
    name: str
    url: str


@dataclass(frozen=True)
class Needed:
    """A deal that lacks documents of its stage: what to make, and what exists already."""

    opportunity: Opportunity
    stage: Stage
    items: list[tuple[StageItem, str]]  # (item, template id) still missing
    folder: DriveFile | None


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _has(key: str, value) -> str:
    return f"appProperties has {{ key='{key}' and value='{_quote(str(value))}' }}"


def _folder_name(opportunity: Opportunity) -> str:
    account = f"{opportunity.account.name} – " if opportunity.account_id else ""
    return f"{account}{opportunity.name} (EPOS-{opportunity.pk})"[:250]


class DriveSource:
    """Drive through the service account: check the setup, find or create folders and copies."""

    def __init__(self, settings: dict, credentials: dict):
        self.settings = settings
        self.drive_id = settings.get("shared_drive_id", "")
        self.client = GoogleClient(
            credentials, scopes=SCOPES, api_endpoint=settings.get("api_endpoint", "")
        )
        self._api = None

    @property
    def api(self):
        if self._api is None:
            self._api = self.client.api("drive", "v3")
        return self._api

    # the admin's "Test connection"

    def check(self) -> str:
        drive = self.client.execute(
            self.api.drives().get(driveId=self.drive_id, fields="id,name"),
            what=f"the shared drive {self.drive_id}",
        )
        parent = self.settings.get("parent_folder_id")
        if parent:
            self._get(parent, f"the folder {parent}")
        found = []
        for row in self.settings.get("templates") or []:
            template = self._get(row["template_id"], f"the template for “{row['item']}”")
            found.append(f"“{template.get('name', row['template_id'])}” for {row['item']}")
        unruled = self._items_without_rule()
        note = (
            f" Note: {', '.join(unruled)} has no evidence rule “{EVIDENCE_TOPIC}”, so its "
            "document will not tick it."
            if unruled
            else ""
        )
        return (
            f"The service account {self.client.account_email} reaches the shared drive "
            f"“{drive.get('name', self.drive_id)}” and the templates {'; '.join(found)}.{note}"
        )

    def _get(self, file_id: str, what: str) -> dict:
        return self.client.execute(
            self.api.files().get(fileId=file_id, supportsAllDrives=True, fields="id,name"),
            what=what,
        )

    def _items_without_rule(self) -> list[str]:
        titles = {row["item"].casefold(): row["item"] for row in self.settings["templates"]}
        slugs = {row["stage"] for row in self.settings["templates"]}
        ruled = {
            title.casefold()
            for title in StageItem.objects.filter(
                stage__slug__in=slugs, evidence_event=EVIDENCE_TOPIC
            ).values_list("title", flat=True)
        }
        return [f"“{title}”" for key, title in titles.items() if key not in ruled]

    # finding and creating

    def _find(self, *clauses: str) -> dict | None:
        """The oldest live file with all these appProperties (Drive may answer a search with
        empty pages and a nextPageToken, so every page is read until one is found)."""
        query = " and ".join([*clauses, "trashed = false"])
        request = self.api.files().list(
            q=query,
            corpora="drive",
            driveId=self.drive_id,
            includeItemsFromAllDrives=True,
            supportsAllDrives=True,
            orderBy="createdTime",
            pageSize=10,
            fields="nextPageToken, files(id, name, webViewLink)",
        )
        while request is not None:
            page = self.client.execute(request, what="a search of the shared drive")
            if page.get("files"):
                return page["files"][0]
            request = self.api.files().list_next(request, page)
        return None

    def _find_or_create(self, find, create, what: str) -> tuple[dict, bool]:
        """Look up, create when absent. A create whose answer was lost (network, 5xx) may have
        happened: look up again before creating again, never retry the create blindly."""
        for attempt in range(1, google_client.ATTEMPTS + 1):
            found = find()
            if found is not None:
                return found, False
            try:
                return self.client.execute(create(), what=what, attempts=1), True
            except TransientSourceError as error:
                if attempt == google_client.ATTEMPTS:
                    raise
                wait = getattr(error, "retry_after", None)
                google_client.sleep(min(google_client.MAX_WAIT, wait or 2 ** (attempt - 1)))
        raise AssertionError("unreachable")  # pragma: no cover

    def folder(self, opportunity: Opportunity) -> FolderReady:
        marks = {"epos_opportunity_id": str(opportunity.pk), "epos_kind": "folder"}
        body = {
            "name": _folder_name(opportunity),
            "mimeType": FOLDER_MIME,
            "parents": [self.settings.get("parent_folder_id") or self.drive_id],
            "appProperties": marks,
        }
        found, _created = self._find_or_create(
            lambda: self._find(*(_has(key, value) for key, value in marks.items())),
            lambda: self.api.files().create(
                body=body, supportsAllDrives=True, fields="id, name, webViewLink"
            ),
            what=f"the folder of {opportunity.name}",
        )
        return FolderReady(opportunity.pk, found["id"], found.get("name", ""), found["webViewLink"])

    def document(
        self, opportunity: Opportunity, stage: Stage, item: StageItem, template_id: str, folder_id
    ) -> DocumentReady:
        marks = {
            "epos_opportunity_id": str(opportunity.pk),
            "epos_kind": "document",
            "epos_item_id": str(item.pk),
        }
        body = {
            "name": f"{item.title} – {opportunity.name}"[:250],
            "parents": [folder_id],
            "appProperties": marks,
        }
        found, _created = self._find_or_create(
            lambda: self._find(*(_has(key, value) for key, value in marks.items())),
            lambda: self.api.files().copy(
                fileId=template_id,
                body=body,
                supportsAllDrives=True,
                fields="id, name, webViewLink",
            ),
            what=f"the template for “{item.title}” ({template_id})",
        )
        return DocumentReady(
            opportunity_id=opportunity.pk,
            stage_id=stage.pk,
            item_id=item.pk,
            item_title=item.title,
            template_id=template_id,
            file_id=found["id"],
            name=found.get("name", body["name"]),
            url=found["webViewLink"],
        )

    def make(self, needed: Needed) -> Iterator[FolderReady | DocumentReady]:
        folder = needed.folder
        if folder is None:
            ready = self.folder(needed.opportunity)
            yield ready
            folder_id = ready.file_id
        else:
            folder_id = folder.file_id
        for item, template_id in needed.items:
            yield self.document(needed.opportunity, needed.stage, item, template_id, folder_id)

    # the sync run: catching up

    def read(self, cursor: str) -> Iterator[FolderReady | DocumentReady]:
        since = timezone.now() - CATCH_UP
        stages = Stage.objects.filter(slug__in={row["stage"] for row in self.settings["templates"]})
        deals = (
            Opportunity.objects.filter(stage__in=stages, stage_entered_at__gte=since)
            .select_related("account", "stage__process")
            .order_by("stage_entered_at", "pk")
        )
        for needed in missing_documents(self.settings, list(deals[: CATCH_UP_LIMIT * 5])):
            try:
                with deal_lease(needed.opportunity.pk, wait=0):
                    yield from self.make(needed)
            except DealBusy:
                continue  # its own task is making them right now

    def cursor_after(self) -> str:
        return ""


def missing_documents(settings: dict, deals: list[Opportunity]) -> list[Needed]:
    """For deals (with stage__process and account loaded) in their current stage: the mapped
    items that have no document yet (two queries)."""
    stage_ids = {deal.stage_id for deal in deals}
    items_by_stage: dict[int, dict[str, StageItem]] = {}
    for item in StageItem.objects.filter(stage_id__in=stage_ids):
        items_by_stage.setdefault(item.stage_id, {})[item.title.casefold()] = item
    files = DriveFile.objects.filter(opportunity__in=deals)
    folders = {row.opportunity_id: row for row in files if row.kind == DriveFile.Kind.FOLDER}
    documents = {
        (row.opportunity_id, row.item_id) for row in files if row.kind == DriveFile.Kind.DOCUMENT
    }
    needed = []
    for deal in deals:
        items = items_by_stage.get(deal.stage_id, {})
        missing = [
            (items[row["item"].casefold()], row["template_id"])
            for row in template_rows(settings, deal.stage)
            if row["item"].casefold() in items
            and (deal.pk, items[row["item"].casefold()].pk) not in documents
        ]
        if missing:
            needed.append(Needed(deal, deal.stage, missing, folders.get(deal.pk)))
        if len(needed) >= CATCH_UP_LIMIT:
            break
    return needed


# --- the stage move's side: outbox consumer, task body ----------------------------------------


def drive_on_outbox_message(message) -> int:
    """The outbox consumer: a deal entered a stage; queue its documents, once the dispatch
    commits, for each enabled Drive connection. Idempotent: the task finds what exists."""
    if message.topic not in TOPICS:
        return 0
    data = message.payload or {}
    deal_id = data.get("opportunity_id")
    stage_id = data.get("to_stage_id") or data.get("stage_id")
    if deal_id is None or stage_id is None:
        return 0
    connection_ids = list(
        Connection.objects.filter(
            adapter=Connection.Adapter.GOOGLE_DRIVE, enabled=True
        ).values_list("pk", flat=True)
    )
    for connection_id in connection_ids:
        transaction.on_commit(lambda pk=connection_id: _enqueue(pk, deal_id, stage_id), robust=True)
    return len(connection_ids)


def _enqueue(connection_id: int, opportunity_id: int, stage_id: int) -> None:
    from integrations import tasks

    tasks.enqueue(tasks.drive_documents_create, connection_id, opportunity_id, stage_id)


class DealBusy(TransientSourceError):
    """Another task is creating this deal's files."""


@contextmanager
def deal_lease(opportunity_id: int, *, wait: float):
    """One task at a time creates a deal's files (two moves in a row queue two tasks); DealBusy
    when another one holds the deal past `wait` seconds (the task retries later)."""
    key = f"integrations:drive-deal:{opportunity_id}"
    deadline = time.monotonic() + wait
    while not cache.add(key, 1, timeout=DEAL_LEASE_SECONDS):
        if time.monotonic() >= deadline:
            raise DealBusy("Another task is creating this deal's documents; trying again later.")
        time.sleep(0.5)
    try:
        yield
    finally:
        cache.delete(key)


def drive_documents_create(
    *, connection_id: int, opportunity_id: int, stage_id: int, wait: float = DEAL_LEASE_WAIT
) -> int:
    """Create the deal's folder and the stage's documents that are missing; the number of
    documents recorded. A source that cannot be used marks the connection as needing attention
    (nothing is recorded); a transient failure is raised for the task to retry."""
    from integrations.sync import adapters, services
    from integrations.sync.google_writers import DriveWriter

    connection = Connection.objects.filter(pk=connection_id, enabled=True).first()
    deal = (
        Opportunity.objects.select_related("account", "process").filter(pk=opportunity_id).first()
    )
    stage = Stage.objects.select_related("process").filter(pk=stage_id).first()
    if connection is None or deal is None or stage is None or stage.process_id != deal.process_id:
        return 0
    deal.stage = stage  # the stage it entered, also when it has moved on since
    if not template_rows(connection.settings, stage):
        return 0
    with deal_lease(opportunity_id, wait=wait):
        needed = missing_documents(connection.settings, [deal])
        if not needed:
            return 0
        try:
            source = adapters.source_for(connection)
            ready = list(source.make(needed[0]))
        except (SourceError, crypto.DecryptionError) as error:
            if isinstance(error, TransientSourceError):
                raise
            services.connection_needs_attention(connection, str(error))
            return 0
        writer = DriveWriter(connection)
        with transaction.atomic():
            writer.write_all(ready)
    return writer.new_documents


def docs_tool_url() -> str:
    tool = Tool.objects.filter(slug=DOCS_TOOL).exclude(url="").first()
    return tool.url if tool is not None else "https://docs.google.com/"


def deal_folder(opportunity_id: int) -> DriveFile | None:
    return DriveFile.objects.filter(
        opportunity_id=opportunity_id, kind=DriveFile.Kind.FOLDER
    ).first()


# --- the deal page: documents in the timeline, the "Google Docs" tool opens the folder -------


def _documents(opportunity, before, limit):
    """The timeline source of kind "document": one query."""
    rows = DriveFile.objects.filter(opportunity=opportunity, kind=DriveFile.Kind.DOCUMENT)
    if before is not None:
        rows = rows.filter(created_at__lt=before)
    rows = rows.select_related("item", "stage").order_by("-created_at", "-pk")
    for row in rows[:limit]:
        yield timeline.Entry(
            kind="document",
            at=row.created_at,
            key=row.pk,
            title=f"Document created: {row.name}",
            detail=f"From the template for “{row.item.title}”" if row.item_id else "",
            via="Google Drive",
            url=row.url,
            link_text="open in Google Docs",
            flags=(row.stage.name,) if row.stage_id else (),
        )


def _folder_link(tool, opportunity) -> str:
    # No query here (the deal page's budget is fixed): the view finds the folder, if any.
    return reverse("integrations:drive-folder", args=[opportunity.pk])


def register_deal_page() -> None:
    timeline.register("document", "Documents", _documents)
    tool_links.register(DOCS_TOOL, _folder_link)
