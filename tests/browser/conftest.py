"""Real-browser tests: Chromium (Debian's package) driven by Playwright against the Flask
app served for real, on a chain of our own with the contracts deployed.

Fixtures (see docs/testing.md):

- ``live_server``: the app (demo users seeded with the password ``PASSWORD``, the background
  indexer running as under backend/serve.py) served by werkzeug on 127.0.0.1 at a free port in
  a thread. ``live_server.url`` is its base URL; ``.app``, ``.users`` (seed credentials by
  username), ``.chain`` (the ``chain`` fixture's dict: anvil, record, w3) too. A fresh
  database and the chain reverted after every test, as in tests/backend.
- ``browser``: one headless Chromium for the session (``CHROMIUM`` env var, else
  ``chromium`` on PATH, else /usr/bin/chromium). Missing Playwright or Chromium FAILS the tests.
- ``page``: a page in a fresh context whose base URL is the live server's
  (``page.goto("/merchant/issue")``); ``new_page()``: one more page in another fresh
  context (another user at the same time: a merchant and a financier side by side).
  A failed test leaves a screenshot of each of its pages in reports/browser/<test>[-n].png.
- ``login(page, username, password=PASSWORD)``: signs in through the real login form and
  waits until the page shows the user signed in.
- ``screenshot(page, name)``: a full-page PNG in reports/browser/<name>.png; returns the path.

Test modules must not import from this conftest (several test folders have one):
use the fixtures."""
import os
import re
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))  # backendutil, chainutil

from backendutil import make_app
from chainutil import ARTIFACTS, deployed_chain, reverted_after

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "reports" / "browser"
PASSWORD = "pw-browser-123"
TIMEOUT_MS = 15_000  # for any one wait: an action, an element, a navigation
INDEXER_INTERVAL = 0.2  # seconds; serve.py's default is 1.0: the tests wait less for the timeline
INSTALL_HINT = ("`make test` installs it (scripts/ensure_system.sh: apt-get install chromium fonts-noto-cjk; "
                "pyproject.toml's browser extra: pip install -e '.[browser]'). `playwright install` is not "
                "used: the tests drive Debian's chromium")


try:
    import playwright.sync_api  # noqa: F401
    PLAYWRIGHT_MISSING = None
except ImportError as exc:
    PLAYWRIGHT_MISSING = f"Playwright is not installed ({exc}); {INSTALL_HINT}"

    class PlaywrightMissing(pytest.Item):
        fixturenames = ()  # brownie's plugin looks at every item's

        def runtest(self):
            pytest.fail(PLAYWRIGHT_MISSING, pytrace=False)

        def reportinfo(self):
            return self.path, None, self.name

    class ModuleNeedingPlaywright(pytest.File):
        def collect(self):
            yield PlaywrightMissing.from_parent(self, name="playwright_missing")

    def pytest_pycollect_makemodule(module_path, parent):
        """Without Playwright a test module here would not even import: each fails
        as one test with the reason instead (the rest of the suite still runs)."""
        return ModuleNeedingPlaywright.from_parent(parent, path=module_path)


@pytest.fixture(autouse=True)
def isolation():
    """Overrides the brownie snapshot fixture of tests/conftest.py: the browser tests do
    not use brownie's chain."""
    yield


# --- chain and live server --------------------------------------------------------------

@pytest.fixture(scope="session")
def chain_session(tmp_path_factory):
    """An Anvil of our own with all contracts deployed (as tests/backend's)."""
    if not (ARTIFACTS / "MerchantRegistry.json").exists():
        pytest.fail("contracts not compiled: run `brownie compile` (make test does)")
    with deployed_chain(tmp_path_factory.mktemp("browser-chain")) as chain:
        yield chain


@pytest.fixture
def chain(chain_session):
    """The deployed chain, reverted after the test (and its clock put back on the wall clock)."""
    with reverted_after(chain_session["w3"]):
        yield chain_session


@dataclass
class LiveServer:
    url: str  # http://127.0.0.1:<port>, no trailing slash
    app: object
    users: dict  # username -> what seed.seed_users returned for it (address, api_token, …)
    chain: dict
    password: str = PASSWORD
    _threads: list = field(default_factory=list, repr=False)


@pytest.fixture
def live_server(tmp_path, chain):
    """The app with the chain's deployment and the demo users (merchant1, merchant2, buyer,
    financier, authority, auditor; password PASSWORD), recovered and indexed in the
    background as backend/serve.py does, served at ``live_server.url``."""
    from werkzeug.serving import make_server

    from backend.chain import indexer
    from backend.core.db import db
    from backend.services import recovery, seed

    app = make_app(tmp_path, chain["record"]["path"], INDEXER_INTERVAL=INDEXER_INTERVAL,
                   SQLITE_WAL_AUTOCHECKPOINT=50000)  # as serve.py: the indexer thread checkpoints
    before = set(threading.enumerate())
    with app.app_context():
        users = {u["username"]: u for u in seed.seed_users(password=PASSWORD)}
        recovery.recover()
        stop_indexer = indexer.start_background(app, app.config["INDEXER_INTERVAL"], on_rewind=recovery.recover)
    indexer_threads = [t for t in threading.enumerate() if t not in before and t.name == "indexer"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    serving.start()
    live = LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, users=users, chain=chain)
    try:
        yield live
    finally:
        server.shutdown()
        serving.join(10)
        server.server_close()
        stop_indexer.set()
        indexer.wake()
        for t in indexer_threads:
            t.join(10)
        with app.app_context():
            db.engine.dispose()


