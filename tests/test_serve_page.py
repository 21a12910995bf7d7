"""``rnnlab serve``'s playground page in a real browser, against a real server.

Headless Chromium (the system's own) driven by Playwright's sync API, as the report's browser tests
in test_report.py: the page lists the served models, streams a completion into the text, offers the
server's own next-character suggestions in interactive mode, shows the server's refusals, sends the
API key it is given, and asks nothing of any other origin. Skipped without Chromium or playwright.
"""

from __future__ import annotations

import math

import browser
import pytest
from browser import needs_browser, open_tab
from serve_fixtures import serve

pytestmark = needs_browser
REFUSED = "Failed to load resource: the server responded with a status of 4"  # Chromium's log line for a 4xx fetch


class Tab(browser.Tab):
    """The playground's tab: refusals (4xx) may be expected; requests to other origins are found."""

    def errors(self, refusals_expected: bool = False) -> list[str]:
        """Console errors and uncaught exceptions seen so far (but Chromium's note of each 4xx where expected)."""
        return [p for p in self.problems if not (refusals_expected and REFUSED in p)]

    def foreign(self, origin: str) -> list[str]:
        """Requests to anything but ``origin``."""
        return [r.url for r in self.requests if not r.url.startswith(origin + "/")]


@pytest.fixture(scope="module")
def server():
    pytest.importorskip("uvicorn", reason="rnnlab serve needs its extra (pip install starlette 'uvicorn[standard]')")
    with serve() as s:
        yield s


@pytest.fixture
def tab(chromium):
    """A fresh page in its own context (so its own localStorage)."""
    with open_tab(chromium, 1200, 900, 30_000, kind=Tab) as tab:
        yield tab


def open_page(tab: Tab, url: str):
    page = tab.page
    page.goto(url + "/", wait_until="load")
    page.wait_for_function("document.body.dataset.ready === '1'")
    return page


def finish(page) -> str:
    """Waits for the running completion to end; returns the status line."""
    page.wait_for_function("!document.querySelector('#continue').disabled && document.body.dataset.state === 'idle'")
    return page.text_content("#status")


def percent(p: float) -> str:
    """The page's label for a probability (JavaScript's Math.round: halves up)."""
    return "<1%" if p * 100 < 1 else f"{math.floor(p * 100 + 0.5)}%"


def visible(word: str) -> str:
    return word.replace(" ", "\u2423").replace("\n", "\u21b5").replace("\t", "\u21e5")


def test_continue_streams_the_servers_text(server, tab):
    page = open_page(tab, server.url)
    assert "base" in page.eval_on_selector_all("#model option", "os => os.map(o => o.value)")
    assert page.input_value("#model") == "base"
    assert page.input_value("#temperature") == "0.8" and page.input_value("#length") == "300"
    assert page.is_disabled("#stop") and not page.is_checked("#interactive")
    assert page.get_attribute("a[href='/v1/models']", "href") == "/v1/models"
    assert "rnnlab playground" in page.text_content("h1")
    prompt = "The "
    page.fill("#text", prompt)
    page.fill("#length", "40")
    page.fill("#temperature", "0")  # greedy: the text is the server's own greedy completion
    with page.expect_response("**/v1/completions") as answer:
        page.click("#continue")
    response = answer.value
    assert response.status == 200 and response.headers["content-type"].startswith("text/event-stream")
    sent = response.request.post_data_json
    assert sent == {"model": "base", "prompt": prompt, "max_tokens": 40, "temperature": 0, "stream": True}
    status = finish(page)
    text = page.input_value("#text")
    assert text.startswith(prompt) and len(text) > len(prompt), (text, status)
    added = text[len(prompt) :]
    assert status == f"done: {len(added)} characters", status
    assert len(added) == 40  # no stop sequence: the completion ends at its length
    code, body = server.post("/v1/completions", {"model": "base", "prompt": prompt, "max_tokens": 40, "temperature": 0})
    assert code == 200 and body["choices"][0]["text"] == added
    assert not page.is_disabled("#continue") and page.is_disabled("#stop") and page.is_editable("#text")
    assert tab.errors() == []
    assert tab.foreign(server.url) == []


def test_stop_aborts_the_stream(server, tab):
    page = open_page(tab, server.url)
    page.fill("#text", "Once upon a time")
    page.fill("#length", "4000")
    page.click("#continue")
    assert page.is_disabled("#continue") and not page.is_editable("#text")
    page.wait_for_function("document.querySelector('#text').value.length > 'Once upon a time'.length")
    page.click("#stop")
    status = finish(page)
    assert status.startswith("stopped after "), status
    grown = len(page.input_value("#text")) - len("Once upon a time")
    assert 0 < grown < 4000 and status == f"stopped after {grown} characters"
    assert tab.errors() == [] and tab.foreign(server.url) == []


