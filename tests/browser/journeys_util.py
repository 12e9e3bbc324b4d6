"""Helpers of tests/browser/test_browser_journeys.py (a uniquely named module: test modules must
not import from a conftest): the page's language checked against the Chinese catalog, "no
mixed language" on a page, a phone's folded menu and card tables, signing in by field names,
invoices issued through the API.

The words a test expects are looked up in backend/translations/zh/LC_MESSAGES/messages.po at
test time (``tr``), so the tests follow whatever wording the catalog has."""
import functools
import re
from pathlib import Path

import requests
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "backend" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
SCREENSHOTS = ROOT / "reports" / "browser"
LOCALES = ("zh-CN", "en-US")
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "mobile": {"width": 375, "height": 800}}
HTML_LANG = {"zh-CN": "zh-CN", "en-US": "en"}

SELLER_NAME = "厦门示例贸易有限公司"  # merchant1 (backend.services.seed.DEMO)
SELLER_TAX_ID = "91350100M000100Y43"
BUYER_NAME = "昆明示例商贸有限公司"  # the demo buyer
BUYER_TAX_ID = "91530100MA6K0002XU"
ITEM = "办公用品"


@functools.lru_cache(maxsize=1)
def _chinese(mtime):
    from babel.messages.pofile import read_po

    with open(CATALOG, "rb") as f:
        catalog = read_po(f, locale="zh")
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


def tr(english, locale):
    """What a page in ``locale`` says for the msgid ``english``: its Chinese in the catalog, or
    the English itself."""
    if not locale.startswith("zh"):
        return english
    chinese = _chinese(CATALOG.stat().st_mtime).get(english)
    assert chinese, f"{english!r} has no Chinese in {CATALOG.relative_to(ROOT)}"
    return chinese


# --- one language per page --------------------------------------------------------------

# what is data, not the interface's words: table cells and definitions (names, items, amounts),
# form values, codes, and whatever says its own language (the switch's "中文"/"English")
DATA = ("script, style, template, noscript, td, dd, input, select, textarea, option, code, pre, .mono, "
        "[lang]:not(html), [data-test=language-switch]")
# the interface's words: headings, labels, buttons, column names, messages
CHROME = "h1, h2, h3, h4, legend, label, button, th, summary, dt, caption, p, strong, .flash, header nav a"
SHORT = "h1, h2, h3, h4, legend, label, button, th, summary, dt, caption"
ALLOWED = ["Excel", "Google", "Microsoft", "Authenticator", "FreeOTP"]  # said so in Chinese too
MIXED_JS = """([zh, data, DATA, CHROME, SHORT, ALLOWED]) => {
  const CJK = /[\\u3000-\\u303f\\u3400-\\u9fff\\uf900-\\ufaff\\uff00-\\uffef]/;
  const ENGLISH = /[A-Za-z]{2,}(?:[ '’-]+[A-Za-z]{2,})+/;  // two English words or more
  // a Chinese heading, label, button or column name with an English word in it ("号码 Number"); names
  // in capitals (PDF, CSV, ID) and the product names of ALLOWED are Chinese usage
  const WORD = /\\b(?![A-Z]+\\b)[A-Za-z][a-z]{2,}\\b/g;
  const pair = (t) => CJK.test(t) && (t.match(WORD) || []).some((w) => !ALLOWED.includes(w));
  const wrong = zh ? ENGLISH : CJK;
  const clean = (t) => { for (const d of data) t = t.split(d).join(" "); return t.replace(/\\s+/g, " ").trim(); };
  const own = (el) => {  // el's text outside data (a button in a table cell is still the interface's)
    const parts = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const inData = n.parentElement.closest(DATA);
      if (!inData || !el.contains(inData)) parts.push(n.nodeValue);
    }
    return clean(parts.join(" "));
  };
  const found = new Set();
  const where = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "");
  for (const root of document.querySelectorAll("body > header, body > main")) {
    for (const el of root.querySelectorAll(CHROME)) {
      const text = own(el);
      if (wrong.test(text) || (zh && el.matches(SHORT) && pair(text))) found.add(where(el) + ": " + text.slice(0, 100));
    }
    for (const el of root.querySelectorAll("[data-label]")) {  // a card's field names (phones)
      const text = clean(el.dataset.label);
      if (wrong.test(text) || (zh && pair(text))) found.add(where(el) + "[data-label]: " + text);
    }
    if (!zh) {  // an English page: no Chinese anywhere in its words, not only in the elements above
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (n.parentElement.closest(DATA)) continue;
        const text = clean(n.nodeValue);
        if (CJK.test(text)) found.add(where(n.parentElement) + ": " + text.slice(0, 100));
      }
    }
  }
  return [...found];
}"""


def mixed(page, locale, data=()):
    """The interface's words on ``page`` that are not in its language: Chinese on an English
    page (anywhere in <header> and <main> but data); on a Chinese page, English phrases (two words
    or more) among its headings, labels, buttons, column names and messages, and an English word
    beside Chinese in a heading, label, button or column name."""
    return page.evaluate(MIXED_JS, [locale.startswith("zh"), list(data), DATA, CHROME, SHORT, ALLOWED])


