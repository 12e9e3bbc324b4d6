"""Idempotency: every state-changing portal form carries a one-time token rendered with it,
so a resubmission (Back, then the button again) shows what the first submission did
instead of doing it twice; the API's Idempotency-Key compares the validated request (its
meaning), not the bytes of the body."""
import json
import re
from datetime import date

import pytest
from backendutil import Browser, sample_invoice
from test_backend_portals import issue_form

from backend.core.db import db
from backend.core.models import Invoice, OutboxTx, User, token_digest

ALREADY = "此表单已提交"  # the flash of a resubmitted form starts with these words


@pytest.fixture
def browser(chain_app, seeded):
    return lambda username: Browser(chain_app).login(username)


def form_token(page, action=None):
    """The one-time token of the form posting to ``action`` (the page's first form with a
    token when None)."""
    forms = re.findall(r"<form\b[^>]*>.*?</form>", page, re.S)
    for form in forms:
        if action is None or f'action="{action}"' in form:
            found = re.search(r'name="form_token" value="([^"]+)"', form)
            if found:
                return found.group(1)
    raise AssertionError(f"no form token for {action}")


def count(app, model, **by):
    with app.app_context():
        return db.session.query(model).filter_by(**by).count()


# ---------------------------------------------------------------- portal forms (item 6)


def test_issue_form_submitted_twice_issues_once(browser, chain_app):
    b = browser("merchant1")
    page = b.get("/merchant/issue").get_data(as_text=True)
    token = form_token(page)
    # a preview keeps the form's token: the rendered form is still the same form
    preview = b.post("/merchant/issue", {**issue_form(), "action": "preview", "form_token": token}, page=page)
    assert form_token(preview.get_data(as_text=True)) == token
    first = b.post("/merchant/issue", {**issue_form(), "action": "issue", "form_token": token}, page=page)
    assert first.status_code == 302, first.get_data(as_text=True)[-2000:]
    again = b.post("/merchant/issue", {**issue_form(), "action": "issue", "form_token": token}, page=page)
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    shown = b.get(again.headers["Location"]).get_data(as_text=True)
    number = first.headers["Location"].rsplit("/", 1)[-1]
    assert f"此表单已提交：发票 {number} 已开具，未重复开具。" in shown and "already submitted" not in shown
    assert count(chain_app, Invoice) == 1 and count(chain_app, OutboxTx, function="issue") == 1
    # a new form (a new token) issues a second invoice
    page = b.get("/merchant/issue").get_data(as_text=True)
    assert form_token(page) != token
    r = b.post("/merchant/issue", {**issue_form(), "action": "issue", "form_token": form_token(page)}, page=page)
    assert r.status_code == 302 and r.headers["Location"] != first.headers["Location"]
    assert count(chain_app, Invoice) == 2


def test_issue_form_resubmitted_with_other_values_is_not_issued(browser, chain_app):
    """Back, change the buyer, the same form again: not a second invoice behind the user's
    back, not the first one either: the form comes back with the values, a message naming
    the invoice issued from it, and a fresh token to issue deliberately."""
    b = browser("merchant1")
    page = b.get("/merchant/issue").get_data(as_text=True)
    token = form_token(page)
    first = b.post("/merchant/issue", {**issue_form(), "action": "issue", "form_token": token}, page=page)
    number = first.headers["Location"].rsplit("/", 1)[-1]
    r = b.post("/merchant/issue", {**issue_form(buyer_name="另一家公司"), "action": "issue", "form_token": token},
               page=page)
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and ALREADY in text and number in text and "另一家公司" in text
    assert form_token(text) != token and count(chain_app, Invoice) == 1
    r = b.post("/merchant/issue", {**issue_form(buyer_name="另一家公司"), "action": "issue",
                                   "form_token": form_token(text)}, page=text)
    assert r.status_code == 302 and count(chain_app, Invoice) == 2


