"""Languages (issue 14): Simplified Chinese by default, English second; the language is the
user's saved choice, else the switch's cookie, else Accept-Language; the catalogs are
complete (every message of the code and templates translated, placeholders kept)."""
import pytest
from backendutil import csrf_token, login

from backend.cli import create_user
from backend.core.db import get_db
from backend.core.models import User
from scripts import translations


def test_the_chinese_catalog_translates_every_message():
    assert translations.problems("zh") == []


@pytest.mark.parametrize("header, lang, words", [
    ("zh-CN,zh;q=0.9", "zh-CN", ["登录", "用户名", "密码"]),
    ("en-US,en;q=0.9", "en", ["Log in", "Username", "Password"]),
    ("en", "en", ["Log in"]),
    ("fr-FR", "zh-CN", ["登录"]),  # neither: Chinese
    (None, "zh-CN", ["登录"]),
])
def test_the_login_page_follows_accept_language(client, header, lang, words):
    page = client.get("/auth/login", headers={"Accept-Language": header} if header else {})
    html = page.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    for word in words:
        assert word in html
    other = "Username" if lang == "zh-CN" else "用户名"
    assert other not in html  # one language per page


def test_the_switch_sets_a_cookie_that_beats_the_browser(client):
    token = csrf_token(client, "/auth/login")
    answer = client.post("/language", data={"lang": "en", "csrf_token": token},
                         headers={"Referer": "http://localhost/auth/login"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/auth/login")
    assert "lang=en" in answer.headers["Set-Cookie"]
    page = client.get("/auth/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Username" in page and "用户名" not in page


def test_an_unknown_language_is_refused(client):
    answer = client.post("/language", data={"lang": "xx", "csrf_token": csrf_token(client, "/auth/login")})
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert "未知语言：请选择 zh（中文）或 en（English）。" in text and "Unknown language" not in text
    answer = client.post("/language", data={"lang": "xx", "csrf_token": csrf_token(client, "/auth/login")},
                         headers={"Accept-Language": "en"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "Unknown language: choose zh (中文) or en (English)." in text
    assert "未知语言" not in text


def test_the_api_answers_its_message_in_the_requests_language(app):
    """The JSON `message` follows Accept-Language (Chinese without one); the `error` code does not."""
    with app.app_context():
        _, _, token = create_user("api-lang", "merchant", "pw-test-123", token=True)
    client, auth = app.test_client(), {"Authorization": f"Bearer {token}"}
    zh = client.get("/api/v1/merchant/registration", headers=auth)
    en = client.get("/api/v1/merchant/registration", headers={**auth, "Accept-Language": "en-GB,en;q=0.8"})
    assert zh.status_code == en.status_code == 404
    assert (zh.get_json()["error"], zh.get_json()["message"]) == ("not_found", "您尚未提交商户入驻申请。")
    assert (en.get_json()["error"], en.get_json()["message"]) == ("not_found",
                                                                  "You have not applied as a merchant yet.")


def test_a_signed_in_users_choice_is_saved_and_follows_them(app):
    with app.app_context():
        create_user("lang-user", "merchant", "pw-test-123")
    first = app.test_client()
    login(first, "lang-user")
    first.post("/language", data={"lang": "en", "csrf_token": csrf_token(first, "/auth/account")})
    with app.app_context():
        assert get_db().query(User).filter_by(username="lang-user").one().language == "en"
    second = app.test_client()  # another browser: no cookie, a Chinese Accept-Language
    login(second, "lang-user")
    page = second.get("/auth/account", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en">' in page


def test_the_header_offers_the_other_language_in_its_own_words(client):
    zh = client.get("/auth/login").get_data(as_text=True)
    en = client.get("/auth/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'value="en" lang="en">English</button>' in zh
    assert 'value="zh" lang="zh-CN">中文</button>' in en


def test_markup_in_a_translated_sentence_is_markup_and_its_text_escaped(app):
    """A placeholder's element (helpers.tag) stays an element in both languages, and the text
    in it is escaped (Jinja's ``~`` would have escaped the tags themselves)."""
    from flask import render_template_string

    template = "{{ _('Reduces %(number)s', number=tag('a', number, cls='mono', href='/invoices/1')) }}"
    for language in ("zh", "en"):
        with app.test_request_context(headers={"Accept-Language": language}):
            html = render_template_string(template, number="<b>26351000000000000001</b>")
        assert '<a class="mono" href="/invoices/1">&lt;b&gt;26351000000000000001&lt;/b&gt;</a>' in html
        assert html.startswith("冲减原发票 <a" if language == "zh" else "Reduces <a")



def test_the_apis_json_carries_chinese_as_text_not_escapes(client):
    """What curl shows a person: 请检查… rather than \\u8bf7\\u68c0…"""
    answer = client.post("/api/v1/verify", json={})
    assert answer.status_code == 400
    assert "请检查".encode() in answer.data and b"\\u" not in answer.data
    assert answer.get_json()["fields"]["number"] == "未填写发票号码"
