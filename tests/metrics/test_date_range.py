"""Dates at the ends of the calendar (year 1, year 9999) give a clear refusal, never a 500 that
breaks the page for everyone."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from metrics.selectors import Period
from metrics.services import pilot_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query",
    [
        "period=custom&start=0001-01-01&end=9999-12-31",
        "period=custom&start=9999-12-31&end=9999-12-31",
        "period=custom&start=1969-12-31&end=2025-01-01",
    ],
)
def test_a_dashboard_period_out_of_range_says_so(client, carol, query):
    client.force_login(carol)

    response = client.get(f"/dashboards/?{query}")

    assert response.status_code in (200, 400)
    page = response.content.decode()
    assert "Choose a date" in page


def test_the_last_day_of_the_calendar_is_a_period_without_an_end():
    period = Period.of_dates(date(2025, 1, 1), date.max)

    assert period.end is None
    assert period.start is not None


def test_a_pilot_ending_in_9999_is_refused_with_a_message(carol, process, alice):
    with pytest.raises(ValidationError) as refused:
        pilot_create(
            actor=carol,
            name="Far future",
            process=process,
            baseline_process=process,
            members=[alice],
            starts_on=date(2025, 1, 1),
            ends_on=date(9999, 12, 31),
        )

    assert "Choose a date before 2200." in str(refused.value)