def test_form_token_is_bound_to_its_user(browser, chain_app):
    """merchant2 sending merchant1's token gets its own invoice, not a view of merchant1's."""
    one, two = browser("merchant1"), browser("merchant2")
    page = one.get("/merchant/issue").get_data(as_text=True)
    token = form_token(page)
    first = one.post("/merchant/issue", {**issue_form(), "action": "issue", "form_token": token}, page=page)
    other = two.post("/merchant/issue", {**issue_form(), "action": "issue", "form_token": token})
    assert other.status_code == 302 and other.headers["Location"] != first.headers["Location"]
    assert ALREADY not in two.get(other.headers["Location"]).get_data(as_text=True)
    assert count(chain_app, Invoice) == 2
    # the token table is per user too: merchant2 voids with merchant1's void token
    n1, n2 = (r.headers["Location"].rsplit("/", 1)[-1] for r in (first, other))
    detail = one.get(f"/invoices/{n1}").get_data(as_text=True)
    void_token = form_token(detail, f"/invoices/{n1}/void")
    assert one.post(f"/invoices/{n1}/void", {"form_token": void_token}, page=detail).status_code == 302
    r = two.post(f"/invoices/{n2}/void", {"form_token": void_token}, page=two.get(f"/invoices/{n2}").get_data(
        as_text=True), follow_redirects=True)
    assert ALREADY not in r.get_data(as_text=True) and "已作废" in r.get_data(as_text=True)
    assert count(chain_app, Invoice, chain_status="Voided") == 2


def test_red_letter_form_submitted_twice_issues_one_note(browser, chain_app):
    b = browser("merchant1")
    page = b.get("/merchant/issue").get_data(as_text=True)
    r = b.post("/merchant/issue", {**issue_form(), "action": "issue", "form_token": form_token(page)}, page=page)
    number = r.headers["Location"].rsplit("/", 1)[-1]
    detail = b.get(f"/invoices/{number}").get_data(as_text=True)
    token = form_token(detail, f"/invoices/{number}/red-letter")
    assert token != form_token(detail, f"/invoices/{number}/void")  # one token per form
    form = {"reason_code": "1", "amount": "5.00", "form_token": token}
    first = b.post(f"/invoices/{number}/red-letter", form, page=detail)
    assert first.status_code == 302 and not first.headers["Location"].endswith(number)
    again = b.post(f"/invoices/{number}/red-letter", form, page=detail)
    assert again.headers["Location"] == first.headers["Location"]
    assert ALREADY in b.get(again.headers["Location"]).get_data(as_text=True)
    assert count(chain_app, Invoice, original_number=number) == 1
    assert count(chain_app, OutboxTx, function="issueRedLetter") == 1


def test_void_form_submitted_twice_says_already_done(browser, chain_app):
    b = browser("merchant1")
    page = b.get("/merchant/issue").get_data(as_text=True)
    r = b.post("/merchant/issue", {**issue_form(), "action": "issue", "form_token": form_token(page)}, page=page)
    number = r.headers["Location"].rsplit("/", 1)[-1]
    detail = b.get(f"/invoices/{number}").get_data(as_text=True)
    token = form_token(detail, f"/invoices/{number}/void")
    b.post(f"/invoices/{number}/void", {"form_token": token}, page=detail)
    r = b.post(f"/invoices/{number}/void", {"form_token": token}, page=detail, follow_redirects=True)
    text = r.get_data(as_text=True)
    assert ALREADY in text and "已作废" in text and "InvalidInvoiceStatus" not in text
    assert count(chain_app, OutboxTx, function="voidInvoice") == 1


def test_number_range_form_submitted_twice_allocates_once(browser, chain_app):
    auth = browser("authority")
    page = auth.get("/admin/merchants").get_data(as_text=True)
    mid = re.findall(r"/admin/merchants/(\d+)/numbers", page)[0]
    token = form_token(page, f"/admin/merchants/{mid}/numbers")
    allocations = count(chain_app, OutboxTx, function="allocateNumberRange")
    first = auth.post(f"/admin/merchants/{mid}/numbers", {"count": "500", "form_token": token}, page=page,
                      follow_redirects=True).get_data(as_text=True)
    again = auth.post(f"/admin/merchants/{mid}/numbers", {"count": "500", "form_token": token}, page=page,
                      follow_redirects=True).get_data(as_text=True)
    assert ALREADY in again and ALREADY not in first
    assert "剩余 500" in again
    assert count(chain_app, OutboxTx, function="allocateNumberRange") == allocations + 1


