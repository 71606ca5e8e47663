"""Property-based fuzz of the REST API: whatever a caller sends, the answer is never a 5xx.

schemathesis reads the OpenAPI schema drf-spectacular serves at /api/schema/ and, for every
operation in it, generates requests from the schema: conforming ones and, as often, broken ones
(wrong types, out-of-range numbers, missing or extra fields, odd strings). They go through the
real WSGI application with a real API key (`Authorization: Token <key>`), once as an admin (root)
and once as an SA (alice), against a small seeded world (a team, a process with its stages and
checklist items, alice's opportunity with its account, contact, activity, ESAT answer, product
gap, a published and a draft building block, a block usage, a webhook subscription per persona,
an event). Generated ids mostly point at nothing, so every id in a path, a query or a JSON body
is swapped, by a drawn choice, for one of the seeded rows' ids or kept as generated: the
requests reach the serializers and the services, not only the 404 of a missing row.

Bounded and deterministic, so it never fails by chance and stays fast: at most MAX_EXAMPLES
generated examples per operation and persona (plus the schema's own examples), derandomized
(the same requests on every run), no deadline, no example database, no shrinking. Each request
runs in a savepoint rolled back after it (see the test).

Figures when this was written: 74 operations (the schema's, so new endpoints join by
themselves), each fuzzed as 2 personas = 148 tests; 8 examples per operation and persona (3 more
for the 3 building-block writes, 1 for GET /me/, which has no parameters): 1,188 requests,
0 server errors, on SQLite (about 30 s) and on PostgreSQL (about 35 s). Exploratory runs with
100 random examples per operation and persona (14,620 requests on each database) found one
500, now fixed: a building-block `owner` filter of -2.5e+279 became a 280-digit id that SQLite
refused with an OverflowError (epos.lib.filters.IdFilter).
"""

import socket
from dataclasses import dataclass

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from building_blocks import services as block_services
from epos.services import api_key_create
from epos.wsgi import application
from opportunities.models import Activity, EsatResponse, ProductGap
from stages.models import StageItem
from tests import factories
from tests.security.support import make_event, make_subscription

MAX_EXAMPLES = 8
# Django's test environment allows this host; schemathesis's WSGI client would send "localhost".
HOST = "testserver"
BASE_URL = f"http://{HOST}"
PUBLIC_ADDRESS = "93.184.216.34"

# The schema is read once, at collection, from the running application (not from a file), so a
# new endpoint is fuzzed as soon as it exists. The test environment, which allows HOST, is not
# set up yet at collection: allow it for this one request.
with override_settings(ALLOWED_HOSTS=[HOST]):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application, headers={"Host": HOST})
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
    database="none",
    no_shrink=True,
    # The caller's key is the persona's, sent below; generated Authorization headers or session
    # cookies would only test the authentication, which test_api_auth_abuse.py covers.
    with_security_parameters=False,
)
schema.config.phases.update(phases=["examples", "fuzzing"])

# Which seeded rows an id may name: path segment, query parameter or body field -> world key.
FIELD_RESOURCES = {
    "opportunity": "opportunities",
    "process": "processes",
    "stage": "stages",
    "account": "accounts",
    "contact": "contacts",
    "owner": "users",
    "account_executive": "users",
    "user": "users",
    "team": "teams",
    "item_id": "items",
}


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    # The real WSGI handler closes the database connection when a request starts and ends, as
    # it should between requests in production; here that connection holds the test's
    # transaction (PostgreSQL would lose it). Django's test client does the same.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Generated multipart bodies upload files to building blocks.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _public_dns(monkeypatch):
    # Generated webhook URLs name any host: resolve every one to a public address, offline and
    # at once, so subscriptions can be made without the network (no delivery runs: the test's
    # transaction never commits).
    answer = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_ADDRESS, 443))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answer)


