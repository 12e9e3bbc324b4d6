"""Accounts security (issue 14): two-factor sign-in with TOTP (enrolment by QR code and
secret, the code step, recovery codes, replay), the roles that must enrol (blocked from every
page until they do), the temporary lockout after failed sign-ins (per account, per address,
its expiry) and the password rules and change. No chain: the sign-in does not need one."""
import re
import time
from datetime import timezone

import pyotp
import pytest
from backendutil import csrf_token, login, make_app

from backend.cli import create_user
from backend.core import sealed
from backend.core.db import db
from backend.core.models import LoginThrottle, RecoveryCode, SecondFactor, User
from backend.services import passwords, two_factor
from backend.web.helpers import china_time
from backend.web.two_factor import OPEN_ENDPOINTS

ENROL, CODE = "/auth/two-factor/enrol", "/auth/two-factor/code"
PASSWORD = "pw-test-123"


def _user(app, username, role):
    with app.app_context():
        create_user(username, role, PASSWORD)


EN = {"Accept-Language": "en"}


def _password_step(client, username, password=PASSWORD, address=None, headers=None):
    if address:
        client.environ_base["REMOTE_ADDR"] = address
    return client.post("/auth/login", data={"username": username, "password": password,
                                            "csrf_token": csrf_token(client, "/auth/login")}, headers=headers)


def _code_step(client, code, headers=None):
    return client.post(CODE, data={"code": code, "csrf_token": csrf_token(client, CODE)}, headers=headers)


def _enrol(client):
    """Enrols the signed-in user through the page; returns (secret, recovery codes)."""
    page = client.get(ENROL).get_data(as_text=True)
    secret = re.search(r'data-test="totp-secret">([A-Z2-7]+)<', page).group(1)
    r = client.post(ENROL, data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(client, ENROL)})
    assert r.status_code == 200
    return secret, re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", r.get_data(as_text=True))


