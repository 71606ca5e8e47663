from django import forms

from building_blocks.models import (
    BuildingBlock,
    BusinessChallenge,
    ChallengeNeedLink,
    Tag,
    TechnicalNeed,
    TrainingPath,
)
from building_blocks.uploads import ALLOWED_LABEL, MAX_UPLOAD_BYTES, check_upload
from epos.lib.roles import ROLE_LABELS
from opportunities.models import Account, Opportunity
from stages.models import Process, Stage


def _tag_choices(kind: str, pairs) -> list[tuple[str, str]]:
    """Known values (from processes, accounts, deals) merged with the tags already in use."""
    from django.utils.text import slugify

    choices: dict[str, str] = {}
    for value, label in pairs:
        slug = slugify(value)
        if slug:
            choices.setdefault(slug, label)
    for slug, name in Tag.objects.filter(kind=kind).values_list("slug", "name"):
        choices.setdefault(slug, name)
    return sorted(choices.items(), key=lambda item: item[1].lower())


def stage_choices() -> list[tuple[str, str]]:
    stages = (
        Stage.objects.filter(kind=Stage.Kind.OPEN, process__status=Process.Status.ACTIVE)
        .order_by("process__name", "position")
        .values_list("slug", "name")
    )
    return _tag_choices(Tag.Kind.STAGE, stages)


def industry_choices() -> list[tuple[str, str]]:
    industries = (
        Account.objects.exclude(industry="")
        .order_by()
        .values_list("industry", flat=True)
        .distinct()
    )
    return _tag_choices(Tag.Kind.INDUSTRY, ((name, name) for name in industries))


def product_choices() -> list[tuple[str, str]]:
    products = (
        Opportunity.objects.exclude(product="")
        .order_by()
        .values_list("product", flat=True)
        .distinct()
    )
    return _tag_choices(Tag.Kind.PRODUCT, ((name, name) for name in products))


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


class BlockForm(forms.Form):
    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=BuildingBlock.Kind.choices)
    summary = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One or two sentences shown in search results.",
    )
    body = forms.CharField(
        required=False,
        max_length=BuildingBlock._meta.get_field("body").max_length,
        widget=forms.Textarea(attrs={"rows": 14}),
        label="Content (markdown)",
    )
    file = forms.FileField(
        required=False,
        help_text=f"{ALLOWED_LABEL}; at most {MAX_UPLOAD_BYTES // 1024 // 1024} MB.",
    )
    remove_file = forms.BooleanField(required=False, label="Remove the current file")
    external_url = forms.URLField(
        required=False,
        assume_scheme="https",
        max_length=500,
        label="Link",
        help_text="A Google Drive document or any other URL.",
    )
    stages = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Stages"
    )
    use_cases = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=Opportunity.UseCase.choices,
        label="Use cases",
    )
    industries = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Industries"
    )
    more_industries = forms.CharField(
        required=False,
        max_length=300,
        label="Other industries",
        help_text="Comma-separated, for industries no account has yet.",
    )
    products = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Products"
    )
    more_products = forms.CharField(
        required=False,
        max_length=300,
        label="Other products",
        help_text="Comma-separated.",
    )
    needs = forms.ModelMultipleChoiceField(
        queryset=TechnicalNeed.objects.order_by("use_case", "position"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Helps with these technical needs",
    )
    review_due = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="When a curator should check this block again (default: 6 months after "
        "publishing).",
    )
    note = forms.CharField(
        required=False, max_length=300, label="What changed", help_text="Kept in the history."
    )
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, block: BuildingBlock | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.block = block
        for name, choices in (
            ("stages", stage_choices()),
            ("industries", industry_choices()),
            ("products", product_choices()),
        ):
            # Ticked values first, so a scrolled list never hides what the block is filed under.
            if self.is_bound:
                data = self.data
                picked = set(data.getlist(name) if hasattr(data, "getlist") else data.get(name, []))
            else:
                picked = set(self.initial.get(name, []))
            self.fields[name].choices = sorted(choices, key=lambda choice: choice[0] not in picked)
        if block is None:
            del self.fields["remove_file"]
            del self.fields["note"]
        self.checked_file = None

    @classmethod
    def initial_for(cls, block: BuildingBlock) -> dict:
        tags = list(block.tags.all())

        def of(kind):
            return [tag.slug for tag in tags if tag.kind == kind]

        return {
            "title": block.title,
            "kind": block.kind,
            "summary": block.summary,
            "body": block.body,
            "external_url": block.external_url,
            "stages": of(Tag.Kind.STAGE),
            "use_cases": of(Tag.Kind.USE_CASE),
            "industries": of(Tag.Kind.INDUSTRY),
            "products": of(Tag.Kind.PRODUCT),
            "needs": list(block.needs.all()),
            "review_due": block.review_due,
            "expected_version": block.version,
        }

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload:
            # Checked by content here so the author sees why, next to the field.
            self.checked_file = check_upload(upload)
        return upload

    def clean(self):
        data = super().clean()
        has_file = bool(data.get("file")) or (
            self.block is not None and self.block.file and not data.get("remove_file")
        )
        if not (data.get("body", "").strip() or has_file or data.get("external_url")):
            raise forms.ValidationError(
                "Give the block some content: write it in markdown, upload a file or add a link."
            )
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        arguments = {
            "title": data["title"],
            "kind": data["kind"],
            "summary": data.get("summary", ""),
            "body": data.get("body", ""),
            "external_url": data.get("external_url", ""),
            "stages": data.get("stages", []),
            "use_cases": data.get("use_cases", []),
            "industries": [*data.get("industries", []), *_split(data.get("more_industries"))],
            "products": [*data.get("products", []), *_split(data.get("more_products"))],
            "needs": list(data.get("needs") or []),
            "review_due": data.get("review_due"),
        }
        if data.get("file"):
            arguments["file"] = data["file"]
        return arguments


