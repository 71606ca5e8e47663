"""HTML forms. They validate input and hand plain values to the services; they never save."""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from epos.lib.ids import parse_id
from opportunities.models import (
    Account,
    Activity,
    Contact,
    Opportunity,
    ProductGap,
    Qualification,
    Team,
)
from opportunities.selectors import BoardFilters

ANY = "any"
ME = "me"


class BoardFilterForm(forms.Form):
    """The board's filters as they appear in the URL (?owner=me&use_case=security&q=acme)."""

    owner = forms.ChoiceField(required=False)
    team = forms.ChoiceField(required=False)
    use_case = forms.ChoiceField(
        required=False, choices=[("", "Any use case"), *Opportunity.UseCase.choices]
    )
    source = forms.ChoiceField(
        required=False, choices=[("", "Any source"), *Opportunity.Source.choices]
    )
    q = forms.CharField(required=False, max_length=100, label="Search")
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("recent", "Recently moved"),
            ("oldest", "Longest in stage"),
            ("amount", "Largest amount"),
            ("close", "Closing soonest"),
        ],
    )

    def __init__(self, data, *, user, owners, teams, default_owner: str = ANY):
        data = data.copy()
        if not data.get("owner"):
            data["owner"] = default_owner
        super().__init__(data)
        self.user = user
        self.default_owner = default_owner
        self.fields["owner"].choices = [
            (ANY, "Anyone"),
            (ME, "Me"),
            *[(str(u.pk), u.get_full_name() or u.username) for u in owners if u.pk != user.pk],
        ]
        self.fields["team"].choices = [("", "All my teams"), *[(str(t.pk), t.name) for t in teams]]

    def filters(self) -> BoardFilters:
        """The filters to apply; an invalid value is dropped rather than failing the page."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        owner = data.get("owner") or ANY
        if owner == ME:
            owner_id = self.user.pk
        elif owner == ANY:
            owner_id = None
        else:
            owner_id = int(owner)
        team = data.get("team")
        return BoardFilters(
            owner_id=owner_id,
            team_id=int(team) if team else None,
            use_case=data.get("use_case") or "",
            source=data.get("source") or "",
            search=(data.get("q") or "").strip(),
            sort=data.get("sort") or "recent",
        )

    @property
    def active_count(self) -> int:
        """How many filters differ from the page's defaults."""
        if not hasattr(self, "cleaned_data"):
            return 0
        data = self.cleaned_data
        return sum(bool(data.get(name)) for name in ("team", "use_case", "source", "q")) + (
            data.get("owner") not in (None, "", self.default_owner)
        )


def board_filters_from_query(data, *, user) -> BoardFilters:
    """Filters from a board's query string without the choice lists the form validates against.

    For requests that only need to apply the board's filters (the totals after a move): every
    value only narrows what the user may see anyway, so a stale or odd value is dropped rather
    than checked against the people and teams on offer.
    """
    owner = data.get("owner") or ANY
    owner_id = user.pk if owner == ME else parse_id(owner)
    team = data.get("team") or ""
    use_case = data.get("use_case") or ""
    source = data.get("source") or ""
    return BoardFilters(
        owner_id=owner_id,
        team_id=parse_id(team),
        use_case=use_case if use_case in Opportunity.UseCase.values else "",
        source=source if source in Opportunity.Source.values else "",
        search=(data.get("q") or "").strip()[:100],
        sort=data.get("sort") or "recent",
    )


class MoveForm(forms.Form):
    stage = forms.IntegerField()
    expected_version = forms.IntegerField(required=False)
    note = forms.CharField(required=False, max_length=2000)
    override_reason = forms.CharField(required=False, max_length=2000)
    loss_reason = forms.CharField(required=False, max_length=200)
    qualified_out = forms.BooleanField(required=False)


