"""The import formats a manager can choose: the presets, and a generic CSV with a mapping file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from opportunities.importers import generic, maven, salesforce
from opportunities.importers.base import ImportPlan

GENERIC = "generic"


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    files: tuple[str, ...]
    build: Callable[..., ImportPlan]


PRESETS = {
    maven.SYSTEM: Preset(
        maven.SYSTEM,
        "Maven CRM sample (sales_pipeline.csv; accounts, products, sales_teams optional)",
        maven.FILES,
        maven.build_plan,
    ),
    salesforce.SYSTEM: Preset(
        salesforce.SYSTEM,
        "Salesforce export (Opportunity.csv + Opportunity History.csv; User.csv names owners)",
        salesforce.FILES,
        salesforce.build_plan,
    ),
}
CHOICES = [(key, preset.label) for key, preset in PRESETS.items()] + [
    (GENERIC, "Generic CSV with a mapping file (JSON or YAML)")
]


def build_plan(
    *,
    preset: str,
    files: dict[str, bytes | str],
    mapping: tuple[str, bytes | str] | None = None,
    as_of: datetime | None = None,
) -> ImportPlan:
    """Read the files of one import into a plan (nothing is written)."""
    if preset == GENERIC:
        if mapping is None:
            raise ValueError("A generic import needs a mapping file.")
        return generic.build_plan(
            files, mapping_name=mapping[0], mapping_data=mapping[1], as_of=as_of
        )
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; expected one of {', '.join(PRESETS)}.")
    return PRESETS[preset].build(files, as_of=as_of)


def files_in_directory(directory: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    """The preset's files found in `directory` (matched ignoring case), read as bytes."""
    wanted = {name.casefold() for name in names}
    return {
        path.name: path.read_bytes()
        for path in sorted(directory.iterdir())
        if path.is_file() and path.name.casefold() in wanted
    }
