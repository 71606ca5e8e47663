"""The Content-Security-Policy in Chromium: the app's own scripts and styles only, and
everything still works under it (htmx, SortableJS, Chart.js, the markdown preview, Swagger UI).

Every page of the walk records the browser's CSP violation reports; one is a failure.
"""

import pytest
from django.core.management import call_command

from opportunities.models import Opportunity
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


@pytest.fixture
def demo(db):
    call_command("seed_demo", verbosity=0)


def violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations")


def visit(page, path: str, ready: str) -> None:
    page.goto(path)
    page.locator(ready).first.wait_for(state="attached")
    assert violations(page) == [], path


def test_pages_work_under_the_policy_without_a_single_violation(page_under_csp, demo):
    page = page_under_csp
    page.add_init_script(RECORD_VIOLATIONS)
    console = []
    page.on("console", lambda message: console.append(message.text))

    response = page.request.get("/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy

    login(page, "manager1", "epos-demo")
    # The board: htmx filters swap it and a card still drags (SortableJS).
    visit(page, "/", ".cards[data-sortable]")
    with page.expect_response(lambda r: "use_case=observability" in r.url):
        page.select_option("select[name=use_case]", "observability")
    page.wait_for_selector("#board")
    assert violations(page) == []
    # The dashboard draws its charts (Chart.js).
    visit(page, "/dashboards/", "canvas")
    # Polled with page.evaluate (the DevTools protocol): wait_for_function would eval a string.
    for _ in range(100):
        if page.evaluate("() => Object.keys(window.eposCharts || {}).length"):
            break
        page.wait_for_timeout(100)
    assert page.evaluate("() => Object.keys(window.eposCharts || {}).length") > 0
    deal = (
        Opportunity.objects.filter(outcome="open", team__managers__username="manager1")
        .order_by("pk")
        .first()
    )
    visit(page, f"/opportunities/{deal.pk}/", ".opportunity-head")
    for path, ready in [
        ("/pilots/", "h1"),
        ("/imports/", "h1"),
        ("/integrations/", "h1"),
        ("/profile/", "#api-keys"),
        ("/blocks/", "h1"),
        ("/training/", "h1"),
        ("/catalog/", "h1"),
        ("/no-such-page/", "h1"),
    ]:
        visit(page, path, ready)

    page.context.clear_cookies()
    login(page, "curator1", "epos-demo")
    visit(page, "/catalog/manage/", "h1")
    # The block editor's preview is htmx attributes on the textarea.
    visit(page, "/blocks/new/", "textarea[name=body]")
    with page.expect_response(lambda r: "/blocks/preview/" in r.url):
        page.fill("textarea[name=body]", "# Heading\n\n**bold**")
    page.locator("#bb-preview strong", has_text="bold").wait_for()
    assert violations(page) == []

    page.context.clear_cookies()
    login(page, "admin", "epos-demo")
    visit(page, "/api/docs/", ".swagger-ui .info")
    visit(page, "/admin/", "#content")

    refused = [text for text in console if "Content Security Policy" in text]
    assert refused == []
