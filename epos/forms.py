"""HTML forms of the profile page. They validate input and hand plain values to the services."""

from django import forms

from epos.models import ApiKey


class ProfileForm(forms.Form):
    first_name = forms.CharField(
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    email = forms.EmailField(
        max_length=254,
        help_text="Where EPOS and your colleagues reach you.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Key name",
        max_length=ApiKey._meta.get_field("name").max_length,
        help_text="What will use it, e.g. “Zapier” or “CRM sync”, so you know which to revoke.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. Zapier"}),
    )
