"""The report and the leaderboard in a real headless Chromium: no console errors, no failed or
network requests, the key elements present and visible, full-page screenshots saved.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``), so the
test needs the Debian ``chromium`` package and nothing else: no driver, no browser download, no
port. Without Chromium the tests skip, unless ``ROBUSTLAB_REQUIRE_BROWSER=1`` (CI), then they
fail. Screenshots go to ``$ROBUSTLAB_SCREENSHOTS`` (default: a temporary folder, printed).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import robustlab
from robustlab.report import write_report
from robustlab.store import Store

#: Flags that work in a container sandbox and keep Chromium off the network.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)

XSS_NAME = "<script>console.error('xss')</script><b>cnn</b>"


def find_chromium() -> str | None:
    for candidate in (
        os.environ.get("ROBUSTLAB_CHROMIUM"),
        "chromium",
        "chromium-browser",
        "google-chrome",
    ):
        path = shutil.which(candidate) if candidate else None
        if path:
            return path
    return None


class BrowserError(AssertionError):
    """Chromium did not answer, or answered a DevTools command with an error."""


class Chromium:
    """A headless Chromium over the DevTools protocol: JSON messages separated by NUL bytes on
    file descriptors 3 (to the browser) and 4 (from it)."""

    def __init__(self, executable: str, profile: Path) -> None:
        to_browser, self._out = os.pipe()
        self._in, from_browser = os.pipe()

        def wire() -> None:  # runs in the child: the pipes become its fds 3 and 4
            a, b = os.dup(to_browser), os.dup(from_browser)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.log = profile / "chromium.log"
        self.proc = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=wire,
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        for fd in (self._out, self._in):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._in], [], [], max(left, 0))
            if not ready:
                return None
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise BrowserError(f"Chromium closed the DevTools pipe; its log ends:\n{tail}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None
    ) -> dict[str, Any]:
        """Send one command and wait for its answer, keeping the events that arrive meanwhile."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 30
        while True:
            answer = self._receive(deadline)
            if answer is None:
                raise BrowserError(f"Chromium did not answer {method} within 30 s")
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method} failed: {answer['error']}")
                return dict(answer.get("result", {}))
            self.events.append(answer)

    def wait_for(self, method: str, session: str, timeout: float = 30) -> None:
        """Wait for event ``method`` of ``session`` (it may have arrived already)."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for event in self.events[seen:]:
                if event.get("method") == method and event.get("sessionId") == session:
                    return
            seen = len(self.events)
            event = self._receive(deadline)
            if event is None:
                raise BrowserError(f"no {method} within {timeout} s")
            self.events.append(event)

    def settle(self, quiet: float = 0.3) -> None:
        """Collect events until none arrives for ``quiet`` seconds."""
        while (event := self._receive(time.monotonic() + quiet)) is not None:
            self.events.append(event)


class Page:
    """One tab: what it logged and requested, queries by CSS selector, screenshots."""

    def __init__(self, browser: Chromium, url: str, width: int = 1280) -> None:
        self.browser = browser
        self.url = url
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self.first_event = len(browser.events)
        for domain in ("Page", "Runtime", "Log", "Network"):
            self._call(f"{domain}.enable")
        self._call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )
        self._call("Page.navigate", {"url": url})
        browser.wait_for("Page.loadEventFired", self.session)
        browser.settle()

    def _call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.call(method, params, session=self.session)

    def _events(self, method: str) -> list[dict[str, Any]]:
        return [
            e["params"]
            for e in self.browser.events[self.first_event :]
            if e.get("sessionId") == self.session and e.get("method") == method
        ]

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, failed requests and requests for
        anything but file: and data: URLs."""
        out = []
        for e in self._events("Runtime.consoleAPICalled"):
            if e["type"] in ("error", "warning", "assert"):
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in e["args"])
                out.append(f"console.{e['type']}: {text}")
        for e in self._events("Runtime.exceptionThrown"):
            details = e["exceptionDetails"]
            what = (details.get("exception") or {}).get("description") or details.get("text")
            out.append(f"uncaught exception: {what}")
        for e in self._events("Log.entryAdded"):
            if e["entry"]["level"] in ("error", "warning"):
                out.append(f"log {e['entry']['level']}: {e['entry']['text']}")
        urls = {}
        for e in self._events("Network.requestWillBeSent"):
            url = urls[e["requestId"]] = e["request"]["url"]
            if not url.startswith(("file:", "data:")):
                out.append(f"network request: {url}")
        for e in self._events("Network.loadingFailed"):
            url = urls.get(e["requestId"], e["requestId"])
            out.append(f"failed request {url[:200]}: {e.get('errorText')}")
        for e in self._events("Network.responseReceived"):
            status = e["response"].get("status", 200)
            if e["response"]["url"].startswith("file:") and status >= 400:
                out.append(f"HTTP {status} for {e['response']['url']}")
        return out

    def evaluate(self, expression: str) -> Any:
        answer = self._call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in answer:
            raise BrowserError(f"{expression!r} threw {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def visible(self, selector: str) -> int:
        """How many elements match ``selector`` and are rendered with a non-empty box."""
        return int(
            self.evaluate(
                f"[...document.querySelectorAll({json.dumps(selector)})].filter(e => {{"
                "const r = e.getBoundingClientRect(), s = getComputedStyle(e);"
                "return r.width > 0 && r.height > 0 && s.visibility !== 'hidden'"
                " && s.display !== 'none'; }).length"
            )
        )

    def screenshot(self, path: Path) -> Path:
        """A full-page PNG screenshot."""
        size = self._call("Page.getLayoutMetrics")["cssContentSize"]
        shot = self._call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": size["width"],
                    "height": min(size["height"], 16000),
                    "scale": 1,
                },
            },
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[Chromium]:
    executable = find_chromium()
    if executable is None:
        message = "Chromium not found (apt-get install chromium, or .ci/chromium.sh)"
        if os.environ.get("ROBUSTLAB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message}; ROBUSTLAB_REQUIRE_BROWSER=1 requires the browser test")
        pytest.skip(message)
    chromium = Chromium(executable, tmp_path_factory.mktemp("chromium-profile"))
    try:
        chromium.call("Browser.getVersion")
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = os.environ.get("ROBUSTLAB_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {path}")
    return path


