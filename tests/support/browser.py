"""Debian's Chromium driven by Playwright (which cannot download its own browser here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"


@contextmanager
def chromium_page(timeout_ms: float = 60_000) -> Iterator[Page]:
    """A fresh page in a fresh browser, closed afterwards; waits of `timeout_ms` (shared cores)."""
    assert Path(CHROMIUM).exists(), "apt-get install chromium (.ci/run does)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.set_default_timeout(timeout_ms)
            yield page
        finally:
            browser.close()
