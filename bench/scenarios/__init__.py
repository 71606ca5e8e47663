"""Importing this package registers every scenario, in the order they run."""

from bench import blocks, board, imports, metrics  # noqa: F401
from bench.scenarios import api, load  # noqa: F401