@pytest.fixture
def world(root, alice, erin, team, process, stages, opportunity):
    """The seeded rows, by resource, for the ids the fuzz points at."""
    contact = factories.ContactFactory(account=opportunity.account)
    activity = Activity.objects.create(
        opportunity=opportunity, kind=Activity.Kind.CALL, occurred_at=opportunity.created_at
    )
    esat = EsatResponse.objects.create(
        opportunity=opportunity, stage=stages[0], score=4, received_at=opportunity.created_at
    )
    gap = ProductGap.objects.create(
        opportunity=opportunity,
        title="No SAML",
        severity=ProductGap.Severity.DEAL_CHALLENGE,
        created_by=alice,
    )
    published = block_services.block_create(
        actor=erin, title="Tracing demo", kind="demo_script", body="Steps", stages=["demo"]
    )
    block_services.block_submit(block=published, actor=erin)
    published = block_services.block_approve(block=published, actor=root)
    draft = block_services.block_create(
        actor=erin, title="Pricing draft", kind="comparison", body="Draft"
    )
    block_services.block_usage_record(block=published, opportunity=opportunity, actor=alice)
    hooks = [make_subscription(user, f"http://{PUBLIC_ADDRESS}/hook") for user in (root, alice)]
    event = make_event(opportunity)
    return {
        "accounts": [opportunity.account_id],
        "contacts": [contact.pk],
        "opportunities": [opportunity.pk],
        "activities": [activity.pk],
        "esat-responses": [esat.pk],
        "product-gaps": [gap.pk],
        "building-blocks": [published.pk, draft.pk],
        "hooks": [hook.pk for hook in hooks],
        "events": [event.pk],
        "processes": [process.pk],
        "stages": [stage.pk for stage in stages],
        "items": list(
            StageItem.objects.filter(stage__process=process).values_list("pk", flat=True)
        ),
        "users": [root.pk, alice.pk],
        "teams": [team.pk],
    }


@pytest.fixture(params=["admin", "sa"])
def persona(request, root, alice):
    """The caller's key header: root (admin) or alice (SA)."""
    user = {"admin": root, "sa": alice}[request.param]
    _, raw = api_key_create(user=user, name="fuzz")
    return {"Authorization": f"Token {raw}"}


@dataclass(frozen=True)
class Seeded:
    """Stands for the id of a seeded row until the test, which has the world, resolves it."""

    resource: str
    index: int
    generated: object  # kept when the world has no row of that resource


def _resource_of(name: str, path: str) -> str | None:
    if name == "id":
        # "/api/v1/accounts/{id}/..." -> "accounts"
        return path.removeprefix("/api/v1/").split("/", 1)[0]
    return FIELD_RESOURCES.get(name)


def _id_fields(case):
    """(container, name, resource) of every id the case carries in its path, query or body."""
    for container in (case.path_parameters, case.query, case.body):
        if isinstance(container, dict):
            for name in container:
                resource = _resource_of(name, case.path)
                if resource is not None:
                    yield container, name, resource


@schema.hook
def flatmap_case(context, case):
    # Hypothesis draws, for each id, whether it stays as generated or names a seeded row.
    fields = list(_id_fields(case))
    choices = [
        st.sampled_from(
            [container[name], *(Seeded(resource, i, container[name]) for i in range(3))]
        )
        for container, name, resource in fields
    ]

    def apply(picks):
        for (container, name, _), pick in zip(fields, picks, strict=True):
            container[name] = pick
        return case

    return st.tuples(*choices).map(apply)


def _resolve_seeded(case, world) -> None:
    for container in (case.path_parameters, case.query, case.body):
        if isinstance(container, dict):
            for name, value in container.items():
                if isinstance(value, Seeded):
                    ids = world.get(value.resource)
                    container[name] = ids[value.index % len(ids)] if ids else value.generated


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_operation_answers_a_server_error(case, world, persona):
    _resolve_seeded(case, world)
    # The world and the key are made once per operation and persona; each request runs in a
    # savepoint rolled back after it. So every example meets the same world (an early DELETE
    # does not turn the later examples into 404s) and, as in production where each request has
    # its own transaction, a statement PostgreSQL refuses (RejectBadInput answers it with a
    # 400) does not abort the transaction the following requests would run in.
    with transaction.atomic():
        try:
            response = case.call_and_validate(
                base_url=BASE_URL, headers=persona, checks=[not_a_server_error]
            )
        finally:
            transaction.set_rollback(True)
    assert response.status_code < 500, response.text[:500]


@pytest.mark.parametrize("persona_name", ["root", "alice"])
def test_the_fuzz_reaches_the_api_as_each_persona(persona_name, request, world):
    """Guards the harness: with the host or the key wrong, every answer would be a 4xx and the
    fuzz above would pass while testing nothing."""
    user = request.getfixturevalue(persona_name)
    _, raw = api_key_create(user=user, name="fuzz")
    case = schema["/api/v1/me/"]["GET"].Case()

    response = case.call(base_url=BASE_URL, headers={"Authorization": f"Token {raw}"})

    assert response.status_code == 200, response.text
    assert response.json()["username"] == persona_name
