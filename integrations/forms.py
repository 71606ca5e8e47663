"""Forms of the /integrations/ page: one per adapter that can be configured.

Each adding form names its adapter, turns its fields into the connection's settings and
credentials, and shows secrets as empty password inputs: what was typed is never sent back.
`CONNECTION_FORMS` lists them in the order the page offers them.
"""

import json

from django import forms

from integrations.models import Connection
from integrations.sync import google_client
from integrations.sync.ports import SourceError


def _json_object(text: str, example: str) -> dict:
    text = text.strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as error:
        raise forms.ValidationError(f"Not JSON: {error}.") from error
    if not isinstance(value, dict):
        raise forms.ValidationError(f"Expected a JSON object, e.g. {example}.")
    return value


def _secret(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=help_text,
    )


class ConnectionForm(forms.Form):
    """A new connection of `adapter`; subclasses add their fields."""

    system = Connection.System.VIVUN
    adapter = ""
    title = ""
    intro = ""

    name = forms.CharField(max_length=120)

    def __init__(self, *args, **kwargs):
        # Several of these forms share the page: ids carry the adapter, names stay plain.
        kwargs.setdefault("auto_id", f"id_{self.adapter}_%s")
        super().__init__(*args, **kwargs)

    def settings(self) -> dict:
        raise NotImplementedError

    def credentials(self) -> dict:
        return {}


class VivunCsvConnectionForm(ConnectionForm):
    """A Vivun CSV connection: where the exports are; column names may be renamed in JSON."""

    adapter = Connection.Adapter.VIVUN_CSV
    title = "Vivun CSV export"
    intro = "Reads the CSV reports exported from Vivun into a folder the server can read."

    activities_file = forms.CharField(
        max_length=500,
        required=False,
        help_text="Absolute path of the activities export (Activity ID, Opportunity ID, …).",
    )
    product_gaps_file = forms.CharField(
        max_length=500,
        required=False,
        help_text="Absolute path of the product gaps export (Product Gap ID, …).",
    )
    deliverables_file = forms.CharField(
        max_length=500,
        required=False,
        help_text="Absolute path of the deliverables export (Deliverable ID, Deliverable Type, …).",
    )
    record_url = forms.CharField(
        label="Link to a record in Vivun",
        max_length=500,
        required=False,
        help_text="An address with {id} for the record's ID, used when the export has no "
        "Vivun URL column, e.g. https://acme.vivun.app/records/{id}.",
    )
    columns = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='Renamed columns as JSON, e.g. {"activities": {"hours": "Hours Logged"}}.',
    )

    FILES = ("activities", "product_gaps", "deliverables")

    def clean_columns(self):
        return _json_object(self.cleaned_data["columns"], '{"activities": {...}}')

    def settings(self) -> dict:
        data = self.cleaned_data
        files = {
            name: data[f"{name}_file"].strip()
            for name in self.FILES
            if data[f"{name}_file"].strip()
        }
        settings = {"files": files}
        if data["columns"]:
            settings["columns"] = data["columns"]
        if data["record_url"]:
            settings["record_urls"] = {name: data["record_url"] for name in files}
        return settings


class VivunSalesforceConnectionForm(ConnectionForm):
    """Vivun's objects in Salesforce, through a connected app (client-credentials flow)."""

    adapter = Connection.Adapter.VIVUN_SALESFORCE
    title = "Vivun on Salesforce"
    intro = (
        "Reads Vivun's objects (activities, product gaps, deliverables) from your Salesforce org "
        "every 5 minutes, only what changed since the last run."
    )

    login_url = forms.URLField(
        assume_scheme="https",
        label="Salesforce address",
        max_length=300,
        initial="https://login.salesforce.com",
        help_text="Your org's My Domain, e.g. https://acme.my.salesforce.com.",
    )
    client_id = _secret(
        "Connected app consumer key", "Stored encrypted; never shown again after saving."
    )
    client_secret = _secret(
        "Connected app consumer secret",
        "The app needs the client-credentials flow with a run-as user that may read Vivun's "
        "objects.",
    )
    objects = forms.CharField(
        label="Object and field names",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='Only if yours differ from Vivun\'s package, as JSON, e.g. {"objects": '
        '{"product_gaps": ""}, "fields": {"activities": {"hours": "vh__SE_Hours__c"}}}.',
    )

    def clean_login_url(self):
        url = self.cleaned_data["login_url"].rstrip("/")
        if not url.startswith("https://"):
            raise forms.ValidationError("Salesforce is reached over https.")
        return url

    def clean_objects(self):
        value = _json_object(self.cleaned_data["objects"], '{"objects": {...}, "fields": {...}}')
        if set(value) - {"objects", "fields"}:
            raise forms.ValidationError('Only "objects" and "fields" go here.')
        return value

    def settings(self) -> dict:
        return {"login_url": self.cleaned_data["login_url"], **self.cleaned_data["objects"]}

    def credentials(self) -> dict:
        return {
            "client_id": self.cleaned_data["client_id"],
            "client_secret": self.cleaned_data["client_secret"],
        }


