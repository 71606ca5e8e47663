"""The dates EPOS accepts from people: a sales process runs within a human lifetime, and the
ends of Python's calendar (year 1, year 9999) only break the arithmetic of whole-day periods."""

from datetime import date

from django.core.validators import MaxValueValidator, MinValueValidator

EARLIEST = date(1970, 1, 1)
LATEST = date(2199, 12, 31)


def sane_date_validators() -> list:
    return [
        MinValueValidator(EARLIEST, message=f"Choose a date from {EARLIEST:%Y} on."),
        MaxValueValidator(LATEST, message=f"Choose a date before {LATEST.year + 1}."),
    ]
