import pytest


@pytest.fixture
def allow_private_targets(settings):
    """The receivers of these tests listen on loopback, which production refuses."""
    settings.EPOS_WEBHOOK_ALLOW_PRIVATE = True


# --- fake Salesforce and Vivun servers (tests/integrations/fakes.py) -----------------------------


@pytest.fixture(scope="session")
def tls(tmp_path_factory):
    from tests.integrations.fakes import make_tls

    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def salesforce(tls, monkeypatch):
    """A fake Salesforce org over TLS on loopback; `requests` trusts its CA for the test."""
    from pytest_httpserver import HTTPServer

    from tests.integrations.fakes import FakeSalesforce

    context, ca_path = tls
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_path)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    try:
        yield FakeSalesforce(server)
    finally:
        server.clear()
        server.stop()


@pytest.fixture
def vivun_export(settings):
    """A fake Vivun export endpoint on loopback, with the adapter switched on."""
    from pytest_httpserver import HTTPServer

    from tests.integrations.fakes import FakeVivunExport

    settings.EPOS_VIVUN_HTTP_EXPORT = True
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    fake = FakeVivunExport(server)
    try:
        yield fake
    finally:
        fake.release.set()
        server.clear()
        server.stop()
