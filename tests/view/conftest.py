"""Run folders for the viewer's tests, a served viewer, a static export, and a headless Chromium to drive them.

Chromium and its driver come from the system (Debian: `apt-get install chromium chromium-driver`; CI's
.ci/run installs them); PRBENCH_CHROMIUM / PRBENCH_CHROMEDRIVER point elsewhere. Missing, the browser tests
fail saying so: they never skip.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmark.runner.run import run
from tests.conftest import make_config, pair_row, write_jsonl

XSS = '<script>window.__pwned=1</script> and <img src=x onerror="window.__pwned=1">'
ODD_USER = '<img src=x onerror="window.__pwned=1">'  # a user id that is markup, and one with a slash
CHROMIUM = os.environ.get("PRBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PRBENCH_CHROMEDRIVER", "/usr/bin/chromedriver")


def demo_run(results: Path, *overrides: str) -> Path:
    cfg = make_config("logger=none", "cache.mode=off", "split.max_users=8", f"results_dir={results}", *overrides)
    return run(cfg, results / "runs" / cfg.run_name).folder


def xss_data(path: Path) -> Path:
    """Three users, two test pairs each; markup in the context and chosen response of a test pair (p0) and of a
    training pair (p3, which persona_memory's fit state remembers)."""
    rows = []
    for user in ("alice", "bob/2", ODD_USER):
        for i in range(6):
            row = pair_row(i, user=user, split="test" if i < 2 else "val" if i == 2 else "train",
                           pair_id=f"{user}-p{i}")
            if i in (0, 3):
                row["chosen"] = "the chosen answer, the longer one: " + XSS
                row["context"] = [{"role": "user", "content": "question " + XSS}]
            rows.append(row)
    return write_jsonl(path, rows)


def build_results(root: Path, reward_model: bool) -> Path:
    """Demo runs (longer, persona_memory and persona_oracle on the mock backend, and reward_model when asked),
    a run on a dataset whose texts hold markup (and a model output that does), and a run whose data is gone."""
    results = root / "results"
    for overrides in (["method=longer"], ["method=persona_memory", "backend=mock"],
                      ["method=persona_oracle", "backend=mock"], *([["method=reward_model"]] if reward_model else [])):
        demo_run(results, *overrides)
    xss = demo_run(results, "data=prism", f"data.path={xss_data(root / 'xss.jsonl')}", "method=persona_memory",
                   "backend=mock", "run_name=xss/persona_memory", "split.max_users=null")
    items = xss / "items.jsonl"
    records = [json.loads(line) for line in items.read_text().splitlines()]
    for record in records:
        if record["pair_id"].endswith("-p0") and record["order"] == "AB":
            record["raw"] = "model said: " + XSS  # a model output holding markup
    items.write_text("".join(json.dumps(r) + "\n" for r in records))
    gone = xss_data(root / "gone.jsonl")
    demo_run(results, "data=prism", f"data.path={gone}", "method=longer", "run_name=gone/longer",
             "split.max_users=null")
    gone.unlink()
    return results


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Path:
    """Published numbers: one matches demo/longer (same data, method, model), one matches nothing."""
    path = tmp_path_factory.mktemp("ref") / "reference.csv"
    path.write_text("source,data,model,method,prbench_method,accuracy,ci_low,ci_high\n"
                    "Test paper,demo,none,Longer wins,longer,55.0,50.0,60.0\n"
                    "Test paper,prism,meta-llama/Llama-3.1-8B-Instruct,Default,plain,57.5,,\n")
    return path


@pytest.fixture(scope="session")
def view_results(tmp_path_factory) -> Path:
    """The fast runs (no reward model): for the tests without a browser."""
    return build_results(tmp_path_factory.mktemp("view"), reward_model=False)


@pytest.fixture(scope="session")
def browser_results(tmp_path_factory) -> Path:
    """Every run, reward_model included (its margins): for the browser tests."""
    return build_results(tmp_path_factory.mktemp("view_browser"), reward_model=True)


@pytest.fixture(scope="session")
def viewer_urls(browser_results, reference, tmp_path_factory):
    """{"served": the URL of a running prbench-view server, "static": file:// URL of an export} of the runs."""
    from benchmark.view.export import export_viewer
    from benchmark.view.server import serve, url

    server = serve(browser_results, 0, reference)
    page = export_viewer(browser_results, tmp_path_factory.mktemp("export") / "site", reference=reference)
    yield {"served": url(server), "static": page.as_uri()}
    server.shutdown()


@dataclass
class Browser:
    """A headless Chromium on the viewer: open a page, wait until it says it is rendered, read it."""

    driver: object
    base: str = ""

    def open(self, hash_: str = "#/", reload: bool = True, timeout: float = 20.0) -> None:
        """Navigate to `hash_` (a fresh page load unless reload=False) and wait for the page's ready marker."""
        if reload:  # leave the page first: a URL differing in its fragment only would not load anew
            self.driver.get("about:blank")
            self.driver.get(self.base + hash_)
        else:
            self.js("location.hash = arguments[0]", hash_)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        check = ("const r = document.documentElement.dataset.ready; "
                 "return r !== undefined && r === (location.hash || '#/')")
        while not self.js(check):
            assert time.monotonic() < deadline, f"page {self.js('return location.href')} never became ready"
            time.sleep(0.02)

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def texts(self, css: str) -> list[str]:
        return self.js("return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)", css)


def start_chromium(width: int = 1400, height: int = 1000):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed: pip install -c requirements/lock.txt -e '.[test]'", pytrace=False)
    for path, what in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            pytest.fail(f"{path} is missing: the viewer's browser tests need a real Chromium (Debian/Ubuntu: "
                        f"apt-get install chromium chromium-driver; {what} elsewhere: set PRBENCH_CHROMIUM / "
                        f"PRBENCH_CHROMEDRIVER)", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # named, with the driver: Selenium Manager never downloads anything
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tempfile.mkdtemp(prefix='prbench-chromium-')}",
                 f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.fixture(scope="module")
def chromium():
    """One Chromium per test module."""
    driver = start_chromium()
    yield driver
    driver.quit()
