"""Browser tests: Playwright for Python driving the system's Chromium over real HTTP.

Browsers cannot be downloaded here, so Playwright launches Debian's `chromium` by path
(`executable_path`). Without a Chromium the browser tests are skipped, and the run's header
says so in one line; under REQUIRE_BROWSER=1 (CI) a missing Chromium fails them instead.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import env

PASSWORD = "pass-word-123"  # UserFactory's
SCREENSHOTS = env.VAR_DIR / "screenshots"


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("CHROMIUM_PATH"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def browser_required() -> bool:
    return os.environ.get("REQUIRE_BROWSER", "").lower() in {"1", "true", "yes"}


def pytest_report_header(config: pytest.Config) -> str:
    path = chromium_path()
    if path:
        return f"browser tests: Chromium at {path}"
    if browser_required():
        return "browser tests: REQUIRE_BROWSER=1 but no Chromium found: they will fail"
    return "browser tests: SKIPPED, no Chromium found (apt-get install chromium, or CHROMIUM_PATH)"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        message = "no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)"
        if browser_required():
            pytest.fail(f"REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread, which Django's
    # "no ORM in async code" check mistakes for async code; the test itself is synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the live server, with short timeouts: a missing
    element fails in seconds, not at the suite's timeout."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Any, user: Any, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person does."""
    from playwright.sync_api import expect

    page.goto("/login/")
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/projects/$"))


@pytest.fixture
def signed_in(page: Any, user: Any) -> Any:
    """The page, signed in as `user` (the project owner of the `project` fixture)."""
    sign_in(page, user)
    return page


def screenshot(page: Any, name: str) -> Path:
    """Keep a picture of a page under var/screenshots/ (docs/img/ takes a few of them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
