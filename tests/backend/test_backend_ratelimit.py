"""Rate limits (Flask-Limiter): public verification (pages and API share one budget per
client address), failed logins (per client address and per username), the 429 answers
(JSON with Retry-After on the API, a page elsewhere), the settings, and limits that hold
across processes through a shared redis store (a redis-server of our own on a free port)."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from backendutil import csrf_token, login, make_app

from backend.core.config import rate_limit_setting
from backend.core.db import db
from backend.core.models import User
from backend.api.openapi import spec
from backend.core.security import get_limiter, limit_string

ROOT = Path(__file__).resolve().parents[2]
QUERY = {"number": "1" * 20, "issue_date": "2026-01-01", "gross": 1, "check_code": "123456"}


def _user(app, username, password="pw-test-123", role="buyer"):
    with app.app_context():
        u = User(username=username, role=role)
        u.set_password(password)
        db.session.add(u)
        db.session.commit()


def _client(app, address="127.0.0.1"):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    return c


def _assert_api_429(r, kind_cn):
    assert r.status_code == 429
    body = r.get_json()
    assert body["error"] == "rate_limited"
    seconds = int(r.headers["Retry-After"])
    assert 1 <= seconds <= 60 and body["retry_after"] == seconds
    assert kind_cn in body["message"] and f"请在 {seconds} 秒后重试" in body["message"]
    assert "Retry" not in body["message"]  # Chinese by default, one language


def test_verify_limit_memory_store_shared_by_api_and_pages(tmp_path):
    app = make_app(tmp_path, VERIFY_RATE_LIMIT=3)
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert type(get_limiter(app).storage).__name__ == "MemoryStorage"
    c = _client(app)
    # hits count before validation: bad queries (400, no chain needed) use the budget too
    assert c.post("/api/v1/verify", json={}).status_code == 400
    assert c.post("/api/v1/verify/batch", json=[QUERY]).status_code in (200, 503)  # no chain here: 503
    token = csrf_token(c, "/verify/")
    assert c.post("/verify/", data={"csrf_token": token, **QUERY}).status_code == 200
    # the budget (3 a minute) is spent: API and pages alike answer 429
    r = c.post("/api/v1/verify", json=QUERY)
    _assert_api_429(r, "查验请求过于频繁")
    assert r.headers["Cache-Control"] == "no-store"
    _assert_api_429(c.post("/api/v1/verify/batch", json=[QUERY]), "查验")
    _assert_api_429(c.post("/api/v1/verify/document", json={"number": "1" * 20}), "查验")
    page = c.post("/verify/batch", data={"csrf_token": token})
    assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1
    english = c.post("/api/v1/verify", json=QUERY, headers={"Accept-Language": "en"}).get_json()
    assert english["error"] == "rate_limited" and english["message"].startswith("Too many verification requests. "
                                                                                "Please try again in ")
    assert "查验" not in english["message"]
    text = page.get_data(as_text=True)
    assert "请稍后再试" in text and "Please wait" not in text and "秒后重试" in text and "<html" in text
    # reading the pages costs nothing and is not limited
    assert c.get("/verify/").status_code == 200
    # another client address has its own budget
    assert _client(app, "192.0.2.7").post("/api/v1/verify", json={}).status_code == 400


def test_verify_limit_off_and_settings(tmp_path):
    app = make_app(tmp_path, VERIFY_RATE_LIMIT=0)
    c = _client(app)
    assert {c.post("/api/v1/verify", json={}).status_code for _ in range(30)} == {400}
    assert limit_string(120) == "120/minute" and limit_string("7") == "7/minute" and limit_string(0) == ""
    assert limit_string("5/second;100/hour") == "5/second;100/hour"
    assert rate_limit_setting("120") == 120 and rate_limit_setting(" 2/minute ") == "2/minute"
    app = make_app(tmp_path, VERIFY_RATE_LIMIT="1/hour")
    c = _client(app)
    assert c.post("/api/v1/verify", json={}).status_code == 400
    r = c.post("/api/v1/verify", json={})
    assert r.status_code == 429 and 60 < int(r.headers["Retry-After"]) <= 3600
    with pytest.raises(RuntimeError, match="VERIFY_RATE_LIMIT"):
        make_app(tmp_path, VERIFY_RATE_LIMIT="often")
    with pytest.raises(RuntimeError, match="LOGIN_RATE_LIMIT"):
        make_app(tmp_path, LOGIN_RATE_LIMIT="-3")


def test_limits_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("EINVOICE_VERIFY_RATE_LIMIT", "1")
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "4/hour")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    from backend import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/env.sqlite",
                      "DEPLOYMENT_FILE": "/nonexistent.json"})
    assert app.config["VERIFY_RATE_LIMIT"] == 1 and app.config["LOGIN_RATE_LIMIT"] == "4/hour"
    c = _client(app)
    assert [c.post("/api/v1/verify", json={}).status_code for _ in range(2)] == [400, 429]


def test_login_limited_per_address_and_per_username(tmp_path):
    app = make_app(tmp_path, LOGIN_RATE_LIMIT="3/minute")
    _user(app, "bob")
    _user(app, "carol")
    c = _client(app, "198.51.100.1")
    for _ in range(3):
        r = login(c, "bob", "wrong-password")
        assert r.status_code == 200 and "用户名或密码错误" in r.get_data(as_text=True)
    # the 4th attempt is refused, even with the right password
    r = login(c, "bob")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    text = r.get_data(as_text=True)
    assert "登录尝试失败次数过多" in text and "同一地址或同一用户名" in text and "Too many" not in text
    c.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    text = login(c, "bob").get_data(as_text=True)
    del c.environ_base["HTTP_ACCEPT_LANGUAGE"]
    assert "Too many failed sign-in attempts." in text and "or for one username" in text and "登录" not in text
    assert c.get("/auth/account").status_code == 302  # not logged in
    # the same address is refused for another username too
    assert login(c, "carol").status_code == 429
    # bob's username is refused from another address as well (per username)
    assert login(_client(app, "198.51.100.2"), "bob").status_code == 429
    # another address and another username: let in
    other = _client(app, "198.51.100.3")
    assert login(other, "carol").status_code == 302
    assert other.get("/auth/account").status_code == 200
    assert "Retry-After" not in other.get("/auth/login").headers  # the form page itself is never limited


def test_successful_logins_cost_nothing(tmp_path):
    app = make_app(tmp_path, LOGIN_RATE_LIMIT="2/minute")
    _user(app, "bob")
    for _ in range(5):
        c = _client(app)
        assert login(c, "bob").status_code == 302


def test_shared_store_down_limits_per_process(tmp_path):
    """RATELIMIT_IN_MEMORY_FALLBACK_ENABLED (default on): with the shared store unreachable the
    requests are still answered and limited, counted in the process."""
    app = make_app(tmp_path, VERIFY_RATE_LIMIT=2, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    c = _client(app)
    assert [c.post("/api/v1/verify", json={}).status_code for _ in range(3)] == [400, 400, 429]


def test_openapi_documents_429_on_every_limited_route():
    doc = spec()
    for path in ("/verify", "/verify/batch", "/verify/document"):
        responses = doc["paths"][path]["post"]["responses"]
        assert "429" in responses and "Retry-After" in responses["429"]["headers"]


# ---------------------------------------------------------------- across processes (redis)
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server of our own on 127.0.0.1 at a free port (no persistence), stopped after."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing: scripts/ensure_system.sh installs it (make test runs it first)")
        pytest.skip("redis-server not installed (scripts/ensure_system.sh installs it)")
    port = _free_port()
    proc = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path), "--protected-mode", "yes"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_port(port, proc, 20)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


SERVE = """
import sys
from waitress import serve
from backend import create_app
serve(create_app(), host="127.0.0.1", port=int(sys.argv[1]), threads=2, _quiet=True)
"""


def _serve(tmp_path, name, storage_uri, verify_limit):
    port = _free_port()
    settings = {"SECRET_KEY": "ratelimit-test", "DATABASE_URL": f"sqlite:///{tmp_path}/{name}.sqlite",
                "DEPLOYMENT_FILE": str(tmp_path / "none.json"), "INDEXER_INTERVAL": "0",
                "VERIFY_RATE_LIMIT": str(verify_limit), "RATELIMIT_STORAGE_URI": storage_uri}
    env = {k: v for k, v in os.environ.items() if k.removeprefix("EINVOICE_") not in settings}
    env.update(settings, EINVOICE_ENV="dev", EINVOICE_DEV="1")
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_port(port, proc)
    except Exception:
        proc.kill()
        raise
    return proc, f"http://127.0.0.1:{port}"


def _verify(base):
    """POST /api/v1/verify with a bad query (400 when let in: no chain needed); (status, headers, body)."""
    req = urllib.request.Request(base + "/api/v1/verify", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read())


def _stop(*procs):
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_limit_holds_across_processes_with_redis(tmp_path, redis_server):
    """Two app processes (waitress) on one redis store: hits on one count against the other.
    The same two processes on memory:// would each count alone (checked first, so the test
    shows what the shared store changes)."""
    a, base_a = _serve(tmp_path, "a", "memory://", 3)
    b, base_b = _serve(tmp_path, "b", "memory://", 3)
    try:
        assert [_verify(base_a)[0] for _ in range(3)] == [400, 400, 400]
        assert _verify(base_b)[0] == 400  # memory://: process b has its own count
    finally:
        _stop(a, b)

    a, base_a = _serve(tmp_path, "a", redis_server, 3)
    b, base_b = _serve(tmp_path, "b", redis_server, 3)
    try:
        assert [_verify(base_a)[0] for _ in range(2)] == [400, 400]
        assert _verify(base_b)[0] == 400  # the 3rd hit of the minute, on the other process
        status, headers, body = _verify(base_b)
        assert status == 429 and body["error"] == "rate_limited" and int(headers["Retry-After"]) >= 1
        assert "秒后重试" in body["message"]
        assert _verify(base_a)[0] == 429  # and process a sees the hits b counted
    finally:
        _stop(a, b)