# --- browser ----------------------------------------------------------------------------

def chromium_path():
    """The Chromium to drive: $CHROMIUM, else `chromium` on PATH, else /usr/bin/chromium."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return found if Path(found).exists() else None


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_path()
    if executable is None:
        pytest.fail(f"Chromium not found (CHROMIUM, `chromium` on PATH, /usr/bin/chromium); {INSTALL_HINT}",
                    pytrace=False)
    expect.set_options(timeout=TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
    except Exception as exc:  # noqa: BLE001 - say which binary and what it said
        playwright.stop()
        pytest.fail(f"Chromium {executable} did not start: {exc}", pytrace=False)
    yield browser
    browser.close()
    playwright.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the item (item.rep_setup, .rep_call): the page
    fixtures screenshot a failed test."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


def _file_name(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:150]


@pytest.fixture
def new_page(request, browser, live_server):
    """``new_page()`` -> a Page in a fresh browser context (own cookies: its own user)
    with the live server as base URL, Chinese locale and UTC+8, closed after the test."""
    contexts, pages = [], []

    def make(**context_options):
        options = {"base_url": live_server.url, "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
                   "viewport": {"width": 1280, "height": 900}, **context_options}
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        return page

    yield make
    failed = any(getattr(request.node, "rep_" + when, None) is not None
                 and getattr(request.node, "rep_" + when).failed for when in ("setup", "call"))
    if failed and pages:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for n, page in enumerate(pages, 1):
            path = SCREENSHOTS / f"{_file_name(request.node.name)}{'' if n == 1 else f'-{n}'}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
                print(f"screenshot of the failed test: {path}")
            except Exception as exc:  # noqa: BLE001 - a closed page: no screenshot
                print(f"no screenshot of page {n}: {exc}")
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def login(live_server):
    """``login(page, username, password=PASSWORD)``: signs in through the login form (and its
    second step, with the current code of the user's seeded TOTP secret, for the authority, the
    auditor and the financier); returns the page."""
    from playwright.sync_api import expect

    from backendutil import second_factor_code

    def sign_in(page, username, password=PASSWORD):
        page.goto("/auth/login")
        form = page.locator("main form")
        # by field names, not labels: the page is in the context's language (zh-CN or en)
        form.locator("input[name=username]").fill(username)
        form.locator("input[name=password]").fill(password)
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        if page.url.endswith("/auth/two-factor/code"):
            page.locator("main form input[name=code]").fill(second_factor_code(live_server.app, username))
            page.locator("main form button[type=submit]").click()
        # the header names the signed-in user ("merchant1 · 商户") and offers to log out
        expect(page.locator("header nav")).to_contain_text(f"{username} ·")
        expect(page.locator("header nav form[action$='/auth/logout'] button")).to_be_visible()
        return page

    return sign_in


@pytest.fixture
def screenshot():
    """``screenshot(page, name)`` -> Path of a full-page PNG reports/browser/<name>.png."""

    def take(page, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{_file_name(name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def reload_until_visible():
    """``reload_until_visible(page, locator, timeout=15)``: reloads ``page`` until ``locator`` is
    there (what only the background indexer brings, e.g. a timeline entry)."""
    import time

    from playwright.sync_api import expect

    def reload_until(page, locator, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            try:
                expect(locator).to_be_visible(timeout=500)
                return
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                page.reload()

    return reload_until


@pytest.fixture
def issue_through_form():
    """``issue_through_form(page)``: the signed-in merchant issues ¥141.25 (10 × ¥12.50 + 13 %
    tax) to the demo buyer through the issue form, reached by the menu; the new invoice's number
    (the page is its invoice page then)."""
    import re

    from playwright.sync_api import expect

    def issue(page):  # the fields by name: the page is in the context's language
        page.locator("#site-nav a[href$='/merchant/issue']").click()
        expect(page.locator("h1")).to_be_visible()
        page.locator("input[name=buyer_name]").fill("昆明示例商贸有限公司")
        page.locator("input[name=buyer_tax_id]").fill("91530100MA6K0002XU")  # the demo buyer's (seed.DEMO)
        page.locator("input[name=item-0-name]").fill("办公用品 Office supplies")
        page.locator("input[name=item-0-quantity]").fill("10")
        page.locator("input[name=item-0-unit_price]").fill("12.50")
        page.locator("select[name=item-0-tax_rate]").select_option("13")
        page.locator("button[value=preview]").click()
        expect(page.locator(".totals")).to_contain_text("¥141.25")  # 125.00 + 13 % tax 16.25
        page.locator("button[value=issue]").click()
        expect(page.locator(".flash.ok")).to_be_visible()
        expect(page).to_have_url(re.compile(r"/invoices/\d{20}$"))
        return page.url.rsplit("/", 1)[1]

    return issue
