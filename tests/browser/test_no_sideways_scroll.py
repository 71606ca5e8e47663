"""No page scrolls sideways on a phone: every main page, for each role, at 390 × 844, on the
demo data (long names, full tables, real charts).

For each page the test reads `document.documentElement.scrollWidth` against the viewport and,
when the page is too wide, names the outermost elements whose right edge passes the viewport
(those inside a box that scrolls or clips on its own, such as the board's columns, do not
count). It saves a screenshot of each page at 390 × 844 and at 1440 × 900 into
tests/screenshots/ (scroll-<role>-<page>-<width>.png).

The demo data is seeded once; each role × page is a subtest, so one wide page does not hide
the others.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models.functions import Length
from django.urls import NoReverseMatch, reverse

from building_blocks.models import BuildingBlock
from metrics.models import Pilot
from opportunities.demo.apply import DEMO_PASSWORD
from opportunities.models import Account
from opportunities.selectors import opportunity_list
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
USERS = {"sa": "sa1", "manager": "manager1", "curator": "curator1", "admin": "admin"}

# The outermost elements whose right edge passes the viewport, unless a box between them and
# the page scrolls or clips them inside the viewport; each as a short selector path.
WIDE_ELEMENTS_JS = """() => {
  const limit = window.innerWidth + 0.5;
  const label = (el) => {
    let text = el.tagName.toLowerCase();
    if (el.id) return text + '#' + el.id;
    const classes = [...el.classList].slice(0, 3);
    return classes.length ? text + '.' + classes.join('.') : text;
  };
  const path = (el) => {
    const parts = [];
    for (let at = el; at && at !== document.body && parts.length < 4; at = at.parentElement) {
      parts.unshift(label(at));
    }
    return parts.join(' > ');
  };
  const contained = (el) => {
    for (let box = el.parentElement; box && box !== document.body; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== 'visible') {
        return box.getBoundingClientRect().right <= limit;
      }
    }
    return false;
  };
  const wide = new Set();
  for (const el of document.body.querySelectorAll('*')) {
    const rect = el.getBoundingClientRect();
    if ((rect.width || rect.height) && rect.right > limit && !contained(el)) wide.add(el);
  }
  const outermost = [...wide].filter((el) => !wide.has(el.parentElement));
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    wide: outermost.slice(0, 6).map(
      (el) => path(el) + ' (right edge ' + Math.round(el.getBoundingClientRect().right) + ' px)'
    ),
  };
}"""


@pytest.fixture
def demo(settings):
    # Fast hashing for the demo users' shared password; the data is the real demo's.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=StringIO())
    return {user.username: user for user in get_user_model().objects.all()}


def _workload_url() -> str | None:
    try:
        return reverse("metrics:workload")
    except NoReverseMatch:
        return None


def _pages(user) -> dict[str, str | None]:
    """Every main page, with a real object of each kind this user may see (the widest-named
    one, which is where a layout gives way)."""
    deal = (
        opportunity_list(user=user)
        .filter(outcome="open")
        .order_by(Length("name").desc(), "pk")
        .first()
    )
    account = Account.objects.order_by(Length("name").desc(), "pk").first()
    block = (
        BuildingBlock.objects.filter(status="published")
        .order_by(Length("title").desc(), "pk")
        .first()
    )
    pilot = Pilot.objects.order_by("pk").first()
    return {
        "home": reverse("opportunities:home"),
        "my-day": reverse("opportunities:my-day"),
        "opportunities": reverse("opportunities:opportunity-list"),
        "deal": reverse("opportunities:opportunity-detail", args=[deal.pk]),
        "accounts": reverse("opportunities:account-list"),
        "account": reverse("opportunities:account-detail", args=[account.pk]),
        "blocks": reverse("building_blocks:block-list"),
        "block": reverse("building_blocks:block-detail", args=[block.pk]),
        "catalog": reverse("building_blocks:catalog"),
        "training": reverse("building_blocks:training"),
        "dashboards": reverse("metrics:dashboard"),
        "pilots": reverse("metrics:pilot-list"),
        "pilot": reverse("metrics:pilot-detail", args=[pilot.pk]),
        "workload": _workload_url(),
        "imports": reverse("imports:upload"),
        "integrations": reverse("integrations:home"),
        "profile": reverse("profile:detail"),
    }


def test_no_page_scrolls_sideways_on_a_phone(browser, live_server, demo, subtests):
    for role, username in USERS.items():
        user = demo[username]
        context = browser.new_context(base_url=live_server.url, viewport=PHONE, bypass_csp=True)
        context.set_default_timeout(20_000)
        page = context.new_page()
        try:
            login(page, username, DEMO_PASSWORD)
            for name, url in _pages(user).items():
                with subtests.test(msg=f"{role} {name}", role=role, page=name):
                    if url is None:
                        pytest.skip(f"{name}: no such page (its URL is not defined yet)")
                    page.set_viewport_size(PHONE)
                    response = page.goto(url)
                    page.wait_for_load_state("networkidle")
                    measured = page.evaluate(WIDE_ELEMENTS_JS)
                    status = response.status if response else 0
                    if status == 200:
                        screenshot(page, f"scroll-{role}-{name}-390")
                        page.set_viewport_size(DESKTOP)
                        page.wait_for_timeout(150)
                        screenshot(page, f"scroll-{role}-{name}-1440")
                    assert status in (200, 403), f"{url} answered {status}"
                    assert measured["scrollWidth"] <= measured["innerWidth"], (
                        f"{role} on {url} (HTTP {status}) is {measured['scrollWidth']} px wide "
                        f"at {measured['innerWidth']} px; too wide: " + "; ".join(measured["wide"])
                    )
        finally:
            context.close()
