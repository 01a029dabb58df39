"""Headless Chromium for the browser checks: Debian's chromium driven by Playwright.

The browser checks run after the notebooks were executed (they read ``build/executed/cpu``).
Without Playwright, chromium, reveal.js or the executed notebooks they skip, except in CI
(``LECTURE_REQUIRE_BROWSER=1``), where a missing piece fails the run with what to install.
"""

import shutil

import pytest
from browser_support import CHROMIUM_FLAGS, unavailable


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed: `make .venv/.installed` installs the dev extra")
    executable = shutil.which("chromium")
    if executable is None:
        unavailable("Debian's chromium is not installed: `make slide-tools` installs it (as root)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
