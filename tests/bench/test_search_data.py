"""The search scenario's contacts at a tiny scale: three per bench account, written once."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from bench import generate, search
from epos.search import global_search
from opportunities.models import Account, Contact
from tests.conftest import require_service

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SCALE = 0.0005  # 50 opportunities, 20 accounts


@pytest.fixture
def dataset(db):
    require_service("PostgreSQL", connection.vendor == "postgresql", "the generator uses COPY")
    return generate.generate(scale=SCALE, log=lambda line: None)


def test_contacts_are_made_once_three_per_account(dataset):
    lines = []

    first = search.ensure_contacts(log=lines.append)
    ids = set(Contact.objects.values_list("pk", flat=True))
    again = search.ensure_contacts(log=lines.append)

    assert first == again == Account.objects.count() * search.CONTACTS_PER_ACCOUNT
    assert set(Contact.objects.values_list("pk", flat=True)) == ids  # not rewritten
    assert len(lines) == 1
    assert not Contact.objects.exclude(email__contains="@").exists()


def test_the_search_finds_a_generated_contact(dataset):
    search.ensure_contacts(log=lambda line: None)
    contact = Contact.objects.select_related("account").order_by("pk").first()
    admin = get_user_model().objects.get(username=generate.ADMIN_USERNAME)

    groups = {
        result.group.key: result
        for result in global_search(user=admin, text=contact.name, limit=50)
    }

    assert contact.name in {hit.title for hit in groups["contacts"].hits}
