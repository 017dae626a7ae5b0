"""The browser test: headless Chromium opens every page of the built book.

Starting from ``index.html`` it follows every internal link, and on every page checks that the page
rendered (a title and body text), that no code cell needs a sideways scroll, that every image loaded (natural width above 0), that no
JavaScript error or failed same-site request was logged, that no internal link or anchor is broken,
and that no absolute path of the build machine shows. A screenshot of each page goes to
``--screenshots``. The book is served over HTTP from a local port (as a reader's web server would),
so that the theme's scripts behave as online.

    python -m redundancy.browser _build/html --screenshots _build/screenshots

Without Chromium it skips with a message (exit 0), except when ``$CI`` is set: CI must run it.
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlparse

from .cdp import CDPError, CDPSession
from .paths import ABSOLUTE_PROJECT_PATH

REDIRECT = re.compile(r"""<meta[^>]+http-equiv=["']refresh["'][^>]+url=([^"'>\s]+)""", re.IGNORECASE)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PAGE_TIMEOUT_S = 30.0
SETTLE_S = 0.3
SCREENSHOT_MAX_HEIGHT = 5000  # pixels: the top of long chapters, enough to review the rendering

# Runs in the page after load: what the checks need, in one round trip.
PAGE_PROBE = """(() => {
  const imgs = [...document.images].map(i => ({src: i.currentSrc || i.src, complete: i.complete,
                                                width: i.naturalWidth}));
  const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  const main = document.querySelector('main, article, [role=main]') || document.body;
  const wide = [...document.querySelectorAll('div.cell_input pre, div.highlight-python pre')]
    .filter(p => p.scrollWidth > p.clientWidth + 2).map(p => p.textContent.split('\\n')[0].slice(0, 60));
  const view = document.documentElement.clientWidth;
  const over = [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > view + 2)
    .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > view + 2))
    .map(e => `${e.tagName.toLowerCase()}${e.className ? '.' + String(e.className).split(' ')[0] : ''}: ` +
              `${Math.round(e.getBoundingClientRect().right)} px, ${(e.textContent || '').trim().slice(0, 40)}`);
  const shifted = [...document.querySelectorAll('*')].filter(e => e.scrollLeft > 0)
    .map(e => `${e.tagName.toLowerCase()}${e.className ? '.' + String(e.className).split(' ')[0] : ''}: ${e.scrollLeft} px`);
  return {shifted: shifted.slice(0, 3), page_width: document.documentElement.scrollWidth, view_width: view, overflow: over.slice(0, 3),
          wide_code: wide, title: document.title, h1: (document.querySelector('h1') || {}).textContent || '',
          text_length: (main.innerText || '').trim().length, images: imgs, links: links, ids: ids,
          body_text: document.body.innerText};
})()"""


def find_browser() -> str | None:
    """``$CHROMIUM`` or the first Chromium-like executable on the PATH."""
    env = os.environ.get("CHROMIUM")
    if env and shutil.which(env):
        return shutil.which(env)
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageReport:
    """What one page showed: problems (empty when fine) and what was checked."""

    path: str
    title: str = ""
    images: int = 0
    links: int = 0
    problems: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``root`` on a free local port in a daemon thread; returns the server and its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def launch(browser: str, profile_dir: Path, timeout: float = 30.0) -> tuple[subprocess.Popen, str]:
    """Start headless Chromium with DevTools on a free port; returns the process and its WebSocket URL."""
    args = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
            "--remote-debugging-port=0", f"--user-data-dir={profile_dir}", "--window-size=1280,900",
            "about:blank"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = profile_dir / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_file.is_file():
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return proc, f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        if proc.poll() is not None:
            raise CDPError(f"{browser} exited with code {proc.returncode} before DevTools started")
        time.sleep(0.1)
    proc.kill()
    raise CDPError(f"{browser} did not open DevTools within {timeout} s")


def _event_problems(events: list[dict[str, Any]], base: str) -> list[str]:
    """JavaScript exceptions, console errors and failed same-site requests among a page's events."""
    problems = []
    requests: dict[str, str] = {}
    # The browser asks every site for /favicon.ico on its own; the book links none, so its 404 is no
    # broken link of the book.
    events = [e for e in events if "favicon.ico" not in str(e.get("params", {}))]
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "")
            problems.append(f"JavaScript exception: {text.splitlines()[0] if text else details}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            problems.append(f"console error: {args[:200]}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            if entry.get("url", "").startswith(base) or entry.get("source") == "javascript":
                problems.append(f"browser log error: {entry.get('text', '')[:200]} {entry.get('url', '')}")
        elif method == "Network.requestWillBeSent":
            requests[params["requestId"]] = params["request"]["url"]
        elif method == "Network.responseReceived":
            response = params["response"]
            if response["url"].startswith(base) and response.get("status", 200) >= 400:
                problems.append(f"HTTP {response['status']} for {response['url'][len(base):]}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            url = requests.get(params["requestId"], "")
            if url.startswith(base):
                problems.append(f"failed to load {url[len(base):]}: {params.get('errorText')}")
    return sorted(set(problems))


def check_page(cdp: CDPSession, session: str, url: str, base: str, machine_paths: list[str],
               screenshot: Path | None) -> tuple[PageReport, list[str]]:
    """Load one page and check it; returns its report and the internal links it holds."""
    report = PageReport(path=url[len(base):] or "index.html")
    cdp.take_events(session)
    cdp.call("Page.navigate", {"url": url}, session)
    if cdp.wait_for("Page.loadEventFired", session, PAGE_TIMEOUT_S) is None:
        report.problems.append(f"did not finish loading within {PAGE_TIMEOUT_S:.0f} s")
    cdp.drain(SETTLE_S)
    probe = cdp.call("Runtime.evaluate", {"expression": PAGE_PROBE, "returnByValue": True}, session)
    value = probe.get("result", {}).get("value") or {}
    if "exceptionDetails" in probe:
        report.problems.append(f"the page probe failed: {probe['exceptionDetails'].get('text', '')}")
    report.title, report.ids = value.get("title", ""), set(value.get("ids", []))
    if not value.get("h1", "").strip():
        report.problems.append("no heading (h1): the page did not render")
    if value.get("text_length", 0) < 200:
        report.problems.append(f"almost no text ({value.get('text_length', 0)} characters)")
    if value.get("page_width", 0) > value.get("view_width", 0) + 2:
        report.problems.append(f"the page scrolls sideways ({value['page_width']} px in a {value['view_width']} px "
                               f"window); widest: {'; '.join(value.get('overflow', [])) or 'unknown'}")
    for element in value.get("shifted", []):
        report.problems.append(f"a container is scrolled sideways on load ({element})")
    for first_line in value.get("wide_code", []):
        report.problems.append(f"code block scrolls sideways (starts {first_line!r})")
    images = value.get("images", [])
    report.images = len(images)
    for image in images:
        if not image["complete"] or image["width"] <= 0:
            report.problems.append(f"image did not load: {image['src'][len(base):] or image['src']}")
    text = value.get("body_text", "")
    shown = {path for path in machine_paths if path and path in text}
    shown |= {match.group(1) for match in ABSOLUTE_PROJECT_PATH.finditer(text)}
    for path in sorted(shown):
        report.problems.append(f"shows the machine path {path}")
    report.problems += _event_problems(cdp.take_events(session), base)
    if screenshot is not None:
        size = cdp.call("Page.getLayoutMetrics", {}, session).get("cssContentSize", {})
        height = min(int(size.get("height", 900)), SCREENSHOT_MAX_HEIGHT)
        # A window as tall as the page, settled before the capture: capturing beyond the viewport
        # caught the theme's layout mid-change (the article shifted left in some screenshots).
        cdp.call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": max(height, 1),
                                                        "deviceScaleFactor": 1, "mobile": False}, session)
        cdp.drain(SETTLE_S)
        shot = cdp.call("Page.captureScreenshot", {"format": "png"}, session)
        cdp.call("Emulation.clearDeviceMetricsOverride", {}, session)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
    links = [link for link in value.get("links", []) if link.startswith(base)]
    report.links = len(links)
    return report, links