def test_interactive_suggests_the_servers_candidates(server, tab):
    page = open_page(tab, server.url)
    page.check("#interactive")
    prompt = "The qu"
    page.fill("#text", prompt)
    page.wait_for_selector(f"#suggestions[data-prompt='{prompt}'] .suggestion:not([disabled])")
    shown = page.eval_on_selector_all(
        ".suggestion", "bs => bs.map(b => [b.dataset.word, Number(b.dataset.probability), b.textContent, b.disabled])"
    )
    assert len(shown) >= 2
    code, body = server.post("/v1/rnnlab/next", {"model": "base", "prompt": prompt, "top": 8, "temperature": 0.8, "words": True})
    assert code == 200
    expected = body["candidates"]
    assert [w for w, *_ in shown] == [c["word"] for c in expected]
    assert [p for _, p, *_ in shown] == pytest.approx([c["probability"] for c in expected])
    for (word, _, label, disabled), c in zip(shown, expected):
        assert label == visible(word) + percent(c["probability"]) and not disabled
    assert len(expected) == 8 and expected[0]["word"].startswith(expected[0]["text"])
    page.locator(".suggestion").first.click()
    text = page.input_value("#text")
    assert text == prompt + expected[0]["word"] and len(text) > len(prompt)
    # The suggestions follow: fresh ones for the longer text.
    page.wait_for_selector(f"#suggestions[data-prompt='{text}'] .suggestion")
    code, body = server.post("/v1/rnnlab/next", {"model": "base", "prompt": text, "top": 8, "temperature": 0.8, "words": True})
    assert page.eval_on_selector_all(".suggestion", "bs => bs.map(b => b.dataset.word)") == [c["word"] for c in body["candidates"]]
    page.uncheck("#interactive")
    assert page.locator(".suggestion").count() == 0
    assert tab.errors() == []
    assert tab.foreign(server.url) == []


def test_unknown_characters_show_the_servers_error(server, tab):
    page = open_page(tab, server.url)
    prompt = "漢字"
    code, body = server.post("/v1/completions", {"model": "base", "prompt": prompt, "max_tokens": 5})
    assert code == 400
    message = body["error"]["message"]
    assert "漢" in message and "字" in message
    page.fill("#text", prompt)
    page.click("#continue")
    status = finish(page)
    assert status == message and page.get_attribute("#status", "class") == "error"
    assert page.input_value("#text") == prompt
    # Interactive mode gets the same refusal from /v1/rnnlab/next.
    page.check("#interactive")
    page.fill("#text", prompt + " ")
    page.wait_for_selector("#status.error[data-from='suggest']")
    assert page.text_content("#status") == message
    assert "漢" in page.text_content("#status") and page.locator(".suggestion").count() == 0
    # The error clears once the text is readable again.
    page.fill("#text", "The ")
    page.wait_for_selector("#suggestions[data-prompt='The '] .suggestion")
    assert page.text_content("#status") == ""
    assert tab.errors(refusals_expected=True) == []
    assert tab.foreign(server.url) == []


def test_api_key_is_asked_for_and_sent(tab):
    pytest.importorskip("uvicorn", reason="rnnlab serve needs its extra (pip install starlette 'uvicorn[standard]')")
    with serve("--api-key", "s3cret") as keyed:
        page = open_page(tab, keyed.url)
        assert "API key" in page.text_content("#status") and page.locator("#model option").count() == 0
        page.fill("#key", "s3cret")
        page.press("#key", "Enter")  # commits the field: a change event
        page.wait_for_selector("#model option[value='base']", state="attached")
        assert page.text_content("#status") == ""
        assert page.evaluate("localStorage.getItem('rnnlab.key')") == "s3cret"
        page.fill("#text", "Hello")
        page.fill("#length", "5")
        page.click("#continue")
        assert finish(page) == "done: 5 characters"
        api = [r for r in tab.requests if "/v1/" in r.url]
        assert api and api[-1].headers.get("authorization") == "Bearer s3cret"
        # A reload keeps the key, so the models load at once.
        page.reload()
        page.wait_for_function("document.body.dataset.ready === '1'")
        assert page.input_value("#key") == "s3cret" and page.input_value("#model") == "base"
        assert tab.errors(refusals_expected=True) == []
        assert tab.foreign(keyed.url) == []
