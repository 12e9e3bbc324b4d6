"""App factory, configuration, security headers, CLI, auth and role refusals on the
pages (no chain needed)."""
import json

import pytest
from backendutil import csrf_token, login, make_app

from backend import create_app
from backend.core.db import db
from backend.core.models import User


def test_secret_key_required_outside_dev_mode(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("EINVOICE_SECRET_KEY", raising=False)
    monkeypatch.delenv("EINVOICE_DEV", raising=False)
    monkeypatch.delenv("EINVOICE_ENV", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})


def _production_env(monkeypatch):
    for name in ("SECRET_KEY", "EINVOICE_SECRET_KEY", "BUYER_TAG_KEY", "EINVOICE_BUYER_TAG_KEY", "EINVOICE_DEV",
                 "EINVOICE_ENV"):
        monkeypatch.delenv(name, raising=False)


def test_buyer_tag_key_required_outside_dev_mode(tmp_path, monkeypatch):
    _production_env(monkeypatch)
    monkeypatch.setenv("SECRET_KEY", "from-env")
    with pytest.raises(RuntimeError, match="BUYER_TAG_KEY is not set") as e:
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})
    assert "购买方标签密钥" in str(e.value)  # Chinese first, as every message a person reads
    # the serve entry point says it in one line and exits 1
    from backend import serve

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/y.sqlite")
    with pytest.raises(SystemExit) as exit_:
        serve.main(["--port", "0"])
    assert exit_.value.code == 1


def test_buyer_tag_key_from_environment_hex_or_text(tmp_path, monkeypatch):
    from backend.core import buyer_privacy

    _production_env(monkeypatch)
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("BUYER_TAG_KEY", "0x" + "ab" * 32)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})
    assert app.extensions[buyer_privacy.EXTENSION] == bytes.fromhex("ab" * 32)
    monkeypatch.setenv("BUYER_TAG_KEY", "a long operator passphrase")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})
    assert app.extensions[buyer_privacy.EXTENSION] == b"a long operator passphrase"
    with app.app_context():
        assert buyer_privacy.buyer_tag("91530100MA6K0002XU") != buyer_privacy.buyer_tag(
            "91530100MA6K0002XU", buyer_privacy.parse_key(buyer_privacy.DEV_BUYER_TAG_KEY))
    # too short or bad hex: refused, and the message does not repeat the key
    for bad in ("short-key", "0xzz" + "00" * 20):
        monkeypatch.setenv("BUYER_TAG_KEY", bad)
        with pytest.raises(RuntimeError, match="BUYER_TAG_KEY") as e:
            create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})
        assert bad not in str(e.value)


def test_dev_mode_uses_the_documented_dev_buyer_tag_key(tmp_path, monkeypatch):
    from backend.core import buyer_privacy

    _production_env(monkeypatch)
    monkeypatch.setenv("EINVOICE_ENV", "dev")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})
    assert app.extensions[buyer_privacy.EXTENSION] == buyer_privacy.DEV_BUYER_TAG_KEY.encode()