class ChecklistItemForm(forms.Form):
    done = forms.BooleanField(required=False)
    evidence_url = forms.URLField(required=False, max_length=500, assume_scheme="https")
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class QualificationForm(forms.ModelForm):
    class Meta:
        model = Qualification
        fields = [
            "budget",
            "budget_note",
            "authority",
            "authority_note",
            "need",
            "need_note",
            "timeline",
            "timeline_note",
            "customer_type_known",
            "contact_level",
            "written_requirements",
            "asks_only_for_price",
        ]
        labels = {
            "customer_type_known": "We know whether the buyer is a person or a company",
            "contact_level": "Who we are talking to",
            "written_requirements": "Written requirements received",
            "asks_only_for_price": "Asks only for a price",
        }
        widgets = {
            name: forms.TextInput(attrs={"placeholder": "Note"})
            for name in ("budget_note", "authority_note", "need_note", "timeline_note")
        }


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=Activity.Kind.choices)
    occurred_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Leave empty for now",
    )
    duration_minutes = forms.IntegerField(required=False, min_value=0, max_value=24 * 60)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)

    def clean_occurred_at(self):
        value = self.cleaned_data.get("occurred_at")
        if value and value > timezone.now() + timezone.timedelta(days=366):
            raise forms.ValidationError("That is more than a year ahead.")
        return value


class ProductGapForm(forms.Form):
    title = forms.CharField(max_length=200)
    severity = forms.ChoiceField(choices=ProductGap.Severity.choices)
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )


class EsatInviteForm(forms.Form):
    contact = forms.ModelChoiceField(queryset=Contact.objects.none(), required=False)
    email = forms.EmailField(required=False, help_text="Or type an address")

    def __init__(self, *args, contacts=(), **kwargs):
        super().__init__(*args, **kwargs)
        ids = [c.pk for c in contacts if c.email]
        self.fields["contact"].queryset = Contact.objects.filter(pk__in=ids)
        self.fields["contact"].choices = [("", "Pick a contact…")] + [
            (c.pk, f"{c.name} <{c.email}>") for c in contacts if c.email
        ]

    def clean(self):
        data = super().clean()
        if not data.get("contact") and not data.get("email"):
            raise forms.ValidationError("Pick a contact or type an email address.")
        return data


class EsatAnswerForm(forms.Form):
    score = forms.TypedChoiceField(
        coerce=int,
        choices=[(5, "5"), (4, "4"), (3, "3"), (2, "2"), (1, "1")],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )


class OpportunityForm(forms.ModelForm):
    """Edit the fields `opportunity_update` accepts; stage and outcome change only by a move."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Opportunity
        fields = [
            "name",
            "account",
            "amount",
            "currency",
            "product",
            "use_case",
            "source",
            "approach",
            "expected_close_date",
            "owner",
            "account_executive",
            "team",
        ]
        widgets = {"expected_close_date": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, owners=(), teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.order_by("name")
        team_ids = [t.pk for t in teams]
        if self.instance is not None and self.instance.team_id:
            team_ids.append(self.instance.team_id)  # kept: saving other fields never fails on it
        self.fields["team"].queryset = self.fields["team"].queryset.filter(pk__in=team_ids)
        # The current owner and account executive stay choosable even when they are outside the
        # editor's teams, so saving other fields never fails on them.
        owner_ids = [u.pk for u in owners]
        if self.instance is not None:
            owner_ids += [self.instance.owner_id, self.instance.account_executive_id]
        for name in ("owner", "account_executive"):
            self.fields[name].queryset = self.fields[name].queryset.filter(pk__in=owner_ids)
            self.fields[name].label_from_instance = lambda user: (
                user.get_full_name() or user.username
            )
        # Which owner, team and account executive may go together is the services' rule
        # (`permissions.assignment_problem`); a refusal comes back as a form error.

    def changes(self) -> dict:
        """Only the fields the user changed: the service then touches nothing else."""
        return {
            name: self.cleaned_data[name]
            for name in self.changed_data
            if name in self.Meta.fields and name in self.cleaned_data
        }


ACCOUNT_ID_SUFFIX = re.compile(r"\s*·\s*#(\d+)$")


def account_choice_label(account, *, ambiguous: bool) -> str:
    """What the account type-ahead offers: the name, and its number when names repeat."""
    return f"{account.name} · #{account.pk}" if ambiguous else account.name


class OpportunityCreateForm(forms.Form):
    process = forms.ModelChoiceField(queryset=None, empty_label=None)
    name = forms.CharField(max_length=200)
    account = forms.ModelChoiceField(
        queryset=Account.objects.none(), required=False, widget=forms.HiddenInput
    )
    # One field for both: a name the type-ahead offers picks that account, any other creates one.
    new_account_name = forms.CharField(
        required=False,
        max_length=200,
        label="Account",
        help_text="Type to find an account; a name that matches none creates it.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "list": "account-suggestions",
                "data-account-typeahead": "",
            }
        ),
    )
    account_executive = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="— none yet —", label="Account executive"
    )
    amount = forms.DecimalField(
        min_value=0,
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text="Leave empty if not known yet",
    )
    currency = forms.CharField(max_length=3, initial="USD")
    product = forms.CharField(required=False, max_length=80)
    use_case = forms.ChoiceField(choices=Opportunity.UseCase.choices)
    source = forms.ChoiceField(required=False, choices=[("", "—"), *Opportunity.Source.choices])
    approach = forms.ChoiceField(required=False, choices=[("", "—"), *Opportunity.Approach.choices])
    expected_close_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    team = forms.ModelChoiceField(queryset=None, required=False, empty_label="My team")

    field_order = [
        "process", "name", "new_account_name", "account", "amount", "currency", "account_executive",
        "product", "use_case", "source", "approach", "expected_close_date", "team",
    ]  # fmt: skip

    def __init__(self, *args, processes, teams, accounts, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["process"].queryset = processes
        self.accounts = accounts
        self.fields["account"].queryset = accounts
        self.fields["team"].queryset = Team.objects.filter(pk__in=[t.pk for t in teams])
        executive = self.fields["account_executive"]
        executive.queryset = get_user_model().objects.filter(pk__in=[u.pk for u in people])
        executive.label_from_instance = lambda user: user.get_full_name() or user.username

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()

    def clean(self):
        data = super().clean()
        account, typed = data.get("account"), (data.get("new_account_name") or "").strip()
        labels = {account.name, account_choice_label(account, ambiguous=True)} if account else set()
        if account and typed and typed not in labels:
            raise forms.ValidationError("Pick an existing account or name a new one, not both.")
        if account is None and typed:
            data["account"], data["new_account_name"] = self._typed_account(typed), typed
            if data["account"] is not None:
                data["new_account_name"] = ""
        elif account is not None:
            data["new_account_name"] = ""
        return data

    def _typed_account(self, typed: str):
        """The account a typed name means: `Name · #id` from the type-ahead, or the one account
        of that name; None for a new name. Several of that name: the user must pick one."""
        suffix = ACCOUNT_ID_SUFFIX.search(typed)
        if suffix:
            found = self.accounts.filter(pk=int(suffix.group(1))).first()
            if found is None:
                raise forms.ValidationError({"new_account_name": "That account no longer exists."})
            return found
        same = list(self.accounts.filter(name__iexact=typed)[:2])
        if len(same) > 1:
            raise forms.ValidationError(
                {
                    "new_account_name": f"Several accounts are named “{typed}”: "
                    "pick one of the suggestions."
                }
            )
        return same[0] if same else None


class AccountForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = [
            "name",
            "industry",
            "segment",
            "customer_type",
            "ownership",
            "employees",
            "country",
            "city",
            "domain",
            "has_own_infrastructure",
            "business_context",
            "team",
        ]
        widgets = {"business_context": forms.Textarea(attrs={"rows": 6})}
        help_texts = {"business_context": "Markdown: what the business does and what worries it"}


class SavedViewForm(forms.Form):
    """Save the list as it is shown (`query`: its query string) under a name."""

    name = forms.CharField(max_length=80, strip=True)
    query = forms.CharField(required=False, max_length=2000)