def next_code(secret):
    """The code of the next 30-second step (the current one was used by the enrolment)."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def _sample_url(app, rule):
    """A URL of ``rule`` with made-up arguments (the guard answers before any view runs)."""
    values = {}
    for name, converter in rule._converters.items():
        items = getattr(converter, "items", None)
        values[name] = sorted(items)[0] if items else (1 if type(converter).__name__ == "IntegerConverter" else "x")
    return app.url_map.bind("localhost").build(rule.endpoint, values)


@pytest.mark.parametrize("role", two_factor.REQUIRED_ROLES)
def test_required_role_without_second_factor_reaches_no_page(app, client, role):
    """An authority (auditor, financier) without a second factor cannot reach any authority page:
    after the password every page of the app, GET or POST, sends it to the enrolment."""
    _user(app, "official", role)
    r = _password_step(client, "official")
    assert r.status_code == 302 and r.headers["Location"].endswith(ENROL)
    token = csrf_token(client, ENROL)
    pages = [rule for rule in app.url_map.iter_rules()
             if rule.endpoint not in OPEN_ENDPOINTS and not rule.rule.startswith("/api/")]
    assert {"admin.merchants", "audit.queue", "alerts.index", "dashboards.authority", "receivables.offers",
            "reports.platform"} <= {rule.endpoint for rule in pages}
    for rule in pages:
        url = _sample_url(app, rule)
        for method in sorted(rule.methods & {"GET", "POST"}):
            r = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
            assert r.status_code == 302 and r.headers["Location"].endswith(ENROL), (method, url, r.status_code)
    page = client.get(ENROL).get_data(as_text=True)
    assert "必须开启二次验证" in page and "must set up a second factor" not in page
    page = client.get(ENROL, headers=EN).get_data(as_text=True)
    assert "must set up a second factor" in page and "必须开启二次验证" not in page
    _enrol(client)
    assert client.get("/audit/invoices" if role != "financier" else "/auth/account").status_code == 200


def test_enrolment_shows_qr_and_secret_and_a_wrong_code_is_refused(app, client):
    _user(app, "shopper", "buyer")
    login(client, "shopper")
    account = client.get("/auth/account").get_data(as_text=True)
    assert 'data-test="two-factor-off"' in account and "开启二次验证" in account  # optional: offered
    page = client.get(ENROL)
    text = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert 'src="data:image/svg+xml' in text and "扫描" in text and "scan the QR code" not in text
    english = client.get(ENROL, headers=EN).get_data(as_text=True)
    assert "scan the QR code" in english and "扫描" not in english
    secret = re.search(r'data-test="totp-secret">([A-Z2-7]+)<', text).group(1)
    assert client.get(ENROL).get_data(as_text=True).count(secret) == 1  # a reload keeps the same secret
    with app.app_context():
        stored = db.session.get(SecondFactor, db.session.query(User).filter_by(username="shopper").one().id)
        assert secret not in stored.secret and sealed.unseal(stored.secret, "totp-secret") == secret
        assert stored.confirmed_at is None
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 500_000) % 1_000_000:06d}"
    r = client.post(ENROL, data={"code": wrong, "csrf_token": csrf_token(client, ENROL)})
    assert r.status_code == 400 and "验证码不正确" in r.get_data(as_text=True)
    r = client.post(ENROL, data={"code": "", "csrf_token": csrf_token(client, ENROL)})
    assert r.status_code == 400 and "6 位验证码" in r.get_data(as_text=True)
    r = client.post(ENROL, data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(client, ENROL)})
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", r.get_data(as_text=True))
    assert r.status_code == 200 and len(set(codes)) == 10 and "只显示这一次" in r.get_data(as_text=True)
    with app.app_context():
        hashes = [row.code_hash for row in db.session.query(RecoveryCode)]
        assert len(hashes) == 10 and not any(c.replace("-", "") in h or c in h for c in codes for h in hashes)
    assert 'data-test="two-factor-on"' in client.get("/auth/account").get_data(as_text=True)
    assert client.get(ENROL).headers["Location"].endswith("/auth/account")  # enrolled once only


def test_sign_in_with_code_replay_and_recovery_code_used_once(app):
    _user(app, "shopper", "buyer")
    first = app.test_client()
    login(first, "shopper")
    secret, codes = _enrol(first)
    c = app.test_client()
    r = _password_step(c, "shopper")
    assert r.status_code == 302 and r.headers["Location"].endswith(CODE)
    assert c.get("/auth/account").status_code == 302  # the password alone does not sign in
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    r = _code_step(c, wrong)
    assert r.status_code == 400 and "验证码不正确或已使用过" in r.get_data(as_text=True)
    r = _code_step(c, wrong, headers=EN)
    text = r.get_data(as_text=True)
    assert r.status_code == 400 and "The code is wrong or was used already." in text and "验证码" not in text
    # the enrolment used the current step's code: the app shows the next one 30 s later (accepted early)
    code = next_code(secret)
    r = _code_step(c, code)
    assert r.status_code == 302 and c.get("/auth/account").status_code == 200
    # the same code a second time (someone who saw it) is refused
    other = app.test_client()
    _password_step(other, "shopper")
    assert _code_step(other, code).status_code == 400
    # a recovery code instead: once
    r = _code_step(other, codes[0].upper().replace("-", " "), headers=EN)  # typed loosely: case, separator
    assert r.status_code == 302
    account = other.get("/auth/account", headers=EN).get_data(as_text=True)
    assert "A recovery code was used; 9 left. You can make new ones on the account page." in account
    assert "Recovery codes left: 9." in account and "恢复码" not in account
    third = app.test_client()
    _password_step(third, "shopper")
    assert _code_step(third, codes[0]).status_code == 400
    assert _code_step(third, codes[1]).status_code == 302
    account = third.get("/auth/account").get_data(as_text=True)
    assert "已使用一个恢复码，还剩 8 个；可在账户页面生成新的恢复码。" in account and "剩余恢复码 8 个" in account


def test_code_step_needs_the_password_step_first(app, client):
    r = client.get(CODE)
    assert r.status_code == 302 and r.headers["Location"].endswith("/auth/login")


def test_optional_second_factor_turned_off_required_one_not(app):
    _user(app, "shopper", "buyer")
    _user(app, "official", "authority")
    c = app.test_client()
    login(c, "shopper")
    secret, _ = _enrol(c)
    r = c.post("/auth/two-factor/disable", data={"code": "12", "csrf_token": csrf_token(c)})
    assert r.status_code == 400
    r = c.post("/auth/two-factor/disable", data={"code": next_code(secret), "csrf_token": csrf_token(c)})
    assert r.status_code == 302 and 'data-test="two-factor-off"' in c.get("/auth/account").get_data(as_text=True)
    official = app.test_client()
    login(official, "official")
    r = official.post("/auth/two-factor/disable", data={"code": "123456", "csrf_token": csrf_token(official)})
    assert r.status_code == 403 and "必须使用二次验证" in r.get_data(as_text=True)


def test_lockout_per_account_says_until_when_and_expires(tmp_path):
    app = make_app(tmp_path, LOGIN_RATE_LIMIT=0, LOGIN_LOCKOUT_FAILURES=3, LOGIN_LOCKOUT_MINUTES=0.04)
    _user(app, "bob", "buyer")
    _user(app, "carol", "buyer")
    c = app.test_client()
    assert [_password_step(c, "bob", "wrong-password").status_code for _ in range(2)] == [200, 200]
    r = _password_step(c, "bob", "wrong-password")
    with app.app_context():
        until = db.session.get(LoginThrottle, "user:bob").locked_until
    text = r.get_data(as_text=True)
    shown = china_time(until.replace(tzinfo=timezone.utc).timestamp())
    assert r.status_code == 429 and f"已临时锁定至 {shown}（北京时间）" in text and "locked until" not in text
    assert 1 <= int(r.headers["Retry-After"]) <= 3
    r = _password_step(c, "bob", headers=EN)  # even the right password, while locked
    assert r.status_code == 429 and c.get("/auth/account").status_code == 302
    assert f"locked until {shown} China time" in r.get_data(as_text=True)
    assert _password_step(app.test_client(), "carol").status_code == 302  # another account: not locked
    time.sleep(2.6)
    assert _password_step(c, "bob").status_code == 302 and c.get("/auth/account").status_code == 200
    with app.app_context():
        assert db.session.get(LoginThrottle, "user:bob") is None  # a success forgives the failures


def test_lockout_per_address(tmp_path):
    app = make_app(tmp_path, LOGIN_RATE_LIMIT=0, LOGIN_LOCKOUT_ADDRESS_FAILURES=4)
    _user(app, "bob", "buyer")
    c = app.test_client()
    statuses = [_password_step(c, name, "wrong-password", address="198.51.100.9").status_code
                for name in ("ann", "ben", "cat", "dan")]
    assert statuses == [200, 200, 200, 429]  # made-up usernames count against the address
    assert _password_step(c, "bob", address="198.51.100.9").status_code == 429
    assert _password_step(app.test_client(), "bob", address="198.51.100.10").status_code == 302


def test_wrong_codes_count_towards_the_lockout(tmp_path):
    app = make_app(tmp_path, LOGIN_RATE_LIMIT=0, LOGIN_LOCKOUT_FAILURES=3)
    _user(app, "shopper", "buyer")
    c = app.test_client()
    login(c, "shopper")
    secret, _ = _enrol(c)
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 500_000) % 1_000_000:06d}"
    c = app.test_client()
    _password_step(c, "shopper")
    assert [_code_step(c, wrong).status_code for _ in range(3)] == [400, 400, 429]
    # the step is over: even the right code leads back to the password
    r = c.post(CODE, data={"code": next_code(secret), "csrf_token": csrf_token(c, "/auth/login")})
    assert r.status_code == 302 and r.headers["Location"].endswith("/auth/login")
    assert c.get("/auth/account").status_code == 302
    assert _password_step(c, "shopper").status_code == 429  # and the account is locked


@pytest.mark.parametrize("password,problem", [
    ("Short-1", "至少 10 个字符"), ("shopper", "至少 10 个字符"), ("shopper-01", None),
    ("Shopper-01", None), ("abcdefghijklmn", "至少两类字符"), ("1234567890", "至少两类字符"),
    ("password123", "常见密码"), ("Qwertyuiop1", "常见密码"), ("correct horse battery", None),
])
def test_password_rules(app, password, problem):
    with app.test_request_context("/"):  # no Accept-Language: Chinese
        found = " ".join(passwords.problems(password, "shopper"))
        assert (problem in found) if problem else not found, found
        assert "不能与用户名相同" in passwords.describe("Shopper2026x", "shopper2026X")
        assert not passwords.problems(passwords.generate())


def test_password_rules_in_english(app):
    """The problems in the request's language, each a sentence; none of the other language."""
    with app.test_request_context("/", headers=EN):
        assert passwords.describe("qwertyuiop", "shopper") == (
            "Use at least two kinds of characters (lower case, upper case, digits, symbols). "
            "This is a well-known password, easy to guess.")
    with app.test_request_context("/"):
        assert passwords.describe("qwertyuiop", "shopper") == (
            "密码须包含至少两类字符（小写字母、大写字母、数字、符号）。这是常见密码，很容易被猜中。")


