"""Defaults shared by the runner and the scenarios (importable before Django is set up)."""

from pathlib import Path

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/epos_bench"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/15"
REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
