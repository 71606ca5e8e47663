"""Calendar: the SAs' meetings become activities of their deals, synced incrementally with
syncToken; a 410 lists everything again; failures keep the cursor and write nothing."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from epos.models import OutboxMessage
from integrations.models import Connection, SyncRun
from integrations.sync import google_calendar, services
from integrations.sync.google_writers import external_id
from opportunities.models import Activity, Opportunity
from tests import factories
from tests.integrations.google.fake import meeting, new_key

pytestmark = pytest.mark.django_db

CUSTOMER = "acme.io"


@pytest.fixture
def account():
    return factories.AccountFactory(name="Acme", domain=CUSTOMER)


@pytest.fixture
def deal(account, alice, team, stages):
    return factories.OpportunityFactory(
        name="Acme observability", account=account, stage=stages[0], owner=alice, team=team
    )


def sync(connection, capture):
    with capture(execute=True):
        run, _ = services.sync_request(actor=None, connection=connection)
    run.refresh_from_db()
    connection.refresh_from_db()
    return run


def ago(days, hour=10):
    moment = timezone.now() - timedelta(days=days)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0)


def activities():
    return Activity.objects.filter(source=Activity.Source.GOOGLE_CALENDAR)


@pytest.fixture
def event_queries(calendar, monkeypatch):
    """The parameters of every events.list request the fake received."""
    seen = []
    original = calendar._events

    def record(request, calendar_id):
        seen.append(dict(request.args))
        return original(request, calendar_id)

    monkeypatch.setattr(calendar, "_events", record)
    return seen


def test_a_first_sync_links_meetings_by_tag_and_by_attendee_domain(
    calendar_connection, calendar, deal, alice, stages, team, django_capture_on_commit_callbacks
):
    other = factories.OpportunityFactory(name="Globex", stage=stages[0], owner=alice, team=team)
    tagged = calendar.add_event(
        alice.email,
        **meeting(ago(3), 45, title=f"Sizing review [EPOS-{other.pk}]"),
    )
    by_domain = calendar.add_event(
        alice.email,
        **meeting(ago(2), 30, title="Acme demo", attendees=[alice.email, f"cto@{CUSTOMER}"]),
    )
    calendar.add_event(alice.email, **meeting(ago(1), title="1:1", attendees=["bob@example.com"]))

    run = sync(calendar_connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.counts | {} == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "deleted": 0,
        "skipped": 1,
        "failed": 0,
    }
    rows = {row.external_id: row for row in activities()}
    first = rows[external_id(alice.pk, tagged["id"])]
    assert (first.opportunity_id, first.duration_minutes, first.kind) == (other.pk, 45, "meeting")
    assert first.occurred_at == ago(3)
    assert first.summary == f"Sizing review [EPOS-{other.pk}]"
    assert first.created_by == alice  # the calendar's owner is the SA
    second = rows[external_id(alice.pk, by_domain["id"])]
    assert (second.opportunity_id, second.kind, second.duration_minutes) == (deal.pk, "demo", 30)
    # No item of these deals' stages listens to activities: nothing to announce.
    assert not OutboxMessage.objects.filter(topic="activity.recorded").exists()
    cursor = json.loads(calendar_connection.cursor)
    assert list(cursor) == [alice.email]
    assert cursor[alice.email] in calendar.valid_tokens


def test_the_account_reads_each_calendar_as_its_owner(
    calendar_connection, calendar, alice, django_capture_on_commit_callbacks
):
    sync(calendar_connection, django_capture_on_commit_callbacks)

    assert [claims["sub"] for claims in calendar.token_requests] == [alice.email]
    assert (
        calendar.token_requests[0]["scope"] == "https://www.googleapis.com/auth/calendar.readonly"
    )


def test_the_next_sync_asks_only_for_changes_and_applies_them(
    calendar_connection, calendar, deal, alice, event_queries, django_capture_on_commit_callbacks
):
    moved = calendar.add_event(
        alice.email, **meeting(ago(5), title="Discovery", attendees=[f"ceo@{CUSTOMER}"])
    )
    cancelled = calendar.add_event(
        alice.email, **meeting(ago(4), title="Workshop", attendees=[f"it@{CUSTOMER}"])
    )
    untagged = calendar.add_event(alice.email, **meeting(ago(3), title=f"Prep [EPOS-{deal.pk}]"))
    kept = calendar.add_event(alice.email, **meeting(ago(2), title=f"Call [EPOS-{deal.pk}]"))
    sync(calendar_connection, django_capture_on_commit_callbacks)
    token = json.loads(calendar_connection.cursor)[alice.email]
    assert activities().count() == 4

    calendar.change_event(
        alice.email,
        moved["id"],
        start={"dateTime": ago(1, hour=15).isoformat()},
        end={"dateTime": (ago(1, hour=15) + timedelta(minutes=90)).isoformat()},
    )
    calendar.cancel_event(alice.email, cancelled["id"])
    calendar.change_event(alice.email, untagged["id"], summary="Prep, internal")
    added = calendar.add_event(
        alice.email, **meeting(ago(0), title=f"POC kickoff [EPOS-{deal.pk}]")
    )
    run = sync(calendar_connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert event_queries[-1].get("syncToken") == token
    assert "timeMin" not in event_queries[-1]
    assert (run.counts["created"], run.counts["updated"], run.counts["deleted"]) == (1, 1, 2)
    rows = {row.external_id: row for row in activities()}
    assert set(rows) == {external_id(alice.pk, e["id"]) for e in (moved, kept, added)}
    changed = rows[external_id(alice.pk, moved["id"])]
    assert (changed.occurred_at, changed.duration_minutes) == (ago(1, hour=15), 90)
    assert rows[external_id(alice.pk, added["id"])].kind == "poc_work"
    assert json.loads(calendar_connection.cursor)[alice.email] != token


def test_a_410_lists_everything_again_and_drops_what_google_no_longer_has(
    calendar_connection, calendar, deal, alice, event_queries, django_capture_on_commit_callbacks
):
    first = calendar.add_event(alice.email, **meeting(ago(5), title=f"A [EPOS-{deal.pk}]"))
    second = calendar.add_event(alice.email, **meeting(ago(4), title=f"B [EPOS-{deal.pk}]"))
    sync(calendar_connection, django_capture_on_commit_callbacks)
    # Gone while the token expired: only a full listing can tell.
    del calendar.calendars[alice.email][second["id"]]
    calendar.expire_sync_tokens()

    run = sync(calendar_connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert "syncToken" in event_queries[-2] and "syncToken" not in event_queries[-1]
    assert "timeMin" in event_queries[-1]
    assert list(activities().values_list("external_id", flat=True)) == [
        external_id(alice.pk, first["id"])
    ]
    assert run.counts["deleted"] == 1 and run.counts["unchanged"] == 1
    assert json.loads(calendar_connection.cursor)[alice.email] in calendar.valid_tokens


def test_pages_are_followed_to_the_sync_token(
    calendar_connection,
    calendar,
    deal,
    alice,
    event_queries,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    monkeypatch.setattr(google_calendar, "PAGE_SIZE", 2)
    for day in range(5):
        calendar.add_event(alice.email, **meeting(ago(day + 1), title=f"M{day} [EPOS-{deal.pk}]"))

    run = sync(calendar_connection, django_capture_on_commit_callbacks)

    assert run.counts["created"] == 5
    assert [query.get("pageToken") for query in event_queries] == [None, "2", "4"]
    assert all(query["maxResults"] == "2" for query in event_queries)


def test_a_429_waits_as_asked_and_the_sync_goes_on(
    calendar_connection, calendar, deal, alice, django_capture_on_commit_callbacks
):
    calendar.add_event(alice.email, **meeting(ago(1), title=f"Demo [EPOS-{deal.pk}]"))
    calendar.fail("/events", 429, headers={"Retry-After": "3"})

    run = sync(calendar_connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert calendar.waits == [3.0]
    assert activities().count() == 1


def test_google_down_fails_the_run_keeps_the_cursor_and_writes_nothing(
    calendar_connection, calendar, deal, alice, django_capture_on_commit_callbacks
):
    calendar.add_event(alice.email, **meeting(ago(2), title=f"Demo [EPOS-{deal.pk}]"))
    sync(calendar_connection, django_capture_on_commit_callbacks)
    cursor = calendar_connection.cursor
    calendar.add_event(alice.email, **meeting(ago(1), title=f"Workshop [EPOS-{deal.pk}]"))
    calendar.fail("/events", 503, times=99)

    run = sync(calendar_connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.FAILED
    assert "Google is busy" in run.message
    assert calendar_connection.cursor == cursor
    assert run.cursor_after == cursor
    assert activities().count() == 1
    assert calendar_connection.status == Connection.Status.OK  # nothing for the admin to fix


def test_a_failure_half_way_keeps_nothing_of_the_pages_read(
    calendar_connection, calendar, deal, alice, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(google_calendar, "PAGE_SIZE", 1)
    for day in range(3):
        calendar.add_event(alice.email, **meeting(ago(day + 1), title=f"M [EPOS-{deal.pk}]"))
    # The first page comes back, the second one never does.
    original = calendar._events
    calls = []

    def second_page_fails(request, calendar_id):
        calls.append(1)
        if len(calls) >= 2:
            from tests.integrations.google.fake import _error

            return _error(500, "Backend Error", "backendError")
        return original(request, calendar_id)

    monkeypatch.setattr(calendar, "_events", second_page_fails)

    run = sync(calendar_connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.FAILED
    assert len(calls) == 5  # the first page, then four tries of the second
    assert activities().count() == 0
    assert calendar_connection.cursor == ""


def test_a_persistent_401_needs_attention_and_keeps_the_cursor(
    calendar_connection, calendar, deal, alice, django_capture_on_commit_callbacks
):
    calendar.add_event(alice.email, **meeting(ago(2), title=f"Demo [EPOS-{deal.pk}]"))
    sync(calendar_connection, django_capture_on_commit_callbacks)
    cursor = calendar_connection.cursor
    calendar.reject_tokens = True

    run = sync(calendar_connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.FAILED
    assert calendar_connection.status == Connection.Status.NEEDS_ATTENTION
    assert "401" in calendar_connection.status_message
    assert calendar_connection.cursor == cursor


def test_a_key_google_does_not_know_needs_attention(
    calendar_connection, calendar, root, django_capture_on_commit_callbacks
):
    services.connection_update(
        actor=root, connection=calendar_connection, credentials=calendar.credentials(key=new_key())
    )

    run = sync(calendar_connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.FAILED
    assert calendar_connection.status == Connection.Status.NEEDS_ATTENTION
    assert "Invalid JWT Signature" in calendar_connection.status_message
    assert "rotated" in calendar_connection.status_message


def test_delegation_not_granted_says_so(calendar_connection, calendar, alice, root):
    calendar.delegated.clear()

    ok, message = services.connection_test(actor=root, connection=calendar_connection)

    assert not ok
    assert "unauthorized_client" in message
    assert f"on behalf of {alice.email}" in message
    assert "domain-wide delegation" in message


def test_without_delegation_the_calendar_must_be_shared_with_the_account(
    calendar_connection, calendar, alice, root
):
    services.connection_update(
        actor=root,
        connection=calendar_connection,
        settings={"api_endpoint": calendar.api_endpoint, "delegation": False},
    )
    ok, message = services.connection_test(actor=root, connection=calendar_connection)
    assert not ok and "cannot open the calendar of" in message and "404" in message

    calendar.shared_calendars.add(alice.email)
    ok, message = services.connection_test(actor=root, connection=calendar_connection)
    assert ok, message
    assert message == f"Read the calendars {alice.email}."
    assert all("sub" not in claims for claims in calendar.token_requests)


def test_several_open_deals_of_the_account_are_not_guessed_between(
    calendar_connection,
    calendar,
    deal,
    account,
    alice,
    bob,
    stages,
    team,
    django_capture_on_commit_callbacks,
):
    bobs = factories.OpportunityFactory(account=account, stage=stages[0], owner=bob, team=team)
    calendar.delegated.add(bob.email)
    calendar.calendars[bob.email] = {}
    calendar.add_event(alice.email, **meeting(ago(1), attendees=[f"cfo@{CUSTOMER}"]))
    # Alice's own deal is preferred over bob's one at the same account.
    run = sync(calendar_connection, django_capture_on_commit_callbacks)
    assert activities().get().opportunity_id == deal.pk

    second = factories.OpportunityFactory(account=account, stage=stages[0], owner=alice, team=team)
    calendar.add_event(alice.email, **meeting(ago(0), attendees=[f"cfo@{CUSTOMER}"]))
    run = sync(calendar_connection, django_capture_on_commit_callbacks)

    assert run.counts["skipped"] == 1 and run.counts["created"] == 0
    assert not activities().filter(opportunity__in=[bobs, second]).exists()


def test_a_deal_closed_before_the_meeting_does_not_get_it(
    calendar_connection, calendar, deal, alice, stages, django_capture_on_commit_callbacks
):
    Opportunity.objects.filter(pk=deal.pk).update(
        outcome="lost", closed_at=ago(10), stage=stages[-1]
    )
    calendar.add_event(alice.email, **meeting(ago(11), title="Before", attendees=[f"a@{CUSTOMER}"]))
    calendar.add_event(alice.email, **meeting(ago(5), title="After", attendees=[f"a@{CUSTOMER}"]))

    run = sync(calendar_connection, django_capture_on_commit_callbacks)

    assert list(activities().values_list("summary", flat=True)) == ["Before"]
    assert run.counts["skipped"] == 1


def test_declined_meetings_and_rooms_are_not_activities(
    calendar_connection, calendar, deal, alice, django_capture_on_commit_callbacks
):
    declined = meeting(ago(2), title=f"Demo [EPOS-{deal.pk}]")
    declined["attendees"] = [{"email": alice.email, "self": True, "responseStatus": "declined"}]
    calendar.add_event(alice.email, **declined)
    room = meeting(ago(1), title="Room only")
    room["attendees"] = [{"email": f"room-1@{CUSTOMER}", "resource": True}]
    calendar.add_event(alice.email, **room)

    run = sync(calendar_connection, django_capture_on_commit_callbacks)

    assert run.counts["skipped"] == 2
    assert not activities().exists()


def test_problems_are_reported_per_event_and_the_rest_is_written(
    calendar_connection, calendar, deal, alice, root, django_capture_on_commit_callbacks
):
    services.connection_update(
        actor=root,
        connection=calendar_connection,
        settings={"api_endpoint": calendar.api_endpoint, "calendars": [alice.email, "ghost@x.io"]},
    )
    calendar.add_event(alice.email, **meeting(ago(2), title="Review [EPOS-999999]"))
    calendar.add_event(alice.email, **meeting(ago(1), title=f"Fine [EPOS-{deal.pk}]"))

    run = sync(calendar_connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.PARTIAL
    assert run.counts["created"] == 1 and run.counts["failed"] == 2
    reasons = {error["row"]: error["reason"] for error in run.errors}
    assert reasons[f"{alice.email}: “Review [EPOS-999999]”"] == (
        "its tag names EPOS-999999, and no such deal exists"
    )
    assert "no EPOS user" in reasons["ghost@x.io"]


def test_all_day_events_have_no_duration(
    calendar_connection, calendar, deal, alice, django_capture_on_commit_callbacks
):
    day = ago(3).date()
    calendar.add_event(
        alice.email,
        summary=f"Onsite workshop [EPOS-{deal.pk}]",
        start={"date": day.isoformat()},
        end={"date": (day + timedelta(days=1)).isoformat()},
    )

    sync(calendar_connection, django_capture_on_commit_callbacks)

    row = activities().get()
    assert (row.kind, row.duration_minutes) == ("workshop", None)
    assert timezone.localtime(row.occurred_at).date() == day


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"calendars": ["not-an-email"]}, "email addresses"),
        ({"since_days": 0}, "since_days"),
        ({"delegation": "yes"}, "true or false"),
        ({"internal_domains": ["@acme"]}, "domains"),
        ({"api_endpoint": "ftp://x"}, "http"),
        ({"colour": "blue"}, "Unknown settings"),
    ],
)
def test_settings_are_checked(value, error):
    from epos.lib.errors import InvalidInput

    with pytest.raises(InvalidInput, match=error):
        google_calendar.clean_settings(value)


def test_a_calendar_google_will_not_open_is_reported_and_the_others_sync(
    calendar_connection, calendar, deal, alice, bob, django_capture_on_commit_callbacks
):
    # Bob's address has no delegation (he left, or his calendar is elsewhere).
    calendar.calendars[bob.email] = {}
    calendar.add_event(alice.email, **meeting(ago(1), title=f"Demo [EPOS-{deal.pk}]"))

    run = sync(calendar_connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.PARTIAL
    assert activities().count() == 1
    reasons = {error["row"]: error["reason"] for error in run.errors}
    assert "unauthorized_client" in reasons[bob.email]
    assert list(json.loads(calendar_connection.cursor)) == [alice.email]
    assert calendar_connection.status == Connection.Status.OK


def test_a_meeting_held_in_the_current_stage_is_evidence_for_its_checklist(
    calendar_connection, calendar, deal, alice, stages, django_capture_on_commit_callbacks
):
    from opportunities.models import ChecklistCompletion

    call = factories.StageItemFactory(
        stage=stages[0],
        title="Hold the discovery call",
        evidence_event="activity.recorded",
        evidence_condition={"kind": ["call", "meeting"]},
    )
    Opportunity.objects.filter(pk=deal.pk).update(stage_entered_at=ago(3, hour=0))
    held = calendar.add_event(alice.email, **meeting(ago(1), title=f"Discovery [EPOS-{deal.pk}]"))
    calendar.add_event(alice.email, **meeting(ago(2), title=f"Follow-up [EPOS-{deal.pk}]"))
    calendar.add_event(alice.email, **meeting(ago(5), title=f"Intro [EPOS-{deal.pk}]"))
    calendar.add_event(
        alice.email, **meeting(timezone.now() + timedelta(days=2), title=f"Next [EPOS-{deal.pk}]")
    )

    sync(calendar_connection, django_capture_on_commit_callbacks)

    # One event is all the automation needs: the newest meeting held in this stage.
    events = OutboxMessage.objects.filter(topic="activity.recorded")
    activity = activities().get(external_id=external_id(alice.pk, held["id"]))
    assert [event.payload["activity_id"] for event in events] == [activity.pk]
    done = ChecklistCompletion.objects.get(opportunity=deal, item=call)
    assert done.done and done.auto_event_id == events.get().pk