class VivunHttpConnectionForm(ConnectionForm):
    """Vivun's HTTP export endpoint, with an API token."""

    adapter = Connection.Adapter.VIVUN_HTTP
    title = "Vivun HTTP export"
    intro = "Reads Vivun's export endpoint page by page, only what changed since the last run."

    base_url = forms.URLField(
        assume_scheme="https",
        label="Export endpoint",
        max_length=500,
        help_text="The address of the export API, e.g. https://acme.vivun.app/api/export/v1.",
    )
    token = _secret("API token", "Stored encrypted; never shown again after saving.")
    record_url = forms.CharField(
        label="Link to a record in Vivun",
        max_length=500,
        required=False,
        help_text="An address with {id} for the record's ID, used when records carry no Vivun URL.",
    )

    def settings(self) -> dict:
        settings = {"base_url": self.cleaned_data["base_url"].rstrip("/")}
        if self.cleaned_data["record_url"]:
            settings["record_urls"] = dict.fromkeys(
                ("activities", "product_gaps", "deliverables"), self.cleaned_data["record_url"]
            )
        return settings

    def credentials(self) -> dict:
        return {"token": self.cleaned_data["token"]}


class GoogleConnectionForm(ConnectionForm):
    """A Google Workspace connection: a service account's key, uploaded as its JSON file."""

    system = Connection.System.GOOGLE
    MAX_KEY_BYTES = 64 * 1024

    key_file = forms.FileField(
        label="Service-account key (JSON file)",
        help_text="The key file Google Cloud gives for the service account. Stored encrypted; "
        "never shown again.",
    )

    def clean_key_file(self):
        upload = self.cleaned_data["key_file"]
        if upload.size > self.MAX_KEY_BYTES:
            raise forms.ValidationError("This file is too large to be a service-account key.")
        try:
            key = json.loads(upload.read().decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as error:
            raise forms.ValidationError(f"This file is not JSON: {error}.") from error
        try:
            google_client.check_service_account(key if isinstance(key, dict) else {})
        except SourceError as error:
            raise forms.ValidationError(str(error)) from error
        return key

    def credentials(self) -> dict:
        return self.cleaned_data["key_file"]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class GoogleDriveConnectionForm(GoogleConnectionForm):
    """Drive: the shared drive, and which template each checklist item gets (google_drive)."""

    adapter = Connection.Adapter.GOOGLE_DRIVE
    title = "Google Drive documents"
    intro = (
        "When a deal enters a stage, a service account that is a member of your shared drive "
        "creates the deal's folder and copies the stage's templates into it; each copy is "
        "the evidence of its checklist item."
    )

    shared_drive = forms.CharField(
        label="Shared drive",
        max_length=300,
        help_text="The shared drive's link or id (add the service account as a Content manager).",
    )
    parent_folder = forms.CharField(
        label="Folder for deals",
        max_length=300,
        required=False,
        help_text="Optional: the link of a folder in that drive to hold the deals' folders.",
    )
    templates = forms.CharField(
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "placeholder": "discovery | Discovery notes | https://docs.google.com/document/d/…",
            }
        ),
        help_text="One per line: stage slug | checklist item | the template's link or id. "
        "Write process-slug/stage-slug to limit a line to one process.",
    )

    def clean_templates(self):
        rows = []
        for number, line in enumerate(_lines(self.cleaned_data["templates"]), start=1):
            parts = [part.strip() for part in line.split("|")]
            if len(parts) != 3 or not all(parts):
                raise forms.ValidationError(
                    f"Line {number} needs three parts: stage | checklist item | template."
                )
            where, item, template = parts
            process, _, stage = where.rpartition("/")
            row = {"stage": stage, "item": item, "template_id": template}
            if process:
                row["process"] = process
            rows.append(row)
        return rows

    def settings(self) -> dict:
        settings = {
            "shared_drive_id": self.cleaned_data["shared_drive"],
            "templates": self.cleaned_data["templates"],
        }
        if self.cleaned_data["parent_folder"]:
            settings["parent_folder_id"] = self.cleaned_data["parent_folder"]
        return settings


class GoogleCalendarConnectionForm(GoogleConnectionForm):
    """Calendar: whose calendars, and how the service account reads them (google_calendar)."""

    adapter = Connection.Adapter.GOOGLE_CALENDAR
    title = "Google Calendar meetings"
    intro = (
        "Reads the SAs' calendars every 5 minutes, only what changed; a meeting becomes an "
        "activity of the deal its title tags [EPOS-<id>], or of the one open deal of the "
        "account whose email domain an attendee has."
    )

    calendars = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "sa1@example.com"}),
        help_text="The calendars' addresses, one per line; empty: every SA with an email.",
    )
    delegation = forms.BooleanField(
        label="Read each calendar as its owner (domain-wide delegation)",
        required=False,
        initial=True,
        help_text="Off: each calendar must be shared with the service account.",
    )
    since_days = forms.IntegerField(
        label="Days back on the first sync", min_value=1, max_value=3650, initial=90
    )
    internal_domains = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Your own email domains, never a customer (the SAs' domains always are).",
    )

    def clean_calendars(self):
        values = _lines(self.cleaned_data["calendars"].replace(",", "\n"))
        return [value.lower() for value in values]

    def clean_internal_domains(self):
        text = self.cleaned_data["internal_domains"].replace(",", " ")
        return [value.lower() for value in text.split()]

    def settings(self) -> dict:
        settings = {
            "delegation": self.cleaned_data["delegation"],
            "since_days": self.cleaned_data["since_days"],
        }
        if self.cleaned_data["calendars"]:
            settings["calendars"] = self.cleaned_data["calendars"]
        if self.cleaned_data["internal_domains"]:
            settings["internal_domains"] = self.cleaned_data["internal_domains"]
        return settings


CONNECTION_FORMS = {
    form.adapter: form
    for form in (
        VivunCsvConnectionForm,
        VivunSalesforceConnectionForm,
        VivunHttpConnectionForm,
        GoogleDriveConnectionForm,
        GoogleCalendarConnectionForm,
    )
}