def test_password_change_on_the_account_page(app, client, runner):
    _user(app, "shopper", "buyer")
    login(client, "shopper")

    def change(current, new, again=None, headers=None):
        return client.post("/auth/password", data={"current_password": current, "new_password": new,
                                                   "new_password_again": new if again is None else again,
                                                   "csrf_token": csrf_token(client)}, headers=headers)

    page = client.get("/auth/account").get_data(as_text=True)
    assert 'data-test="password-form"' in page and "修改密码" in page
    for current, new, again, message in [
        ("wrong-password", "New-password-1", None, "当前密码不正确"),
        (PASSWORD, "New-password-1", "New-password-2", "两次输入的新密码不一致"),
        (PASSWORD, "short-1", None, "至少 10 个字符"),
        (PASSWORD, "SHOPPER", None, "至少 10 个字符"),
        (PASSWORD, "password123", None, "常见密码"),
        (PASSWORD, PASSWORD, None, "不能与当前密码相同"),
        (PASSWORD, "", None, "请填写当前密码和两次新密码"),
    ]:
        r = change(current, new, again)
        assert r.status_code == 400 and message in r.get_data(as_text=True), (new, r.status_code)
    r = change(PASSWORD, "password123", headers=EN)
    text = r.get_data(as_text=True)
    assert r.status_code == 400 and "This is a well-known password, easy to guess." in text and "常见密码" not in text
    r = change(PASSWORD, "New-password-1")
    assert r.status_code == 302
    assert "密码已修改" in client.get("/auth/account").get_data(as_text=True)
    assert login(app.test_client(), "shopper", PASSWORD).status_code == 200  # the old one: refused
    assert login(app.test_client(), "shopper", "New-password-1").status_code == 302
    # the CLI applies the same rules
    r = runner.invoke(args=["users", "create", "weak", "--role", "buyer", "--password", "1234567890"])
    assert r.exit_code != 0 and "至少两类字符" in r.output


