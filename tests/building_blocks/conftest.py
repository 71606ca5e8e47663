import pytest

from tests import factories
from tests.building_blocks.helpers import make_block


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def frank(db):
    """A second curator: reviews what erin writes."""
    return factories.UserFactory(
        username="frank", first_name="Frank", last_name="Fox", role="curator"
    )


@pytest.fixture
def published(erin, frank):
    return make_block(erin, publish_by=frank, title="Published demo script")


@pytest.fixture
def draft(erin):
    return make_block(erin, title="Secret draft", body="Unreleased pricing strategy")
