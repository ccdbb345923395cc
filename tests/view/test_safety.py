"""Texts from data and models are shown as text, never run as markup; a run whose data is gone still shows its
verdicts. In a real headless Chromium, served and exported."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.view.conftest import ODD_USER, XSS, Browser
from tests.view.pages import VERDICTS, expected_verdict, items, run_link, user_link

pytestmark = pytest.mark.slow
SCRIPT, IMAGE = XSS.split(" and ")


@pytest.fixture(scope="module", params=["served", "static"])
def browser(request, chromium, viewer_urls) -> Browser:
    return Browser(chromium, viewer_urls[request.param])


def open_everything(browser: Browser) -> None:
    """Unfold every folded part (fit state, training pairs) so that all of the page is built."""
    browser.js("document.querySelectorAll('details').forEach(d => { d.open = true; "
               "d.dispatchEvent(new Event('toggle')); })")


def markup_ran(browser: Browser) -> dict:
    return browser.js("return {pwned: window.__pwned === undefined ? null : window.__pwned,"
                      " elements: document.querySelectorAll('main img, main script, main iframe').length,"
                      " text: document.body.innerText}")


@pytest.mark.parametrize("user", ["alice", "bob/2", ODD_USER])
def test_markup_in_texts_outputs_and_ids_is_shown_as_text(browser, user):
    run = "xss/persona_memory"
    for page in ("#/", run_link(run), user_link(run, user), user_link(run, user, f"{user}-p0")):
        browser.open(page)
        open_everything(browser)
        seen = markup_ran(browser)
        assert seen["pwned"] is None and seen["elements"] == 0, page
        if page.startswith("#/user"):
            assert SCRIPT in seen["text"] and IMAGE in seen["text"], page  # the texts, shown as written
            assert browser.driver.find_element(By.ID, "user-id").text == user
    assert f"model said: {XSS}" in browser.texts(".v-raw")  # a model output (each user's first pair, AB)
    assert XSS in browser.driver.find_element(By.ID, "fit-state").text  # the method's memory of this user's choices


def test_markup_in_a_user_id_stays_text_in_tables(browser):
    browser.open(run_link("xss/persona_memory"))
    assert ODD_USER in browser.texts("table.per-user a")
    assert markup_ran(browser)["pwned"] is None


def test_a_run_whose_data_is_gone_still_shows_its_verdicts(browser, browser_results):
    run = "gone/longer"
    records = items(browser_results, run)
    browser.open(user_link(run, "alice"))
    note = browser.driver.find_element(By.ID, "texts-missing").text
    assert "could not be loaded" in note and "gone.jsonl" in note
    cards = browser.js(VERDICTS)
    assert sorted(c["pair"] for c in cards) == ["alice-p0", "alice-p1"]
    for card in cards:
        assert card["rows"] == [expected_verdict(records[(card["pair"], o)]) for o in ("AB", "BA")]
        assert card["chosen"] is None  # no text to show, and the card says why
