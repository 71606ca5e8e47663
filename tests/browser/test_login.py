import pytest

from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_lands_on_the_home_page_with_the_users_name(page, alice):
    login(page, "alice")
    assert page.url.endswith("/")
    assert "Alice Archer" in page.inner_text("header")
    assert screenshot(page, "login-home").exists()


def test_wrong_password_stays_on_the_login_page_with_an_error(page, alice):
    login(page, "alice", password="wrong")
    assert "/accounts/login/" in page.url
    assert "correct username and password" in page.inner_text("main")
