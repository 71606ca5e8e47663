"""The fake Google (fake.py) on loopback, a service-account key made for each session, and the
Drive and Calendar connections pointed at it."""

import pytest

from integrations.sync import google_client, services
from stages.models import StageItem
from tests import factories
from tests.integrations.google.fake import FakeGoogle, new_key

SHARED_DRIVE = "0AFakeSharedDrive9PVA"
TEMPLATE = "1TemplateDiscoveryNotes0"
POC_TEMPLATE = "1TemplatePocPlanDocument0"


@pytest.fixture(scope="session")
def rsa_key():
    return new_key()


@pytest.fixture
def waits(monkeypatch):
    """The client's pauses between attempts, recorded instead of slept through."""
    recorded = []
    monkeypatch.setattr(google_client, "sleep", recorded.append)
    return recorded


@pytest.fixture
def google(httpserver, rsa_key, waits):
    fake = FakeGoogle(httpserver, rsa_key)
    fake.waits = waits
    return fake


@pytest.fixture
def notes_item(stages):
    """A deliverable of the Demo stage whose evidence is the document made for it."""
    item = factories.StageItemFactory(
        stage=stages[1],
        position=9,
        kind=StageItem.Kind.DELIVERABLE,
        title="Discovery notes",
        evidence_event="document.created",
    )
    item.evidence_condition = {"item_id": item.pk}
    item.save(update_fields=["evidence_condition"])
    return item


@pytest.fixture
def drive(google):
    """The shared drive with the Discovery notes template in it."""
    google.add_drive(SHARED_DRIVE, "Pre-sales deals")
    google.add_file("Template: discovery notes", file_id=TEMPLATE, drive_id=SHARED_DRIVE)
    return google


@pytest.fixture
def drive_connection(root, drive, notes_item):
    return services.connection_create(
        actor=root,
        system="google",
        adapter="google_drive",
        name="Deal documents",
        settings={
            "shared_drive_id": SHARED_DRIVE,
            "templates": [{"stage": "demo", "item": "Discovery notes", "template_id": TEMPLATE}],
            "api_endpoint": drive.api_endpoint,
        },
        credentials=drive.credentials(),
    )


@pytest.fixture
def calendar(google, alice):
    """Alice's calendar, readable through domain-wide delegation."""
    google.delegated.add(alice.email)
    google.calendars[alice.email] = {}
    return google


@pytest.fixture
def calendar_connection(root, calendar):
    return services.connection_create(
        actor=root,
        system="google",
        adapter="google_calendar",
        name="SA calendars",
        settings={"api_endpoint": calendar.api_endpoint},
        credentials=calendar.credentials(),
    )
