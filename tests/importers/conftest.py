"""Helpers for import tests: hand-made CSV files written into tmp_path, and a check that every
imported deal keeps the invariants the move service keeps."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from opportunities.importers import presets
from opportunities.importers.services import pipeline_import
from opportunities.models import Opportunity


def day(text: str) -> datetime:
    """'2017-01-02' as 00:00 UTC, the time imported dates get."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def write_csv(folder: Path, name: str, lines: list[str], *, bom=False, crlf=False) -> Path:
    newline = "\r\n" if crlf else "\n"
    text = newline.join(lines) + newline
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    path = folder / name
    path.write_bytes(data)
    return path


def import_folder(folder: Path, preset: str, *, dry_run=False, as_of=None, actor=None):
    files = presets.files_in_directory(folder, presets.PRESETS[preset].files)
    plan = presets.build_plan(preset=preset, files=files, as_of=as_of)
    return pipeline_import(plan=plan, actor=actor, dry_run=dry_run)


def history(opportunity: Opportunity) -> list[tuple]:
    """(from stage name, to stage name, moved_at, note) in order."""
    return [
        (t.from_stage.name if t.from_stage else None, t.to_stage.name, t.moved_at, t.note)
        for t in opportunity.transitions.select_related("from_stage", "to_stage").order_by(
            "moved_at", "pk"
        )
    ]


def assert_consistent(opportunity: Opportunity) -> None:
    """What opportunity_move_to_stage guarantees, checked on one imported deal."""
    transitions = list(
        opportunity.transitions.select_related("from_stage", "to_stage").order_by("moved_at", "pk")
    )
    assert transitions, "an imported deal has at least its first entry"
    assert transitions[0].from_stage is None
    assert transitions[0].to_stage.kind == "open"
    for previous, current in zip(transitions, transitions[1:], strict=False):
        assert current.from_stage_id == previous.to_stage_id
        assert current.to_stage_id != current.from_stage_id
        assert current.moved_at >= previous.moved_at
        assert previous.left_at == current.moved_at  # a visit ends where the next starts
    last = transitions[-1]
    assert last.left_at is None
    assert opportunity.stage_id == last.to_stage_id
    assert opportunity.stage_entered_at == last.moved_at
    assert opportunity.created_at == transitions[0].moved_at
    assert opportunity.process_id == last.to_stage.process_id
    kind = last.to_stage.kind
    expected_outcome = {"won": "won", "lost": "lost", "open": "open"}[kind]
    assert opportunity.outcome == expected_outcome
    if kind == "open":
        assert opportunity.closed_at is None
        assert opportunity.loss_reason == ""
    else:
        assert opportunity.closed_at == last.moved_at
    if kind == "lost":
        assert opportunity.loss_reason
    if opportunity.engaged_at is not None:
        assert opportunity.engaged_at in [t.moved_at for t in transitions]


@pytest.fixture
def folder(tmp_path):
    return tmp_path