def test_merchant_approval_form_submitted_twice_approves_once(browser, chain_app):
    from backend.cli import create_user

    with chain_app.app_context():
        create_user("shop3", "merchant", "pw-test-123", dev_account=6)
    shop = Browser(chain_app).login("shop3")
    shop.post("/merchant/registration", {"name": "福州示例二", "tax_id": "91350100M000200Y4T",
                                         "licence_number": "L-3"})
    auth = browser("authority")
    page = auth.get("/admin/merchants").get_data(as_text=True)
    mid = re.search(r"/admin/merchants/(\d+)/approve", page).group(1)
    form = {"invoice_cap": "100000", "monthly_quota": "1000000", "hourly_norm": "100",
            "form_token": form_token(page, f"/admin/merchants/{mid}/approve")}
    approvals = count(chain_app, OutboxTx, function="approve")
    auth.post(f"/admin/merchants/{mid}/approve", form, page=page)
    text = auth.post(f"/admin/merchants/{mid}/approve", form, page=page, follow_redirects=True).get_data(
        as_text=True)
    assert ALREADY in text and "InvalidMerchantStatus" not in text
    assert count(chain_app, OutboxTx, function="approve") == approvals + 1


def test_api_token_form_submitted_twice_keeps_the_first_token(browser, chain_app):
    b = browser("merchant1")
    page = b.get("/auth/account").get_data(as_text=True)
    token = form_token(page)
    first = b.post("/auth/account", {"form_token": token}, page=page).get_data(as_text=True)
    api_token = re.search(r'class="mono token">([^<]+)<', first).group(1)
    again = b.post("/auth/account", {"form_token": token}, page=page).get_data(as_text=True)
    assert ALREADY in again and 'class="mono token"' not in again
    with chain_app.app_context():
        assert db.session.query(User).filter_by(username="merchant1").one().api_token_hash == token_digest(api_token)


def test_malformed_form_token_is_refused(browser, chain_app):
    b = browser("merchant1")
    r = b.post("/merchant/issue", {**issue_form(), "action": "issue", "form_token": "x" * 500})
    assert r.status_code == 400 and count(chain_app, Invoice) == 0


# ---------------------------------------------------------------- API: the meaning of a request (item 7)


def post_raw(api, who, path, text, key):
    return api(who).post(path, data=text, content_type="application/json", headers={"Idempotency-Key": key})


def test_equal_meaning_bodies_replay(api, chain_app):
    body = sample_invoice()
    first = post_raw(api, "merchant1", "/invoices", json.dumps(body), "k-meaning")
    assert first.status_code == 201, first.get_json()
    same = [
        {**body, "remarks": ""},
        {**body, "remarks": "   ", "drawer": None},
        dict(reversed(list(body.items()))),
        {**body, "items": [{**body["items"][0], "quantity": "10", "spec": ""}, body["items"][1]]},
        {**body, "items": [{**body["items"][0], "quantity": "10.000", "amount": 125_00, "tax": 16_25},
                           body["items"][1]]},
        {**body, "invoice_type": 0, "net": 200_00, "tax": 26_00, "gross": 226_00, "rate": 13},
        {**body, "invoice_type": "ordinary", "buyer_tax_id": " 91530100ma6k0002xu "},
    ]
    for variant in same:
        r = post_raw(api, "merchant1", "/invoices", json.dumps(variant, ensure_ascii=False), "k-meaning")
        assert r.status_code == 200, (variant, r.get_json())
        assert r.get_json()["number"] == first.get_json()["number"]
    other = {**body, "items": [{**body["items"][0], "unit_price": 12_51}, body["items"][1]]}
    r = post_raw(api, "merchant1", "/invoices", json.dumps(other), "k-meaning")
    assert r.status_code == 409 and r.get_json()["error"] == "idempotency_key_reused"
    assert set(r.get_json()) >= {"error", "message"}
    # validation comes first: a broken body with a used key is told what is wrong (400)
    r = post_raw(api, "merchant1", "/invoices", json.dumps({**body, "items": []}), "k-meaning")
    assert r.status_code == 400 and "items" in r.get_json()["fields"]
    # the key of an invoice is not the key of a red-letter note
    r = post_raw(api, "merchant1", f"/invoices/{first.get_json()['number']}/red-letter",
                 json.dumps({"reason_code": 1}), "k-meaning")
    assert r.status_code == 409 and r.get_json()["error"] == "idempotency_key_reused"
    assert count(chain_app, Invoice) == 1 and count(chain_app, OutboxTx, function="issue") == 1


