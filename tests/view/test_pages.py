"""The viewer in a real headless Chromium, served (http://127.0.0.1) and exported (file://): what its pages
show is what the run folders hold, filters and sorting change what is shown, deep links open their page."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from benchmark.data.loaders import demo_dir
from benchmark.view.export import export_viewer
from tests.view.conftest import Browser
from tests.view.pages import (
    TABLE_ROWS,
    VERDICTS,
    ci,
    compute_seconds,
    enc,
    expected_verdict,
    items,
    pair_facts,
    pareto_front,
    pct,
    per_user,
    run_link,
    summary,
    user_link,
)

pytestmark = pytest.mark.slow
DEMO_RUNS = ("demo/longer", "demo/persona_memory", "demo/persona_oracle", "demo/reward_model")
ALL_RUNS = (*DEMO_RUNS, "gone/longer", "xss/persona_memory")


@pytest.fixture(scope="module", params=["served", "static"])
def browser(request, chromium, viewer_urls) -> Browser:
    return Browser(chromium, viewer_urls[request.param])


def demo_pairs() -> dict[str, dict]:
    rows = [json.loads(line) for line in (demo_dir() / "pairs.jsonl").read_text().splitlines()]
    return {r["pair_id"]: r for r in rows}


def test_leaderboard_shows_every_run_published_numbers_and_the_pareto_front(browser, browser_results):
    browser.open("#/")
    rows = {r["data"]["run"]: r["cells"] for r in browser.js(TABLE_ROWS, "table.leaderboard")}
    assert sorted(rows) == sorted(ALL_RUNS)
    summaries = {run: summary(browser_results, run) for run in ALL_RUNS}
    for run, cells in rows.items():
        s = summaries[run]
        assert cells["macro [95% CI]"] == f"{pct(s['macro_accuracy'])} {ci(*s['macro_ci'])}", run
        assert cells["micro [95% CI]"] == f"{pct(s['micro_accuracy'])} {ci(*s['micro_ci'])}", run
        assert (cells["soft"] == pct(s["soft_accuracy"])
                and cells["failures"] == f"{s['failures']} ({pct(s['failure_rate'])}%)")
        assert cells["published"] == ("55.00 [50.00, 60.00]" if run == "demo/longer" else "")
    assert rows["demo/longer"]["soft"] == "n/a"  # a method without probabilities: n/a, never 0
    matched = browser.js(TABLE_ROWS, "table.reference-matched")
    assert [m["cells"]["our run"] for m in matched] == ["demo/longer"]
    micro = summaries["demo/longer"]["micro_accuracy"]
    assert matched[0]["cells"]["difference"] == ("+" if 100 * micro >= 55 else "") + f"{100 * micro - 55:.2f}"
    unmatched = browser.js(TABLE_ROWS, "table.reference-unmatched")
    assert [u["cells"]["data"] for u in unmatched] == ["prism"]  # not beside any run, in its own table
    points = browser.js("return [...document.querySelectorAll('#cost circle')]"
                        ".map(c => [c.dataset.run, c.dataset.front])")
    assert sorted(run for run, _ in points) == sorted(ALL_RUNS)
    assert {run for run, front in points if front == "1"} == pareto_front(summaries)
    assert all(compute_seconds(s) >= 0 for s in summaries.values())

    browser.driver.find_element(By.CSS_SELECTOR, "table.leaderboard th[data-key=macro]").click()
    order = [r["data"]["run"] for r in browser.js(TABLE_ROWS, "table.leaderboard")]
    assert order == sorted(ALL_RUNS, key=lambda run: -summaries[run]["macro_accuracy"])


def test_two_runs_picked_on_the_leaderboard_open_their_comparison(browser):
    browser.open("#/")
    button = browser.driver.find_element(By.ID, "compare-selected")
    for run in ("demo/longer", "demo/reward_model"):
        browser.driver.find_element(By.CSS_SELECTOR, f'input[type=checkbox][data-run="{run}"]').click()
    assert button.is_enabled()
    button.click()
    browser.wait_ready()
    assert browser.js("return location.hash") == f"#/compare/{enc('demo/longer')},{enc('demo/reward_model')}"


def test_run_page_is_the_per_user_table_and_its_sort_and_filters_work(browser, browser_results):
    run = "demo/reward_model"
    table = per_user(browser_results, run)
    browser.open(run_link(run))
    shown = lambda: browser.js(TABLE_ROWS, "table.per-user")  # noqa: E731
    rows = shown()
    assert [r["data"]["user"] for r in rows] == table["user_id"].tolist()
    for row, expected in zip(rows, table.itertuples()):
        assert row["cells"]["accuracy"] == pct(expected.accuracy)
        assert row["cells"]["95% CI"] == ci(expected.ci_low, expected.ci_high)
        assert row["cells"]["train pairs"] == str(expected.n_train)
    count = lambda: browser.driver.find_element(By.ID, "shown-count").text  # noqa: E731

    click = lambda key: browser.driver.find_element(By.CSS_SELECTOR, f"table.per-user th[data-key={key}]").click()  # noqa: E731
    click("accuracy")
    assert [r["data"]["user"] for r in shown()] == table.sort_values("accuracy", kind="stable")["user_id"].tolist()
    click("accuracy")
    assert [r["data"]["user"] for r in shown()] == table.sort_values("accuracy", ascending=False,
                                                                     kind="stable")["user_id"].tolist()

    browser.driver.find_element(By.ID, "f-acc-max").send_keys("50")
    low = table[100 * table["accuracy"] <= 50 + 1e-9]
    assert 0 < len(low) < len(table)
    assert sorted(r["data"]["user"] for r in shown()) == sorted(low["user_id"])
    assert count() == f"{len(low)} of {len(table)} users shown"
    browser.driver.find_element(By.ID, "f-acc-max").clear()
    median = int(table["n_train"].median())
    browser.driver.find_element(By.ID, "f-train-min").send_keys(str(median))
    assert sorted(r["data"]["user"] for r in shown()) == sorted(table[table["n_train"] >= median]["user_id"])
    browser.driver.find_element(By.ID, "f-train-min").clear()
    Select(browser.driver.find_element(By.ID, "f-ci")).select_by_visible_text("contains 50%")
    assert sorted(r["data"]["user"] for r in shown()) == sorted(table[(table["ci_low"] <= 0.5)
                                                                      & (table["ci_high"] >= 0.5)]["user_id"])
    Select(browser.driver.find_element(By.ID, "f-ci")).select_by_visible_text("any")
    Select(browser.driver.find_element(By.ID, "f-failures")).select_by_visible_text("with failures")
    assert shown() == [] and count() == f"0 of {len(table)} users shown"  # the demo RM never fails
    Select(browser.driver.find_element(By.ID, "f-failures")).select_by_visible_text("any")
    assert count() == f"{len(table)} of {len(table)} users shown"

    bars = browser.js("return [...document.querySelectorAll('#histogram rect.bar title')].map(t => t.textContent)")
    assert sum(int(t.split(": ")[1].split()[0]) for t in bars) == len(table)
    bins = browser.js("return document.querySelectorAll('#train-chart g.bin').length")
    assert 2 <= bins < len(table)  # binned, never one point per user


def test_order_consistency_filter(browser, browser_results):
    run = "demo/persona_memory"
    table = per_user(browser_results, run)
    browser.open(run_link(run))
    browser.driver.find_element(By.ID, "f-oc-max").send_keys("50")
    expected = table[100 * table["order_consistency"] <= 50 + 1e-9]["user_id"]
    assert 0 < len(expected) < len(table)
    assert sorted(r["data"]["user"] for r in browser.js(TABLE_ROWS, "table.per-user")) == sorted(expected)


@pytest.mark.parametrize("run", ["demo/reward_model", "demo/persona_memory"])
def test_a_deep_link_opens_the_user_with_their_accuracy_and_verdicts(browser, browser_results, run):
    table = per_user(browser_results, run)
    records = items(browser_results, run)
    texts = demo_pairs()
    for row in list(table.itertuples())[:3]:
        browser.open(user_link(run, row.user_id))  # a fresh page load: the link alone opens the user
        assert browser.driver.find_element(By.ID, "user-id").text == row.user_id
        assert browser.driver.find_element(By.ID, "user-accuracy").text == pct(row.accuracy)
        assert browser.driver.find_element(By.ID, "user-ci").text.strip() == ci(row.ci_low, row.ci_high)
        cards = browser.js(VERDICTS)
        mine = {p for p, o in records if records[(p, o)]["user_id"] == row.user_id}
        assert sorted(c["pair"] for c in cards) == sorted(mine)
        for card in cards:
            assert card["rows"] == [expected_verdict(records[(card["pair"], o)]) for o in ("AB", "BA")]
            assert (card["chosen"], card["rejected"]) == (texts[card["pair"]]["chosen"],
                                                          texts[card["pair"]]["rejected"])


def test_pair_link_filters_and_search(browser, browser_results):
    run = "demo/persona_memory"
    records = items(browser_results, run)
    table = per_user(browser_results, run)
    user = max(table.itertuples(), key=lambda r: r.n_test).user_id
    facts = pair_facts(records, user)
    pair = sorted(facts)[-1]
    browser.open(user_link(run, user, pair))
    target = browser.js("const t = document.querySelector('.pair.target'); const r = t.getBoundingClientRect();"
                        "return [t.dataset.pair, r.top >= 0 && r.top < innerHeight]")
    assert target == [pair, True]
    shown = lambda: sorted(c["pair"] for c in browser.js(VERDICTS))  # noqa: E731
    which = Select(browser.driver.find_element(By.ID, "f-pairs"))
    which.select_by_visible_text("wrong in either order")
    assert shown() == sorted(p for p, (wrong, _) in facts.items() if wrong)
    which.select_by_visible_text("order-inconsistent")
    assert shown() == sorted(p for p, (_, consistent) in facts.items() if not consistent)
    assert len(shown()) < len(facts) or all(not c for _, c in facts.values())
    which.select_by_visible_text("all test pairs")
    assert shown() == sorted(facts)
    texts = demo_pairs()
    query = texts[pair]["context"][-1]["content"][:30]
    haystack = lambda p: " ".join([p, *(m["content"] for m in texts[p]["context"]),  # noqa: E731
                                   texts[p]["chosen"], texts[p]["rejected"],
                                   *(records[(p, o)]["raw"] or "" for o in ("AB", "BA"))]).lower()
    browser.driver.find_element(By.ID, "f-text").send_keys(query)
    assert pair in shown() and shown() == sorted(p for p in facts if query.lower() in haystack(p))
    assert browser.driver.find_element(By.ID, "pairs-count").text == f"{len(shown())} of {len(facts)} test pairs shown"


def test_what_the_method_knew(browser, browser_results):
    run, user = "demo/persona_memory", per_user(browser_results, "demo/persona_memory")["user_id"][0]
    browser.open(user_link(run, user))
    assert browser.js("return !!document.getElementById('persona-hidden') && !document.getElementById('persona-truth')")
    fit = json.loads(next((browser_results / "runs" / run / "fit").glob(f"{user}.json")).read_text())
    browser.js("document.getElementById('fit-state').open = true")
    shown = browser.driver.find_element(By.ID, "fit-state").text
    assert fit["state"]["memory"][0]["prompt"] in shown and fit["state"]["memory"][-1]["chosen"].split("\n")[0] in shown
    personas = {json.loads(line)["user_id"]: json.loads(line)["persona_truth"]
                for line in (demo_dir() / "users.jsonl").read_text().splitlines()}
    browser.open(user_link("demo/persona_oracle", user))
    assert browser.driver.find_element(By.ID, "persona-truth").text == personas[user]


def test_compare_shows_per_user_differences_and_the_pairs_the_runs_disagree_on(browser, browser_results):
    a, b = "demo/longer", "demo/reward_model"
    browser.open(f"#/compare/{enc(a)},{enc(b)}")
    ia, ib = items(browser_results, a), items(browser_results, b)
    pairs = {(r["user_id"], p) for (p, _), r in ia.items()}
    disagree = {(u, p) for u, p in pairs
                if any(ia[(p, o)]["preferred"] != ib[(p, o)]["preferred"] for o in ("AB", "BA"))}
    assert browser.driver.find_element(By.ID, "disagree-count").text.startswith(f"{len(disagree)} of "
                                                                                f"{len(pairs)} pairs")
    rows = browser.js(TABLE_ROWS, "table.disagreements")
    assert {(r["data"]["user"], r["data"]["pair"]) for r in rows} == disagree
    ta, tb = per_user(browser_results, a).set_index("user_id"), per_user(browser_results, b).set_index("user_id")
    diffs = browser.js(TABLE_ROWS, "table.differences")
    expected = {u: 100 * (tb.accuracy[u] - ta.accuracy[u]) for u in ta.index}
    assert [r["data"]["user"] for r in diffs] == sorted(ta.index, key=lambda u: expected[u])  # sorted by the difference
    for r in diffs:
        assert r["cells"]["[2] − [1]"] == (("+" if expected[r["data"]["user"]] >= 0 else "")
                                           + f"{expected[r['data']['user']]:.2f}")
    link = browser.js("return document.querySelector('table.disagreements a.mono').getAttribute('href')")
    browser.open(link, reload=False)
    assert browser.js("return document.querySelector('.pair.target').dataset.pair") == link.rsplit("/", 1)[1]

    browser.open(f"#/compare/{enc(a)},{enc('xss/persona_memory')}")
    assert "runs judged different items" in browser.driver.find_element(By.ID, "error").text


def test_a_link_to_nothing_says_so(browser):
    browser.open("#/run/nope")
    assert 'no run "nope"' in browser.driver.find_element(By.ID, "error").text
    browser.open(user_link("demo/longer", "nobody"))
    assert 'no user "nobody"' in browser.driver.find_element(By.ID, "error").text


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_screenshots(browser, browser_results, tmp_path):
    """The README's pictures, of an export of the demo runs alone: the leaderboard and a user page
    (PRBENCH_VIEW_SCREENSHOTS=<folder> keeps them)."""
    if not browser.base.startswith("file:"):
        return  # one set, from a static export
    out = Path(os.environ.get("PRBENCH_VIEW_SCREENSHOTS") or tmp_path / "shots")
    out.mkdir(parents=True, exist_ok=True)
    demo = Browser(browser.driver, export_viewer(browser_results / "runs" / "demo", tmp_path / "demo").as_uri())
    driver = browser.driver
    driver.set_window_size(1400, 1250)
    try:
        demo.open("#/")
        driver.save_screenshot(str(out / "view_leaderboard.png"))
        run = "persona_memory"
        records = items(browser_results, f"demo/{run}")
        user = per_user(browser_results, f"demo/{run}")["user_id"][0]
        wrong = sorted(p for p, (w, c) in pair_facts(records, user).items() if w and not c)
        demo.open(user_link(run, user))
        driver.save_screenshot(str(out / "view_user.png"))
        if wrong:
            demo.open(user_link(run, user, wrong[0]))
            driver.save_screenshot(str(out / "view_pair.png"))
    finally:
        driver.set_window_size(1400, 1000)
    for name in ("view_leaderboard.png", "view_user.png"):
        assert png_size(out / name)[0] == 1400
        assert (out / name).stat().st_size > 30_000  # a rendered page, not a blank one
