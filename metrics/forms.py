from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.contrib.auth import get_user_model

from epos.lib.dates import sane_date_validators
from metrics.models import Pilot, Quota, SaCapacity
from metrics.selectors import Period
from metrics.selectors.workload import DEFAULT_WINDOW, WINDOWS
from metrics.selectors.workload import DRILLS as WORKLOAD_DRILLS
from opportunities.models import Account, Opportunity, ProductGap
from stages.models import Process

PERIODS = (
    ("90d", "Last 90 days"),
    ("180d", "Last 180 days"),
    ("365d", "Last 12 months"),
    ("ytd", "This year"),
    ("all", "All time"),
    ("custom", "Custom dates"),
)
DEFAULT_PERIOD = "365d"
PERIOD_DAYS = {"90d": 90, "180d": 180, "365d": 365}


class DashboardForm(forms.Form):
    """The dashboard's filters. Choices are handed in (one query each, reused for rendering)."""

    process = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    period = forms.ChoiceField(choices=PERIODS, required=False)
    start = forms.DateField(
        required=False,
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=sane_date_validators(),
    )
    end = forms.DateField(
        required=False,
        label="To (inclusive)",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=sane_date_validators(),
    )
    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    use_case = forms.ChoiceField(
        choices=[("", "All use cases"), *Opportunity.UseCase.choices], required=False
    )
    segment = forms.ChoiceField(
        choices=[("", "All segments"), *Account.Segment.choices], required=False
    )

    def __init__(self, data, *, processes: list, teams: list, default_process: int | None):
        data = data.copy() if data is not None else {}
        if not data.get("process") and default_process is not None:
            data["process"] = str(default_process)
        if not data.get("period"):
            data["period"] = DEFAULT_PERIOD
        super().__init__(data)
        self.fields["process"].choices = [
            (
                process.pk,
                f"{process.name} v{process.version}"
                + (" (retired)" if process.status == Process.Status.RETIRED else ""),
            )
            for process in processes
        ]
        self.fields["team"].choices = [("", "All teams")] + [(t.pk, t.name) for t in teams]

    def clean(self):
        cleaned = super().clean()
        cleaned["period"] = cleaned.get("period") or DEFAULT_PERIOD
        if cleaned["period"] == "custom":
            start, end = cleaned.get("start"), cleaned.get("end")
            if start and end and end < start:
                self.add_error("end", "The period ends before it starts.")
        return cleaned

    def period_bounds(self, today: date) -> Period:
        data = self.cleaned_data
        choice = data.get("period") or DEFAULT_PERIOD
        if choice in PERIOD_DAYS:
            return Period.of_dates(today - timedelta(days=PERIOD_DAYS[choice] - 1), today)
        if choice == "ytd":
            return Period.of_dates(date(today.year, 1, 1), today)
        if choice == "custom":
            return Period.of_dates(data.get("start"), data.get("end"))
        return Period()

    def metric_params(self, today: date) -> dict:
        """What `metrics.selectors.metric_scope` reads (the MetricsFilter's names)."""
        data = self.cleaned_data
        period = self.period_bounds(today)
        params = {
            "process": data.get("process"),
            "team": data.get("team"),
            "use_case": data.get("use_case"),
            "segment": data.get("segment"),
            "closed_after": period.start.isoformat() if period.start else None,
            "closed_before": period.end.isoformat() if period.end else None,
        }
        return {key: value for key, value in params.items() if value not in (None, "")}

    def query(self) -> dict:
        """The filters as query parameters, for the links from the page (drill-down, CSV)."""
        data = self.cleaned_data
        params = {
            "process": data.get("process"),
            "period": data.get("period") or DEFAULT_PERIOD,
            "team": data.get("team"),
            "use_case": data.get("use_case"),
            "segment": data.get("segment"),
        }
        if params["period"] == "custom":
            params["start"] = data.get("start")
            params["end"] = data.get("end")
        return {key: str(value) for key, value in params.items() if value not in (None, "")}


