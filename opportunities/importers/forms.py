from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from opportunities.importers import presets
from opportunities.models import Team

# An export of tens of thousands of deals is a few MB; anything much larger is a mistake or abuse.
MAX_FILE_BYTES = getattr(settings, "EPOS_IMPORT_MAX_FILE_BYTES", 10 * 1024 * 1024)
MAX_FILES = 6


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".csv,text/csv"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class ImportUploadForm(forms.Form):
    preset = forms.ChoiceField(label="Format", choices=presets.CHOICES)
    files = MultipleFileField(
        label="CSV files",
        help_text="Select every file of the export at once (their names tell them apart).",
    )
    mapping = forms.FileField(
        label="Column mapping (generic CSV only)",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".json,.yaml,.yml"}),
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        required=False,
        label="Team for deals the files put in no team",
        help_text="A Salesforce export has no team column: its deals go to this team.",
    )
    as_of = forms.DateField(
        label="As of",
        required=False,
        help_text="When deals without any date were created (default: the file's latest date).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = (
            Team.objects.order_by("name") if teams is None else teams.order_by("name")
        )

    def clean_files(self):
        files = self.cleaned_data["files"]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(f"At most {MAX_FILES} files per import.")
        names = [upload.name.casefold() for upload in files]
        if len(set(names)) != len(names):
            raise forms.ValidationError("Two files have the same name.")
        for upload in files:
            self._check_size(upload)
        return files

    def clean_mapping(self):
        mapping = self.cleaned_data.get("mapping")
        if mapping:
            self._check_size(mapping)
        return mapping

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("preset") == presets.GENERIC and not cleaned.get("mapping"):
            self.add_error("mapping", "A generic CSV needs a mapping file.")
        return cleaned

    @staticmethod
    def _check_size(upload) -> None:
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"{upload.name} is {filesizeformat(upload.size)}; the limit is "
                f"{filesizeformat(MAX_FILE_BYTES)} per file."
            )
