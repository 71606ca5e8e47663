"""The profile page in Chromium: from the user menu, create a key, copy it, revoke it."""

import pytest

from epos.models import ApiKey
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def open_profile_from_the_menu(page):
    page.locator("details.usermenu summary").click()
    page.get_by_role("link", name="Profile").click()
    page.wait_for_url("**/profile/")


def test_a_key_is_created_shown_once_copied_and_revoked(page, alice):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, "alice")
    open_profile_from_the_menu(page)
    assert page.get_by_role("heading", name="Your profile").is_visible()
    assert page.locator("input[name=email]").input_value() == "alice@example.com"
    assert "No API keys yet." in page.inner_text("#api-keys")

    page.get_by_label("Key name").fill("Zapier")
    with page.expect_response(lambda r: r.url.endswith("/profile/api-keys/")) as answer:
        page.get_by_role("button", name="Create key").click()
    assert answer.value.status == 200
    shown = page.locator("#new-api-key")
    shown.wait_for()
    raw = shown.input_value()
    key = ApiKey.objects.get(user=alice)
    assert key.digest == ApiKey.digest_of(raw)
    row = page.locator(f"#api-key-{key.pk}")
    assert "Zapier" in row.inner_text() and "Active" in row.inner_text()
    assert "never" in row.inner_text()
    assert page.get_by_label("Key name").input_value() == ""

    copy = page.get_by_role("button", name="Copy")
    copy.click()
    page.wait_for_function("document.querySelector('[data-copy-target]').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == raw
    screenshot(page, "profile-new-key")

    page.set_viewport_size({"width": 390, "height": 844})
    assert no_sideways_scroll(page)
    screenshot(page, "profile-new-key-narrow")
    page.set_viewport_size({"width": 1440, "height": 900})

    # Shown once: a reload no longer has it.
    page.reload()
    assert page.locator("#new-api-key").count() == 0
    assert raw not in page.content()

    # Dismissing the question sends nothing.
    questions = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.locator(f"#api-key-{key.pk}").get_by_role("button", name="Revoke").click()
    page.wait_for_timeout(300)
    assert questions and "Revoke the key “Zapier”" in questions[0]
    key.refresh_from_db()
    assert key.revoked_at is None

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_response(lambda r: "/revoke/" in r.url) as answer:
        page.locator(f"#api-key-{key.pk}").get_by_role("button", name="Revoke").click()
    assert answer.value.status == 200
    page.locator(f"#api-key-{key.pk}.is-revoked").wait_for()
    assert "Revoked" in page.inner_text(f"#api-key-{key.pk}")
    assert page.locator(f"#api-key-{key.pk}").get_by_role("button", name="Revoke").count() == 0
    assert "revoked" in page.inner_text("#toasts")
    key.refresh_from_db()
    assert key.revoked_at is not None
    screenshot(page, "profile-revoked")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert no_sideways_scroll(page)
    screenshot(page, "profile-narrow")


def test_a_user_without_a_role_saves_name_and_email(page, nobody):
    login(page, "nobody")
    page.set_viewport_size({"width": 390, "height": 844})
    open_profile_from_the_menu(page)
    assert "no EPOS role yet" in page.inner_text("main")
    page.get_by_label("First name").fill("Noor")
    page.get_by_label("Last name").fill("Body")
    page.get_by_label("Email", exact=True).fill("noor@example.com")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/profile/")
    assert "Your profile was saved." in page.inner_text("#flash")
    menu = page.locator("details.usermenu summary")
    assert menu.get_attribute("aria-label") == "Account menu for Noor Body"
    assert menu.inner_text().strip() == "NB"  # the initials stand for the name on a phone
    assert no_sideways_scroll(page)
    nobody.refresh_from_db()
    assert nobody.email == "noor@example.com"
