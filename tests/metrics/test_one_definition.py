"""Each metric is defined once (`opportunities.measures`): a building block's effectiveness gives
the hand-computed figures of the hand-made pipeline (tests/metrics/conftest.py), exactly, on
SQLite and PostgreSQL, as the dashboards do (tests/metrics/test_selectors.py).

A was won after 30 days, B after 12, D was lost; the block is used on A, B and D.
"""

import pytest

from building_blocks import selectors as block_selectors
from building_blocks import services as block_services
from tests import factories
from tests.building_blocks.helpers import make_block

pytestmark = pytest.mark.django_db


def test_block_effectiveness_uses_the_dashboards_mttc_and_win_rate(pipeline, erin, root):
    frank = factories.UserFactory(username="frank", role="curator")
    block = make_block(erin, publish_by=frank, title="Demo script")
    for name in ("A", "B", "D"):
        block_services.block_usage_record(
            block=block, opportunity=pipeline.deals[name], actor=None, stage=pipeline.discovery
        )
    figures = block_selectors.block_effectiveness(block=block, user=root)
    # Exact: the duration is computed to the microsecond on both backends.
    assert figures.with_block.mttc_days == 21.0  # (30 + 12) / 2
    assert (figures.with_block.won, figures.with_block.lost) == (2, 1)
    assert figures.with_block.win_rate == 2 / 3
    # Without the block, among deals that entered Discovery: C (40 days, from its first clock
    # start: the same rule as the dashboards' MTTC), H (50), I (35); E qualified out counts in
    # neither; F and G are open.
    assert figures.without_block.mttc_days == (40 + 50 + 35) / 3