def test_secret_key_from_environment(tmp_path, monkeypatch):
    _production_env(monkeypatch)
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("BUYER_TAG_KEY", "0x" + "ab" * 32)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_database_url(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/from-url.sqlite")
    app = create_app({"TESTING": True, "SECRET_KEY": "t"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("from-url.sqlite")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example/einvoice")
    from flask import Flask

    from backend.core import config
    probe = Flask("probe")
    config.load(probe, {"TESTING": True, "SECRET_KEY": "t"})
    assert probe.config["SQLALCHEMY_DATABASE_URI"].startswith(("postgresql://", "postgresql+psycopg://"))


def test_security_headers(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]


def test_public_pages(client):
    for path in ("/", "/verify/", "/verify/batch", "/verify/document", "/auth/login", "/healthz"):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("path", ["/merchant/issue", "/merchant/invoices", "/merchant/registration",
                                  "/audit/queue", "/audit/invoices", "/admin/merchants", "/admin/parameters",
                                  "/verify/history", "/auth/account", "/buyer/invoices",
                                  "/invoices/25531000000000000001"])
def test_anonymous_redirected_to_login(client, path):
    r = client.get(path)
    assert r.status_code == 302
    assert "/auth/login" in r.headers["Location"]


def test_users_create_cli(runner, app):
    r = runner.invoke(args=["users", "create", "alice", "--role", "auditor", "--password", "s3cret-pw-42",
                            "--dev-account", "3"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["role"] == "auditor" and out["api_token"].startswith("einv_")
    with app.app_context():
        user = db.session.query(User).filter_by(username="alice").one()
        assert user.check_password("s3cret-pw-42") and not user.check_password("wrong")
        assert user.password_hash != "s3cret-pw-42"
        assert user.api_token_hash != out["api_token"]
        assert user.address == "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # Anvil account 3
    r = runner.invoke(args=["users", "create", "alice", "--role", "auditor"])
    assert r.exit_code != 0 and "exists" in r.output
    r = runner.invoke(args=["users", "create", "bob", "--role", "king"])
    assert r.exit_code != 0


def _user(app, username, role, password="pw-test-123"):
    with app.app_context():
        u = User(username=username, role=role)
        u.set_password(password)
        db.session.add(u)
        db.session.commit()


def test_login_logout_and_csrf(app, client):
    _user(app, "bob", "buyer")
    # a POST without the CSRF token is refused
    r = client.post("/auth/login", data={"username": "bob", "password": "pw-test-123"})
    assert r.status_code == 400  # CSRFProtect refuses the form
    assert client.get("/auth/account").status_code == 302
    r = login(client, "bob", "wrong-password")
    assert "用户名或密码错误".encode() in r.data
    r = login(client, "bob")
    assert r.status_code == 302
    assert client.get("/auth/account").status_code == 200
    cookie = r.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    token = csrf_token(client)
    client.post("/auth/logout", data={"csrf_token": token})
    assert client.get("/auth/account").status_code == 302


def test_open_redirect_refused(app, client):
    _user(app, "bob", "buyer")
    page = client.get("/auth/login?next=//evil.example").get_data(as_text=True)
    import re
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post("/auth/login?next=//evil.example", data={"username": "bob", "password": "pw-test-123",
                                                             "csrf_token": token})
    assert r.headers["Location"] == "/"


@pytest.mark.parametrize("role,path,status", [
    ("buyer", "/merchant/issue", 403), ("buyer", "/admin/merchants", 403), ("buyer", "/audit/queue", 403),
    ("merchant", "/admin/parameters", 403), ("merchant", "/audit/queue", 403), ("auditor", "/merchant/issue", 403),
    ("auditor", "/admin/merchants", 403), ("financier", "/merchant/invoices", 403),
    ("buyer", "/buyer/invoices", 200), ("auditor", "/audit/invoices", 200), ("merchant", "/merchant/invoices", 200),
    ("buyer", "/verify/history", 200),
])
def test_role_checks_on_pages(app, client, role, path, status):
    _user(app, "u", role)
    login(client, "u")
    assert client.get(path).status_code == status


def test_account_page_new_token(app, client):
    _user(app, "bob", "buyer")
    login(client, "bob")
    token = csrf_token(client)
    r = client.post("/auth/account", data={"csrf_token": token})
    assert b"einv_" in r.data
    assert client.post("/auth/account", data={}).status_code == 400  # CSRF


def test_api_without_chain_is_503_not_500(app):
    c = app.test_client()
    r = c.post("/api/v1/verify", json={"number": "2" * 20, "issue_date": "2026-01-01", "gross": 1,
                                       "check_code": "123456"})
    assert r.status_code == 503
    assert r.get_json()["error"] == "chain_unavailable"


def test_production_keystore_encrypted(tmp_path, monkeypatch):
    """Outside dev mode a signing user gets an encrypted keystore; no plaintext key on disk."""
    monkeypatch.delenv("EINVOICE_ENV", raising=False)
    monkeypatch.delenv("EINVOICE_DEV", raising=False)
    app = make_app(tmp_path, DEV_MODE=False, TESTING=False, KEYSTORE_PASSWORD="correct horse",
                   BUYER_TAG_KEY="0x" + "cd" * 32)
    r = app.test_cli_runner().invoke(args=["users", "create", "m", "--role", "merchant", "--password", "pw-1234567"])
    assert r.exit_code == 0, r.output
    address = json.loads(r.output)["address"]
    path = tmp_path / "keystore" / f"{address}.json"
    data = json.loads(path.read_text())
    assert data["crypto"]["kdf"] == "scrypt" and "ciphertext" in data["crypto"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    from backend.chain.keys import KeyRing
    ring = KeyRing(dev_mode=False, keystore_dir=str(tmp_path / "keystore"), password="correct horse")
    assert ring.account(address).address == address
    with pytest.raises(Exception):
        KeyRing(dev_mode=False, keystore_dir=str(tmp_path / "keystore"), password="wrong").account(address)
    # dev accounts do not exist outside dev mode
    r = app.test_cli_runner().invoke(args=["users", "create", "x", "--role", "merchant", "--dev-account", "1"])
    assert r.exit_code != 0
    # a buyer gets no key
    r = app.test_cli_runner().invoke(args=["users", "create", "b", "--role", "buyer"])
    assert json.loads(r.output)["address"] is None
