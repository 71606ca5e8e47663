"""The filters of every metric: the opportunity list's, plus a segment and a period.

`closed_after` / `closed_before` do not narrow the opportunities here: they are the period the
closed-deal metrics look at (MTTC counts deals won in the period, pipeline is what is open now).
The selectors receive the period separately as a `Period`.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_filters import rest_framework as filters

from epos.lib.dates import check_utc_offset
from opportunities.filters import OpportunityFilter
from opportunities.models import Account


class DateOrDateTimeField(forms.Field):
    """ISO 8601 date (midnight, in the current time zone) or datetime."""

    default_error_messages = {"invalid": "Enter an ISO 8601 date or datetime."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime.combine(value, time.min)
        else:
            text = str(value).strip()
            try:
                moment = parse_datetime(text)
                if moment is None:
                    day = parse_date(text)
                    moment = datetime.combine(day, time.min) if day else None
            except ValueError:
                moment = None
            if moment is None:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return check_utc_offset(moment)


class PeriodBoundFilter(filters.Filter):
    field_class = DateOrDateTimeField

    def filter(self, queryset, value):
        # Read by the selectors as the period; the opportunities are not narrowed by it.
        return queryset


class MetricsFilter(OpportunityFilter):
    segment = filters.ChoiceFilter(
        field_name="account__segment", choices=Account.Segment.choices, label="Segment"
    )
    closed_after = PeriodBoundFilter(
        label="Period start (inclusive): deals closed, stages entered or left from then on"
    )
    closed_before = PeriodBoundFilter(label="Period end (exclusive)")

    class Meta(OpportunityFilter.Meta):
        fields = [*OpportunityFilter.Meta.fields]
