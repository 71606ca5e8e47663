"""Filter pieces the apps' FilterSets share."""

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from epos.lib.dates import check_utc_offset
from epos.lib.ids import parse_id


class IdField(forms.CharField):
    """An id read with `parse_id`; anything else is invalid (a 400 naming the filter)."""

    default_error_messages = {"invalid": "Enter an id: a whole number of at most 19 digits."}

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        number = parse_id(text)
        if number is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.Filter):
    """Filter on a row's id (a foreign key's `<name>_id`, say) without loading the row.

    Not a NumberFilter: its decimal accepts `-2.5e+279`, which became a 280-digit integer that
    SQLite refused with an OverflowError (a 500; the range check Django applies to integer
    columns does not cover a foreign key's lookups).
    """

    field_class = IdField


class OffsetCheckedDateTimeField(forms.DateTimeField):
    """An ISO 8601 datetime whose UTC offset is a real one (PostgreSQL refuses the others)."""

    def to_python(self, value):
        moment = super().to_python(value)
        return None if moment is None else check_utc_offset(moment)


class IsoDateTimeFilter(filters.IsoDateTimeFilter):
    """django-filter's ISO 8601 datetime filter, with `check_utc_offset`: a 400 naming the
    filter, not the database's refusal."""

    field_class = type(
        "IsoOffsetCheckedDateTimeField",
        (OffsetCheckedDateTimeField, filters.IsoDateTimeFilter.field_class),
        {},
    )
