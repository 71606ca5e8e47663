"""Importing this package registers every scenario, in the order they run."""

from bench import (  # noqa: F401
    blocks,
    board,
    google,
    imports,
    listing,
    metrics,
    search,
    vivun,
    webhooks,
    workload,
)
from bench.scenarios import api, load  # noqa: F401