def test_red_letter_equal_meaning_bodies_replay(api, chain_app):
    a = api("merchant1").post("/invoices", json=sample_invoice()).get_json()["number"]
    b = api("merchant1").post("/invoices", json=sample_invoice()).get_json()["number"]
    line = {"name": "退货 return", "quantity": 1, "unit_price": 10_00, "tax_rate": 13}
    first = post_raw(api, "merchant1", f"/invoices/{a}/red-letter",
                     json.dumps({"reason_code": 1, "items": [line]}), "rl-1")
    assert first.status_code == 201, first.get_json()
    for variant in ({"items": [{**line, "quantity": "1", "amount": 10_00}], "reason_code": 1, "remarks": ""},
                    {"reason_code": 1, "items": [{**line, "spec": "", "unit": None}], "remarks": None}):
        r = post_raw(api, "merchant1", f"/invoices/{a}/red-letter", json.dumps(variant, ensure_ascii=False), "rl-1")
        assert r.status_code == 200 and r.get_json()["number"] == first.get_json()["number"], r.get_json()
    for path, body in ((f"/invoices/{a}/red-letter", {"reason_code": 1, "items": [{**line, "unit_price": 11_00}]}),
                       (f"/invoices/{a}/red-letter", {"reason_code": 2, "items": [line]}),
                       (f"/invoices/{b}/red-letter", {"reason_code": 1, "items": [line]})):  # another original
        r = post_raw(api, "merchant1", path, json.dumps(body, ensure_ascii=False), "rl-1")
        assert r.status_code == 409 and r.get_json()["error"] == "idempotency_key_reused", (path, body)
    assert count(chain_app, OutboxTx, function="issueRedLetter") == 1
    # a full reversal: the items left out or spelled out as the original's are the same request
    full = post_raw(api, "merchant1", f"/invoices/{b}/red-letter", json.dumps({"reason_code": 2}), "rl-2")
    assert full.status_code == 201, full.get_json()
    items = [{k: v for k, v in it.items() if k != "tax"} for it in sample_invoice()["items"]]
    r = post_raw(api, "merchant1", f"/invoices/{b}/red-letter", json.dumps({"reason_code": 2, "items": items},
                                                                           ensure_ascii=False), "rl-2")
    assert r.status_code == 200 and r.get_json()["number"] == full.get_json()["number"], r.get_json()


def test_request_fingerprint_of_a_default_date_does_not_change_at_midnight():
    """A retry the next day of a request without issue_date means the same request."""
    from backend.services.issuance import request_fingerprint

    clean = {"buyer_name": "甲", "buyer_tax_id": "91530100MA6K0002XU", "invoice_type": 0, "remarks": "",
             "drawer": "", "items": [{"name": "x", "quantity": 1, "unit_price": 1, "tax_rate": 13, "amount": 1}],
             "issue_date": date(2026, 1, 1), "issue_date_given": False}
    assert request_fingerprint(clean) == request_fingerprint({**clean, "issue_date": date(2026, 1, 2)})
    given = {**clean, "issue_date_given": True}
    assert request_fingerprint(given) != request_fingerprint({**given, "issue_date": date(2026, 1, 2)})
    assert request_fingerprint(given) != request_fingerprint(clean)
    assert request_fingerprint(clean) != request_fingerprint(clean, scope=("red-letter", "1", 1))


@pytest.mark.parametrize("field,value", [("remarks", "备注"), ("invoice_type", 1), ("buyer_name", "乙")])
def test_request_fingerprint_tells_meanings_apart(field, value):
    from backend.services.issuance import request_fingerprint

    clean = {"buyer_name": "甲", "buyer_tax_id": "91530100MA6K0002XU", "invoice_type": 0, "remarks": "",
             "drawer": "", "items": [{"name": "x", "quantity": 1, "unit_price": 1, "tax_rate": 13, "amount": 1}],
             "issue_date": date(2026, 1, 1), "issue_date_given": True}
    assert request_fingerprint(clean) != request_fingerprint({**clean, field: value})


def test_review_form_submitted_twice_reviews_once(browser, api, chain_app):
    inv = api("merchant1").post("/invoices", json=sample_invoice(buyer_tax_id="91350100M000100Y43")).get_json()
    a = browser("auditor")
    page = a.get("/audit/queue").get_data(as_text=True)
    form = {"reason_code": "1", "form_token": form_token(page, f"/audit/invoices/{inv['number']}/clear")}
    assert a.post(f"/audit/invoices/{inv['number']}/clear", form, page=page).status_code == 302
    text = a.post(f"/audit/invoices/{inv['number']}/clear", form, page=page, follow_redirects=True).get_data(
        as_text=True)
    assert ALREADY in text and "InvalidInvoiceStatus" not in text
    assert count(chain_app, OutboxTx, function="clear") == 1
