"""The dates EPOS accepts from people: a sales process runs within a human lifetime, and the
ends of Python's calendar (year 1, year 9999) only break the arithmetic of whole-day periods."""

from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator

EARLIEST = date(1970, 1, 1)
LATEST = date(2199, 12, 31)


def sane_date_validators() -> list:
    return [
        MinValueValidator(EARLIEST, message=f"Choose a date from {EARLIEST:%Y} on."),
        MaxValueValidator(LATEST, message=f"Choose a date before {LATEST.year + 1}."),
    ]


# Real time zones lie between UTC-12 and UTC+14; PostgreSQL refuses offsets past ±15:59.
MAX_UTC_OFFSET = timedelta(hours=14)


def check_utc_offset(moment: datetime) -> datetime:
    """`moment`, or a ValidationError naming the problem when its UTC offset is no real one."""
    offset = moment.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValidationError(
            "The time zone offset must lie between -14:00 and +14:00.", code="invalid"
        )
    return moment