class CommentForm(forms.Form):
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SendBackForm(forms.Form):
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Tell the author what to change.",
    )


# --- the curators' editors: discovery catalog and training paths --------------------------------

SLUG_HELP = "Used in links and imports. Left blank, it is made from the title."


class _ServiceForm(forms.Form):
    """A form whose cleaned data are the keyword arguments of a service."""

    def service_arguments(self) -> dict:
        return dict(self.cleaned_data)


class ChallengeForm(_ServiceForm):
    title = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=80, required=False, help_text=SLUG_HELP)
    use_case = forms.ChoiceField(choices=Opportunity.UseCase.choices)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    keywords = forms.CharField(
        required=False,
        max_length=300,
        help_text="Comma-separated words that, found in an account's business context, put "
        "this challenge first in a deal's discovery.",
    )

    @staticmethod
    def initial_for(challenge: BusinessChallenge) -> dict:
        fields = ("title", "slug", "use_case", "description", "keywords")
        return {name: getattr(challenge, name) for name in fields}


class NeedForm(_ServiceForm):
    title = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=80, required=False, help_text=SLUG_HELP)
    use_case = forms.ChoiceField(choices=Opportunity.UseCase.choices)
    area = forms.CharField(
        required=False,
        max_length=120,
        help_text="The customer's process or service the need belongs to.",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    @staticmethod
    def initial_for(need: TechnicalNeed) -> dict:
        return {
            name: getattr(need, name)
            for name in ("title", "slug", "use_case", "area", "description")
        }


class _CatalogChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.title} ({obj.get_use_case_display()})"


class CatalogLinkForm(_ServiceForm):
    challenge = _CatalogChoiceField(
        queryset=BusinessChallenge.objects.order_by("use_case", "position", "title"),
        label="Business challenge",
    )
    need = _CatalogChoiceField(
        queryset=TechnicalNeed.objects.order_by("use_case", "position", "title"),
        label="Technical need it implies",
    )
    use_case = forms.ChoiceField(
        required=False,
        choices=[("", "Same as the challenge"), *Opportunity.UseCase.choices],
        help_text="The catalog tab the link shows under.",
    )
    narrative = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Why the challenge implies this need",
    )
    kpis = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="KPIs",
        help_text="How the customer would measure progress: one KPI per line.",
    )

    @staticmethod
    def initial_for(link: ChallengeNeedLink) -> dict:
        return {
            "challenge": link.challenge_id,
            "need": link.need_id,
            # Shown as "Same as the challenge" while it is.
            "use_case": "" if link.use_case == link.challenge.use_case else link.use_case,
            "narrative": link.narrative,
            "kpis": link.kpis,
        }


class TrainingPathForm(_ServiceForm):
    name = forms.CharField(max_length=160)
    slug = forms.SlugField(max_length=80, required=False, help_text=SLUG_HELP)
    role = forms.ChoiceField(
        choices=list(ROLE_LABELS.items()), help_text="Who works through this path."
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    @staticmethod
    def initial_for(path: TrainingPath) -> dict:
        return {name: getattr(path, name) for name in ("name", "slug", "role", "description")}


class _BlockChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.title} · {obj.get_kind_display()}"


class TrainingStepAddForm(_ServiceForm):
    block = _BlockChoiceField(
        queryset=BuildingBlock.objects.none(),
        label="Building block",
        empty_label="Pick a published block…",
        error_messages={
            "invalid_choice": "Pick a published block that is not a step of this path yet."
        },
    )
    note = forms.CharField(
        required=False,
        max_length=300,
        help_text="Optional: what to look at or do with this block.",
    )

    def __init__(self, *args, blocks=None, **kwargs):
        super().__init__(*args, **kwargs)
        if blocks is not None:
            self.fields["block"].queryset = blocks


class TrainingStepNoteForm(_ServiceForm):
    note = forms.CharField(required=False, max_length=300)
