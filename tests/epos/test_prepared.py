"""epos.lib.prepared: a read compiled once answers what its queryset answers, for any values."""

import threading

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from epos.lib.prepared import PreparedRead
from opportunities.models import Opportunity
from tests import factories

DEALS = PreparedRead(
    lambda owner_id: (
        Opportunity.objects.select_related("account", "owner", "team")
        .filter(owner_id=owner_id)
        .order_by("pk")
    ),
    owner_id=-1,
)
NAMES = PreparedRead(
    lambda owner_id, name: (
        Opportunity.objects.filter(owner_id=owner_id, name__gte=name)
        .order_by("name")
        .values_list("name", "amount")
    ),
    owner_id=-1,
    name="stand-in name",
)


@pytest.fixture
def deals(alice, bob, team, stages):
    account = factories.AccountFactory(name="Acme")
    return {
        alice: [
            factories.OpportunityFactory(
                name="Acme observability", owner=alice, team=team, account=account, amount=100
            ),
            factories.OpportunityFactory(
                name="Acme security", owner=alice, team=None, account=None, amount=None
            ),
        ],
        bob: [factories.OpportunityFactory(name="Globex APM", owner=bob, team=team, amount=7)],
    }


def test_model_rows_equal_the_querysets_with_their_relations_loaded(deals, alice, bob):
    for owner, expected in deals.items():
        with CaptureQueriesContext(connection) as queries:
            rows = DEALS.rows(owner_id=owner.pk)
            seen = [
                (row.pk, row.name, row.amount, row.account, row.owner.username, row.team)
                for row in rows
            ]
        assert len(queries) == 1, "the relations come with the rows"
        assert rows == expected
        assert seen == [
            (deal.pk, deal.name, deal.amount, deal.account, owner.username, deal.team)
            for deal in Opportunity.objects.filter(owner=owner).order_by("pk")
        ]
        assert {row.amount.__class__.__name__ for row in rows if row.amount is not None} == {
            "Decimal"
        }


def test_tuples_equal_the_querysets_and_each_value_reaches_its_own_slot(deals, alice, bob):
    for owner, name in [(alice, "Acme"), (alice, "Acme s"), (bob, "Acme"), (bob, "H")]:
        expected = list(
            Opportunity.objects.filter(owner=owner, name__gte=name)
            .order_by("name")
            .values_list("name", "amount")
        )
        assert NAMES.rows(owner_id=owner.pk, name=name) == expected
    assert NAMES.rows(owner_id=alice.pk, name="Acme s") == [("Acme security", None)]
    assert NAMES.rows(owner_id=bob.pk, name="H") == []


@pytest.mark.django_db(transaction=True)
def test_a_read_prepared_in_one_thread_answers_in_another(postgres_only, deals, alice):
    """Each thread compiles on its own connection (the rows are committed so both see them)."""
    expected = [deal.pk for deal in deals[alice]]
    assert [row.pk for row in DEALS.rows(owner_id=alice.pk)] == expected
    answers = []

    def read():
        try:
            answers.append([row.pk for row in DEALS.rows(owner_id=alice.pk)])
        finally:
            connection.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert answers == [expected]


def test_parameters_are_checked(db):
    with pytest.raises(TypeError, match="Expected the parameters"):
        NAMES.rows(owner_id=1)
    with pytest.raises(TypeError, match="'name' must be str"):
        NAMES.rows(owner_id=1, name=5)
    with pytest.raises(TypeError, match="'owner_id' must be int"):
        DEALS.rows(owner_id="1")


def test_a_parameter_the_query_transforms_is_refused(db):
    # startswith escapes the value and appends '%': the stand-in never reaches the SQL as given.
    read = PreparedRead(lambda name: Group.objects.filter(name__startswith=name), name="x-y")
    with pytest.raises(ImproperlyConfigured, match="appears 0 times"):
        read.rows(name="sa")


def test_a_stand_in_that_is_not_unique_in_the_query_is_refused(db):
    read = PreparedRead(lambda pk: Group.objects.filter(pk=pk, id__gte=0), pk=0)
    with pytest.raises(ImproperlyConfigured, match="appears 2 times"):
        read.rows(pk=1)
    with pytest.raises(ImproperlyConfigured, match="ints or strings"):
        PreparedRead(lambda pk: Group.objects.filter(pk=pk), pk=1.5)


def test_each_connection_object_runs_the_read_on_itself(postgres_only, alice, deals):
    """A thread's (or an async context's) own connection object must not be handed a compiler
    made on another one: that one may sit in another transaction and see other rows."""
    own = connections["default"]
    assert [row.pk for row in DEALS.rows(owner_id=alice.pk)] == [d.pk for d in deals[alice]]
    other = connections.create_connection("default")
    connections["default"] = other
    try:
        # The deals are not committed (the test's transaction): the other session sees none.
        assert DEALS.rows(owner_id=alice.pk) == []
    finally:
        connections["default"] = own
        other.close()
    assert [row.pk for row in DEALS.rows(owner_id=alice.pk)] == [d.pk for d in deals[alice]]