SUITE = {
    "name": "browser",
    "version": 1,
    "description": "clean, one corruption at two severities and a white-box attack",
    "probes": [
        "clean",
        {"probe": "corruption", "corruption": "gaussian_noise", "severity": 3},
        {"probe": "corruption", "corruption": "gaussian_noise", "severity": 5},
        {"probe": "attack", "attack": "pgd", "norm": "linf", "epsilon": 0.1, "steps": 5},
    ],
}


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, cnn, logreg, small_digits) -> dict[str, Any]:
    """Real scans in one store: the small CNN, the logistic regression (which the gradient
    attack skips) and an untrained linear model under a hostile name."""
    from helpers_core import TinyLinear
    from robustlab.models import TorchModel

    store = Store(f"sqlite:///{tmp_path_factory.mktemp('browser')}/store.db")
    runs = [
        robustlab.scan(m, small_digits, SUITE, store=store, shard_size=60, progress=False)
        for m in (cnn, logreg)
    ]
    hostile = TorchModel(TinyLinear(), bounds=(0.0, 1.0), num_classes=10, name=XSS_NAME)
    runs.append(
        robustlab.scan(hostile, small_digits, SUITE, store=store, shard_size=60, progress=False)
    )
    return {"store": store, "runs": runs}


def _open_clean(browser: Chromium, html: Path, shot: Path) -> Page:
    """Open ``html``, save its screenshot and fail on any problem the page reported."""
    page = Page(browser, html.resolve().as_uri())
    page.screenshot(shot)
    problems = page.problems()
    assert not problems, f"{html}: {problems} (screenshot {shot})"
    assert page.evaluate("document.scripts.length") == 0
    broken = page.evaluate(
        "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length"
    )
    assert broken == 0, f"{broken} images did not decode"
    return page


def test_the_check_catches_console_errors_and_stray_requests(browser, tmp_path) -> None:
    """The checks below can fail: a page with a script error, a console warning, a missing file
    and a request to the network reports each of them."""
    page_file = tmp_path / "bad.html"
    page_file.write_text(
        "<!DOCTYPE html><title>bad</title><p id=ok>hi</p><p id=gone hidden>x</p>"
        '<img src="missing.png"><img src="http://robustlab.invalid/x.png">'
        "<script>console.warn('careful'); undefinedFunction();</script>",
        encoding="utf-8",
    )
    page = Page(browser, page_file.as_uri())
    problems = "\n".join(page.problems())
    assert "console.warning: careful" in problems
    assert "uncaught exception: ReferenceError: undefinedFunction is not defined" in problems
    assert "network request: http://robustlab.invalid/x.png" in problems
    assert (
        f"failed request {(tmp_path / 'missing.png').as_uri()}: net::ERR_FILE_NOT_FOUND" in problems
    )
    assert page.visible("#ok") == 1 and page.visible("#gone") == 0 and page.visible("#no") == 0


