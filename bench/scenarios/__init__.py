"""Importing this package registers every scenario, in the order they run."""

from bench import blocks, board, imports, metrics, webhooks  # noqa: F401
from bench.scenarios import api, load  # noqa: F401