def test_account_page_in_each_language_and_the_choice_saved_there(app, client):
    _user(app, "shopper", "buyer")
    login(client, "shopper")
    page = client.get("/auth/account").get_data(as_text=True)
    assert "修改密码" in page and "接口令牌" in page and "二次验证" in page
    assert "Change password" not in page and "API token" not in page
    assert '<option value="zh" lang="zh-CN" selected>中文</option>' in page  # the page's language chosen
    english = client.get("/auth/account", headers=EN).get_data(as_text=True)
    assert "Change password" in english and "API token" in english and "Two-factor sign-in" in english
    assert "修改密码" not in english and "接口令牌" not in english
    # the account page's choice: saved on the user, back to the account page, in English from then on
    form = re.search(r'<form method="post" action="(/language)"[^>]*data-test="language-form"', page)
    r = client.post(form.group(1), data={"lang": "en", "csrf_token": csrf_token(client)},
                    headers={"Referer": "http://localhost/auth/account"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/auth/account")
    with app.app_context():
        assert db.session.query(User).filter_by(username="shopper").one().language == "en"
    page = client.get("/auth/account", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Change password" in page and '<option value="en" lang="en" selected>English</option>' in page


def test_operator_resets_a_lost_second_factor(app, runner):
    _user(app, "official", "auditor")
    c = app.test_client()
    login(c, "official")  # enrols (backendutil.login does, for a role that must)
    with app.app_context():
        assert db.session.query(SecondFactor).count() == 1 and db.session.query(RecoveryCode).count() == 10
    r = runner.invoke(args=["users", "reset-second-factor", "official"])
    assert r.exit_code == 0 and "enrols again" in r.output
    with app.app_context():
        assert db.session.query(SecondFactor).count() == 0 and db.session.query(RecoveryCode).count() == 0
    r = _password_step(app.test_client(), "official")
    assert r.status_code == 302 and r.headers["Location"].endswith(ENROL)
    assert runner.invoke(args=["users", "reset-second-factor", "nobody"]).exit_code != 0