def _screenshot_name(path: str) -> str:
    return (path.replace("/", "__").removesuffix(".html") or "index") + ".png"


def crawl(html_root: Path, browser: str, screenshots: Path | None,
          machine_paths: list[str]) -> list[PageReport]:
    """Visit every page reachable from ``index.html``; check links and anchors across pages."""
    server, base = serve(html_root)
    with tempfile.TemporaryDirectory(prefix="book-chromium-", ignore_cleanup_errors=True) as profile:
        proc, ws_url = launch(browser, Path(profile))
        cdp = CDPSession(ws_url, timeout=PAGE_TIMEOUT_S)
        try:
            target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                cdp.call(f"{domain}.enable", {}, session)
            cdp.call("Emulation.setDeviceMetricsOverride",
                     {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session)
            reports: dict[str, PageReport] = {}
            anchors: list[tuple[str, str, str]] = []  # (from page, target page, fragment)
            queue = [base + "index.html"]
            while queue:
                url = queue.pop(0)
                path = url[len(base):]
                if path in reports:
                    continue
                if not (html_root / path).is_file():
                    continue  # reported below as a broken link from the page that holds it
                redirect = REDIRECT.search((html_root / path).read_text(errors="replace")[:2000])
                if redirect:  # Jupyter Book's index.html only forwards to the root page
                    report, links = PageReport(path=path, title="redirect"), [urljoin(url, redirect.group(1))]
                else:
                    shot = screenshots / _screenshot_name(path) if screenshots else None
                    report, links = check_page(cdp, session, url, base, machine_paths, shot)
                reports[path] = report
                for link in links:
                    target_url, fragment = urldefrag(link)
                    target_path = urlparse(target_url).path.lstrip("/") or "index.html"
                    if target_path.endswith("/"):
                        target_path += "index.html"
                    if not (html_root / target_path).exists():
                        report.problems.append(f"broken link to {target_path}")
                        continue
                    if fragment:
                        anchors.append((path, target_path, fragment))
                    if target_path.endswith(".html") and target_path not in reports:
                        queue.append(urljoin(base, target_path))
            for source, target_path, fragment in anchors:
                if target_path in reports and fragment not in reports[target_path].ids:
                    reports[source].problems.append(f"broken anchor {target_path}#{fragment}")
            for report in reports.values():
                report.problems = sorted(set(report.problems))
            return list(reports.values())
        finally:
            cdp.close()
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            server.shutdown()


def expected_pages(project: Path) -> list[str]:
    """The HTML page of every entry of ``_toc.yml`` (the root as ``index.html`` redirects to it)."""
    from .bookpages import toc_files
    import yaml

    toc = project / "_toc.yml"
    root = yaml.safe_load(toc.read_text())["root"]
    return [f"{page}.html" for page in [root, *toc_files(toc)]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m redundancy.browser", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html", type=Path, help="the built book (…/_build/html)")
    parser.add_argument("--screenshots", type=Path, default=None, help="folder for one PNG per page")
    parser.add_argument("--project", type=Path, default=Path("."), help="the checkout (for _toc.yml)")
    args = parser.parse_args(argv)

    browser = find_browser()
    if browser is None:
        message = ("browser test: no Chromium found (install Debian's `chromium` package, e.g. "
                   "`apt-get install chromium`, or set $CHROMIUM to a Chrome/Chromium executable)")
        if os.environ.get("CI"):
            print(message + "; CI must not skip it", file=sys.stderr)
            return 1
        print(message + ": SKIPPED")
        return 0
    index = args.html / "index.html"
    if not index.is_file():
        print(f"browser test: no built book at {args.html} (run `make test-book` or `make html` first)",
              file=sys.stderr)
        return 1
    if args.screenshots:
        shutil.rmtree(args.screenshots, ignore_errors=True)
    project = args.project.resolve()
    home = str(Path.home().resolve())
    machine_paths = [str(project)] + ([home] if len(home) > len("/root") else [])
    start = time.perf_counter()
    reports = crawl(args.html.resolve(), browser, args.screenshots, machine_paths)
    visited = {r.path for r in reports}
    missing = [page for page in expected_pages(project) if page not in visited]
    failed = 0
    for report in sorted(reports, key=lambda r: r.path):
        status = "ok" if not report.problems else "FAIL"
        failed += bool(report.problems)
        print(f"[browser] {status:4s} {report.path}  ({report.images} images, {report.links} links)")
        for problem in report.problems:
            print(f"           - {problem}")
    for page in missing:
        print(f"[browser] FAIL {page}: a page of _toc.yml that no link reaches or that was not built")
    print(f"[browser] {len(reports)} pages checked with {Path(browser).name} in "
          f"{time.perf_counter() - start:.1f} s" + (f"; screenshots in {args.screenshots}" if args.screenshots else ""))
    return 1 if failed or missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