#: What a single-run report of an image scan must show.
REPORT_ELEMENTS = (
    "nav.toc a",
    "#scorecard svg.chart.axes",
    "#scorecard table.scorecard",
    "#accuracy-chart svg.chart",
    "#severity-curves svg.chart",
    "section.run table.headline",
    "section.run .reliability svg",
    "section.run table.gallery img",
    "section.run .worst figure img",
    "section.run dl.metadata",
)


def test_report_of_a_real_scan_renders(browser, scanned, screenshots, tmp_path) -> None:
    run = scanned["runs"][0]
    html, _ = write_report(scanned["store"], [run.run_id], tmp_path / "single")
    page = _open_clean(browser, html, screenshots / "report-single.png")
    for selector in REPORT_ELEMENTS:
        assert page.visible(selector) >= 1, f"{selector} missing or invisible in {html}"
    assert page.visible("section.run") == 1
    assert page.evaluate("document.title") == "RobustLab report: digits-cnn"
    # clean, corruptions, adversarial, subgroups (the data has groups), calibration: a dot each
    assert page.visible("#scorecard svg.axes circle title") == 0  # titles are not drawn
    assert (
        page.evaluate("document.querySelectorAll('#scorecard svg.axes circle title').length") == 5
    )
    links = page.evaluate(
        "[...document.querySelectorAll('nav.toc a, .subnav a')].map(a => a.getAttribute('href'))"
    )
    for href in links:  # every link of the table of contents lands on an element of the page
        assert href.startswith("#"), href
        assert page.evaluate(f"document.getElementById({json.dumps(href[1:])}) !== null"), href


def test_comparison_report_renders(browser, scanned, screenshots, tmp_path) -> None:
    ids = [r.run_id for r in scanned["runs"][:2]]
    html, _ = write_report(scanned["store"], ids, tmp_path / "compare")
    page = _open_clean(browser, html, screenshots / "report-comparison.png")
    assert page.visible("section.run") == 2
    assert page.visible("section.comparison table") == 1
    assert page.visible("#scorecard table.scorecard thead th") == 1 + 2  # axis + one per run
    # the logistic regression has no adversarial axis: 5 + 4 dots, and the gap shows as a dash
    assert (
        page.evaluate("document.querySelectorAll('#scorecard svg.axes circle title').length") == 9
    )
    assert page.visible("#scorecard td[title='not measured by this run']") == 1
    assert page.visible("tr.skipped") == 1  # the gradient attack on the black-box model


#: Text of any chart drawn outside its SVG box (clipped labels, legends, ticks).
CLIPPED_TEXT = """[...document.querySelectorAll('svg.chart')].flatMap(svg => {
  const box = svg.getBoundingClientRect();
  return [...svg.querySelectorAll('text')].filter(t => {
    const r = t.getBoundingClientRect();
    return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1
      || r.top < box.top - 1 || r.bottom > box.bottom + 1);
  }).map(t => t.textContent);
})"""

#: Width of each full-width chart as a share of its section's content box.
CHART_SHARE = """[...document.querySelectorAll('svg.chart.wide')].map(svg => {
  const section = svg.closest('section'), style = getComputedStyle(section);
  const inner = section.clientWidth - parseFloat(style.paddingLeft)
    - parseFloat(style.paddingRight);
  return svg.getBoundingClientRect().width / inner;
})"""