class PilotForm(forms.ModelForm):
    members = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="The SAs who run their new deals on the pilot process.",
    )

    class Meta:
        model = Pilot
        fields = [
            "name",
            "hypothesis",
            "process",
            "baseline_process",
            "members",
            "starts_on",
            "ends_on",
            "target_metric",
            "target_value",
        ]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
            "hypothesis": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"process": "Pilot process (new version)", "baseline_process": "Baseline process"}

    def __init__(self, *args, members_queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = members_queryset
        self.fields["members"].label_from_instance = lambda user: (
            user.get_full_name() or user.username
        )
        processes = Process.objects.exclude(status=Process.Status.RETIRED).order_by(
            "name", "-version"
        )
        self.fields["process"].queryset = processes
        self.fields["baseline_process"].queryset = Process.objects.order_by("name", "-version")


class QuotaForm(forms.ModelForm):
    class Meta:
        model = Quota
        fields = ["user", "kind", "period_start", "period_end", "target"]
        widgets = {
            "period_start": forms.DateInput(attrs={"type": "date"}),
            "period_end": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, users_queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users_queryset
        self.fields["user"].label = "Person"
        self.fields["user"].label_from_instance = lambda user: user.get_full_name() or user.username


# --- workload ---------------------------------------------------------------------------------

WINDOW_CHOICES = [(days, f"Last {days} days") for days in WINDOWS]


class WorkloadForm(forms.Form):
    """The workload page's filters (also carried by its capacity forms and drill-down links).
    Choices are handed in: the user's workload teams and the processes."""

    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    window = forms.TypedChoiceField(
        coerce=int, choices=WINDOW_CHOICES, required=False, empty_value=DEFAULT_WINDOW
    )
    process = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, data, *, teams: list, processes: list):
        super().__init__(data)
        self.teams = teams
        self.processes = processes
        self.fields["team"].choices = [("", "All my teams")] + [(t.pk, t.name) for t in teams]
        self.fields["process"].choices = [("", "All processes")] + [
            (p.pk, f"{p.name} v{p.version}") for p in processes
        ]

    def chosen_teams(self) -> list:
        team = self.cleaned_data.get("team")
        return [t for t in self.teams if team is None or t.pk == team]

    def chosen_process(self):
        pk = self.cleaned_data.get("process")
        return next((p for p in self.processes if p.pk == pk), None)

    def chosen_window(self) -> int:
        return self.cleaned_data.get("window") or DEFAULT_WINDOW

    def query(self) -> dict:
        """The filters as query parameters, for the links from the page and the CSV."""
        data = self.cleaned_data
        params = {
            "team": data.get("team"),
            "window": self.chosen_window(),
            "process": data.get("process"),
        }
        return {key: str(value) for key, value in params.items() if value not in (None, "")}


class WorkloadDrillForm(WorkloadForm):
    """Which deals a drill-down lists: `drill`, with `sa` (hours, past target) or `severity`
    (gaps), under the page's filters."""

    drill = forms.ChoiceField(choices=list(WORKLOAD_DRILLS.items()))
    sa = forms.IntegerField(required=False, min_value=1)
    severity = forms.ChoiceField(choices=ProductGap.Severity.choices, required=False)

    def clean(self):
        cleaned = super().clean()
        drill = cleaned.get("drill")
        if drill in ("past_target", "hours") and not cleaned.get("sa"):
            self.add_error("sa", "This list is per SA: pass ?sa=<id>.")
        if drill == "gaps" and not cleaned.get("severity"):
            self.add_error("severity", "Pick a severity.")
        return cleaned


CAPACITY_MESSAGE = (
    f"Capacity is the hours a week for pre-sales work: a number from 0 to "
    f"{SaCapacity.MAX_WEEKLY_HOURS:.0f}, at most one decimal."
)


class CapacityForm(forms.Form):
    weekly_hours = forms.DecimalField(
        min_value=0,
        max_value=SaCapacity.MAX_WEEKLY_HOURS,
        max_digits=3,
        decimal_places=1,
        error_messages={
            key: CAPACITY_MESSAGE
            for key in (
                "required",
                "invalid",
                "min_value",
                "max_value",
                "max_digits",
                "max_decimal_places",
                "max_whole_digits",
            )
        },
    )
