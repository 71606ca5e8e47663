import pytest


@pytest.fixture
def allow_private_targets(settings):
    """The receivers of these tests listen on loopback, which production refuses."""
    settings.EPOS_WEBHOOK_ALLOW_PRIVATE = True