def test_report_visuals_issue_23(browser, scanned, screenshots, tmp_path) -> None:
    """Issue 23 item 13 as a reader sees it: the summary first, axis titles on every curve,
    round tick labels, full-width charts, no text clipped (legends included), the per-class
    table and confusion matrix."""
    import re

    ids = [r.run_id for r in scanned["runs"][:2]]
    html, _ = write_report(scanned["store"], ids, tmp_path / "visuals")
    page = _open_clean(browser, html, screenshots / "report-issue-23.png")
    assert page.visible("#summary") == 1
    assert page.evaluate(
        "document.getElementById('summary').getBoundingClientRect().top"
        " < document.getElementById('scorecard').getBoundingClientRect().top"
    )
    assert page.visible("#summary ol.weakest li") >= 1
    assert page.visible("#summary ul.next li") >= 1
    page.evaluate("document.querySelectorAll('#summary details').forEach(d => d.open = true)")
    assert page.visible("#summary table.confusion") == 2
    assert page.visible("#summary table.per-class-accuracy") == 2
    # every small chart (severity curves, reliability diagrams) names both axes
    titles = page.evaluate(
        "[...document.querySelectorAll('svg.chart.small')]"
        ".map(s => s.querySelectorAll('text.axis-title').length)"
    )
    assert titles and all(n == 2 for n in titles), titles
    ticks = page.evaluate(
        "[...document.querySelectorAll('svg.chart text.tick, svg.chart text.ytick')]"
        ".map(t => t.textContent)"
    )
    odd = [t for t in ticks if not re.fullmatch(r"-?\d+(\.\d{1,2})?", t)]
    assert ticks and not odd, odd  # no 0.0359
    assert page.evaluate(CLIPPED_TEXT) == []
    shares = page.evaluate(CHART_SHARE)
    assert len(shares) >= 2 and min(shares) > 0.9, shares  # not 60% of the width


def test_hostile_names_render_as_text(browser, scanned, screenshots, tmp_path) -> None:
    ids = [r.run_id for r in scanned["runs"]]
    html, _ = write_report(scanned["store"], ids, tmp_path / "hostile")
    page = _open_clean(browser, html, screenshots / "report-hostile-name.png")
    assert page.evaluate("document.querySelectorAll('b').length") == 0
    assert XSS_NAME in page.evaluate("document.body.innerText")  # shown literally, as text


def test_text_examples_render_highlighted(browser, screenshots, tmp_path) -> None:
    from test_report import build_text_run

    store, run_id = build_text_run(tmp_path)
    html, _ = write_report(store, [run_id], tmp_path / "text")
    page = _open_clean(browser, html, screenshots / "report-text.png")
    assert page.visible(".texts .example") == 4
    assert page.visible(".texts mark") == 4  # two typos, the inserted "!" and the merged tag
    assert page.evaluate("document.querySelector('.texts mark').textContent") == "<script>"
    assert page.evaluate("document.querySelectorAll('b, i, u, script').length") == 0


def test_leaderboard_of_three_models_renders(browser, scanned, screenshots, tmp_path) -> None:
    from click.testing import CliRunner

    from robustlab.cli import cli

    out = tmp_path / "board"
    result = CliRunner().invoke(
        cli, ["leaderboard", "--store", scanned["store"].url, "--html", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = _open_clean(browser, out / "leaderboard.html", screenshots / "leaderboard.png")
    assert page.visible("table") >= 1
    assert page.evaluate("document.querySelectorAll('b').length") == 0
    text = page.evaluate("document.body.innerText")
    for name in ("digits-cnn", "digits-logreg", XSS_NAME):
        assert name in text, name


@pytest.mark.slow
def test_demo_report_and_leaderboard_render(browser, screenshots, tmp_path) -> None:
    """The issue's acceptance check: the demo's own report, and the leaderboard of its
    population (eight models), open in Chromium without a console error or a stray request."""
    from click.testing import CliRunner

    from robustlab.cli import cli
    from robustlab.demo import run_demo

    store = f"sqlite:///{tmp_path / 'demo.db'}"
    _, html, _ = run_demo(store=store, out=tmp_path / "demo-report", progress=False)
    page = _open_clean(browser, html, screenshots / "demo-report.png")
    for selector in REPORT_ELEMENTS:
        assert page.visible(selector) >= 1, f"{selector} missing or invisible in {html}"
    assert page.visible("#effective-robustness svg") >= 1
    fills = page.evaluate(
        "[...document.querySelectorAll('#effective-robustness circle.model-point')]"
        ".map(c => c.getAttribute('stroke'))"
    )
    assert len(set(fills)) > 1, fills  # one colour per model, not one for all
    assert page.evaluate(CLIPPED_TEXT) == []
    assert page.visible("table.drops") >= 1  # Source and Target Drop per domain
    out = tmp_path / "board"
    result = CliRunner().invoke(
        cli, ["leaderboard", "--store", store, "--suite", "population", "--html", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = _open_clean(browser, out / "leaderboard.html", screenshots / "demo-leaderboard.png")
    text = page.evaluate("document.body.innerText")
    for name in ("digits-cnn-small", "digits-logreg-C0.01", "digits-cnn-thick-pen"):
        assert name in text, name
