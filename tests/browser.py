"""The browser tests' tooling: the system's Chromium, driven by Playwright's sync API.

Used by the report's page tests (test_report.py) and the server's playground tests
(test_serve_page.py). Tests are skipped when no Chromium is installed (``.ci/run`` installs
Debian's ``chromium``) or the ``playwright`` package cannot be imported.
"""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest


def find_chromium():
    for name in (os.environ.get("RNNLAB_CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


CHROMIUM = find_chromium()
needs_browser = pytest.mark.skipif(CHROMIUM is None, reason="no chromium found (apt-get install chromium; .ci/run installs it)")
# For closed networks (CI): without the background-networking switches Chromium tries to connect out.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Tab:
    """A Playwright page, with the console errors, uncaught exceptions and requests seen on it."""

    def __init__(self, page):
        self.page = page
        self.problems: list[str] = []
        self.requests: list = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e.stack or e}"[:300]))
        page.on("request", lambda r: self.requests.append(r))

    def _console(self, msg) -> None:
        # Chromium's log entries (network, security, ...) come through as console messages too.
        if msg.type in ("error", "assert") and "favicon" not in msg.location.get("url", ""):
            self.problems.append(f"console.{msg.type}: {msg.text}"[:300])

    def js(self, expression: str):
        return self.page.evaluate(expression)

    def errors(self) -> list[str]:
        """Console errors and uncaught exceptions seen so far."""
        return list(self.problems)


@contextlib.contextmanager
def launch():
    """One headless Chromium (for a module-scoped fixture), driven by Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install playwright)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000)
        yield browser
        browser.close()


@contextlib.contextmanager
def open_tab(browser, width: int, height: int, timeout_ms: int = 60_000, kind: type = Tab, **options):
    """A fresh page in its own context (its own storage), ``width`` x ``height`` CSS pixels, as a
    ``kind`` (:class:`Tab` or a test's own subclass)."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    context.set_default_timeout(timeout_ms)
    try:
        yield kind(context.new_page())
    finally:
        context.close()
