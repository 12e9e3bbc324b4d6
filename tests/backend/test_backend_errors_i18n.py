"""Errors in words, in the request's language (issue 14): a chain refusal through the API and
the pages, a validation error naming the field in words with its amount limit in yuan, the
HTTP error page; Chinese by default, English by Accept-Language; the codes stay in the API's
``error`` and ``fields`` keys only."""
import re

from backendutil import csrf_token, login, sample_invoice

from backend.services.errors import Refused, ValidationError
from backend.web.helpers import flash_error

EN = {"Accept-Language": "en"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _voided(api):
    issued = api("merchant1").post("/invoices", json=sample_invoice())
    assert issued.status_code == 201, issued.get_json()
    number = issued.get_json()["number"]
    assert api("merchant1").post(f"/invoices/{number}/void").status_code == 200
    return number


def test_a_chain_refusal_through_the_api_in_chinese_and_english(api):
    number = _voided(api)
    zh = api("merchant1").post(f"/invoices/{number}/void")
    assert zh.status_code == 409
    assert zh.get_json()["error"] == "InvalidInvoiceStatus"  # the code, for programs
    assert zh.get_json()["message"] == "发票状态（已作废）不允许此操作。"
    en = api("merchant1").post(f"/invoices/{number}/void", headers=EN)
    assert en.status_code == 409 and en.get_json()["error"] == "InvalidInvoiceStatus"
    assert en.get_json()["message"] == "The invoice's status (voided) does not allow this action."


def test_a_chain_refusal_on_the_pages_in_chinese_and_english(api, chain_app):
    number = _voided(api)
    for headers, words, other in (({}, "操作被拒绝：发票状态（已作废）不允许此操作。", "does not allow"),
                                  (EN, "This was refused: The invoice&#39;s status (voided) does not allow this "
                                       "action.", "不允许")):
        client = chain_app.test_client()
        client.environ_base.update({"HTTP_ACCEPT_LANGUAGE": headers.get("Accept-Language", "")})
        login(client, "merchant1")
        token = csrf_token(client, f"/invoices/{number}")
        page = client.post(f"/invoices/{number}/void", data={"csrf_token": token}, follow_redirects=True)
        html = page.get_data(as_text=True)
        assert words in html, html[-3000:]
        assert other not in html and "InvalidInvoiceStatus" not in html  # one language, no code


def test_a_validation_error_names_the_field_in_words_with_its_limit_in_yuan(api):
    body = sample_invoice(items=[{"name": "咖啡", "quantity": 1, "unit_price": 10**15 + 1, "tax_rate": 13},
                                 {"name": "茶", "quantity": 1, "unit_price": 0, "tax_rate": 13}])
    zh = api("merchant1").post("/invoices", json=body)
    assert zh.status_code == 400 and zh.get_json()["error"] == "validation_error"
    fields = zh.get_json()["fields"]  # keys: the paths, for programs; texts: words
    assert fields["items[0].unit_price"] == "第 1 行商品的单价不能大于 ¥10,000,000,000,000.00。"
    assert fields["items[1].unit_price"] == "第 2 行商品的单价不能小于 ¥0.01。"
    assert zh.get_json()["message"] == "请求中有字段不正确。"
    en = api("merchant1").post("/invoices", json=body, headers=EN).get_json()
    assert en["fields"]["items[0].unit_price"] == "The unit price of item 1 must be at most ¥10,000,000,000,000.00."
    assert en["fields"]["items[1].unit_price"] == "The unit price of item 2 must be at least ¥0.01."
    assert not CJK.search(en["message"] + "".join(en["fields"].values()))
    # the server's own checks: a line amount that is not quantity × unit price, in yuan
    wrong = sample_invoice(items=[{"name": "咖啡", "quantity": 2, "unit_price": 12_50, "amount": 30_00,
                                   "tax_rate": 13}])
    zh = api("merchant1").post("/invoices", json=wrong).get_json()["fields"]
    assert zh == {"items[0].amount": "第 1 行商品的金额必须等于数量 × 单价（¥25.00）。"}
    en = api("merchant1").post("/invoices", json=wrong, headers=EN).get_json()["fields"]
    assert en == {"items[0].amount": "The amount of item 1 must equal the quantity × the unit price (¥25.00)."}


def test_unknown_and_missing_fields_are_said_in_words(app):
    with app.test_request_context(headers=EN):
        from backend.services.validation import validated
        from backend.schemas.invoices import IssueRequest

        try:
            validated(IssueRequest, {"buyer_tax_id": "91530100MA6K0002XU", "items": [{"name": "x"}], "colour": 1})
        except ValidationError as exc:
            fields = exc.fields
    assert fields["buyer_name"] == "The buyer's name is required."
    assert fields["items[0].unit_price"] == "The unit price of item 1 is required."
    assert fields["body"] == "The request has fields that are not known: colour."


def test_flash_error_says_the_problem_in_words_without_codes_or_field_keys(app):
    with app.test_request_context():
        from flask import get_flashed_messages

        flash_error(ValidationError({"items[0].unit_price": "第 1 行商品的单价不能小于 ¥0.01。"}))
        flash_error(Refused("InvalidInvoiceStatus", "发票状态（已作废）不允许此操作。", 409))
        first, second = get_flashed_messages()
    assert first == "请检查输入：第 1 行商品的单价不能小于 ¥0.01。"
    assert second == "操作被拒绝：发票状态（已作废）不允许此操作。"


def test_the_error_page_in_chinese_and_english(app):
    client = app.test_client()
    zh = client.get("/no-such-page")
    assert zh.status_code == 404
    html = zh.get_data(as_text=True)
    assert "<h1>未找到" in html and "此地址没有对应的页面或数据，请检查链接。" in html and "错误 404" in html
    assert "Not Found" not in html and "requested URL" not in html  # not Werkzeug's English
    en = client.get("/no-such-page", headers=EN).get_data(as_text=True)
    assert "<h1>Not found" in en and "There is nothing at this address: check the link." in en and "error 404" in en
    assert "未找到" not in en
    # a 405 on a page: the same page, with the Allow header kept
    r = client.delete("/auth/login", headers=EN)
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
    assert "Method not allowed" in r.get_data(as_text=True)
    assert "不支持此请求方法" in client.delete("/auth/login").get_data(as_text=True)
