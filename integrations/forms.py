"""Forms of the /integrations/ page: one per adapter that can be configured."""

import json

from django import forms


class VivunCsvConnectionForm(forms.Form):
    """A Vivun CSV connection: where the exports are; column names may be renamed in JSON."""

    name = forms.CharField(max_length=120)
    activities_file = forms.CharField(
        max_length=500,
        required=False,
        help_text="Absolute path of the activities export (Activity ID, Opportunity ID, …).",
    )
    product_gaps_file = forms.CharField(
        max_length=500,
        required=False,
        help_text="Absolute path of the product gaps export (Product Gap ID, …).",
    )
    columns = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='Renamed columns as JSON, e.g. {"activities": {"hours": "Hours Logged"}}.',
    )

    def clean_columns(self):
        text = self.cleaned_data["columns"].strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(f"Not JSON: {error}.") from error
        if not isinstance(value, dict):
            raise forms.ValidationError("Expected a JSON object.")
        return value

    def settings(self) -> dict:
        data = self.cleaned_data
        files = {
            name: data[f"{name}_file"].strip()
            for name in ("activities", "product_gaps")
            if data[f"{name}_file"].strip()
        }
        settings = {"files": files}
        if data["columns"]:
            settings["columns"] = data["columns"]
        return settings