def header_speaks(page, locale):
    """<html lang> and the header's words are ``locale``'s (the header as the catalog has it;
    the switch offering the other language); True for Chinese."""
    zh = locale.startswith("zh")
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[locale])
    expect(page.locator("header .brand")).to_have_text(tr("E-Invoice Chain", locale))
    expect(page.locator("#site-nav a[href='/verify/']")).to_have_text(tr("Verify", locale))
    expect(page.locator("#menu > summary")).to_contain_text(tr("Menu", locale))
    expect(page.locator("[data-test=language-switch] button[name=lang]")).to_have_text("English" if zh else "中文")
    return zh


def speaks(page, locale, data=()):
    """``page`` is in ``locale``'s language, and only in it: <html lang>, the header's words
    as the catalog has them, the switch offering the other language, the main heading in the
    language's script, no words of the other language (``data``: names and items shown as they
    are, e.g. a Chinese buyer's name on an English page).

    A page with a ``language_problems`` list (the journeys' pages) goes on with its journey: what
    is not in its language is added there, with a screenshot, for ``one_language`` to report every
    page's at the end; any other page fails here."""
    zh = header_speaks(page, locale)
    problems = mixed(page, locale, data)
    heading = page.locator("main h1").first.inner_text()
    if not re.search(r"[\u4e00-\u9fff]" if zh else r"[A-Za-z]{2,}", heading):
        problems.insert(0, f"the heading {heading!r} is not in {'Chinese' if zh else 'English'}")
    if not problems:
        return
    found = f"{page.url} ({locale}) mixes in the other language: {problems}"
    if getattr(page, "language_problems", None) is None:
        raise AssertionError(found)
    page.language_problems.append(found)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"{page.test_name}-language-{len(page.language_problems)}.png"
    page.screenshot(path=str(shot), full_page=True)
    page.language_problems[-1] += f" (screenshot {shot.relative_to(ROOT)})"


def one_language(page):
    """Fails with every page of the journey that was not in its language only (``speaks``)."""
    problems, page.language_problems = page.language_problems, None
    assert not problems, "pages not in one language:\n" + "\n".join(problems)


# --- desktop and phone --------------------------------------------------------------------

def is_phone(page):
    return page.viewport_size["width"] < 640


def fits(page):
    """On a phone: the page is no wider than the screen (no sideways scrolling) and its card
    tables show each row as a card."""
    if not is_phone(page):
        return
    page.wait_for_load_state()
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"{page.url} is {width} px wide on a phone"
    tables = page.evaluate("""() => [...document.querySelectorAll("table.card-table tbody tr")]
        .map(tr => getComputedStyle(tr).display)""")
    assert all(d == "block" for d in tables), f"{page.url}: table rows are not cards on a phone: {tables}"


def go(page, href):
    """Through the header's menu to its link to ``href`` (on a phone: the menu is folded behind
    its button first, and folded again on the page reached)."""
    nav = page.locator("#site-nav")
    if is_phone(page):
        expect(nav).to_be_hidden()
        page.locator("#menu > summary").click()
        expect(nav).to_be_visible()
    with page.expect_navigation():
        nav.locator(f"a[href='{href}']").click()
    if is_phone(page):
        expect(nav).to_be_hidden()
    fits(page)


def sign_in(page, live_server, username, password=None):
    """Signs in through the login form (fields and buttons by name: the page is in the context's
    language) and, for officials, its second step with the current code; the login page speaks
    the page's language on the way."""
    from backendutil import second_factor_code

    page.goto("/auth/login")
    form = page.locator("main form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(password or live_server.password)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    if page.url.endswith("/auth/two-factor/code"):
        page.locator("main form input[name=code]").fill(second_factor_code(live_server.app, username))
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
    expect(page.locator("#site-nav")).to_contain_text(f"{username} ·")
    expect(page.locator("#site-nav form[action$='/auth/logout']")).to_have_count(1)
    return page


# --- data through the API -------------------------------------------------------------------

def api(live_server, username, method, path, **kw):
    r = requests.request(method, f"{live_server.url}/api/v1{path}", timeout=30,
                         headers={"Authorization": f"Bearer {live_server.users[username]['api_token']}"}, **kw)
    assert r.status_code in (200, 201), (path, r.status_code, r.text[:300])
    return r.json()


def issue(live_server, buyer_name=BUYER_NAME, buyer_tax_id=BUYER_TAX_ID):
    """merchant1 issues ¥226.00 (10 × ¥20.00 + 13 % tax) to ``buyer_tax_id`` through the API; the
    invoice's API fields with its issue date."""
    inv = api(live_server, "merchant1", "POST", "/invoices", json={
        "buyer_name": buyer_name, "buyer_tax_id": buyer_tax_id,
        "items": [{"name": ITEM, "quantity": 10, "unit_price": 20_00, "tax_rate": 13}]})
    inv["issue_date"] = api(live_server, "merchant1", "GET", f"/invoices/{inv['number']}")["issue_date"]
    return inv
