"""Helpers of the backend tests (a uniquely named module: several test folders have a
conftest.py, so test modules must not import from "conftest")."""
import html
import os
import re

from sqlalchemy import MetaData

from backend import create_app
from backend.core.db import db, upgrade_database


def make_app(tmp_path, deployment_path="/nonexistent/deployment.json", fresh=True, **extra):
    """TEST_DATABASE_URL (e.g. a PostgreSQL database) replaces the per-test SQLite file;
    its tables (alembic_version too) are dropped and made again by the migrations for
    each test. create_app upgrades the database (a new SQLite file: made by the
    migrations) unless DATABASE_AUTO_UPGRADE=False is passed."""
    database = os.environ.get("TEST_DATABASE_URL")
    config = {
        "TESTING": True,
        "DEV_MODE": True,
        "SECRET_KEY": "test",
        "SQLALCHEMY_DATABASE_URI": None if database else f"sqlite:///{tmp_path / 'test.sqlite'}",
        **({"DATABASE_URL": database} if database else {}),
        "DEPLOYMENT_FILE": deployment_path,
        "KEYSTORE_DIR": str(tmp_path / "keystore"),
        "VERIFY_RATE_LIMIT": 0,
        "TX_TIMEOUT": 10,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast hashes for tests only
        **extra,
    }
    if database and fresh:
        app = create_app({**config, "DATABASE_AUTO_UPGRADE": False})
        with app.app_context():
            tables = MetaData()
            tables.reflect(db.engine)
            tables.drop_all(db.engine)
            if config.get("DATABASE_AUTO_UPGRADE", True):
                upgrade_database()
        return app
    return create_app(config)


def login(client, username, password="pw-test-123"):
    """Log in through the form (the CSRF token read from the page), then through the second
    step when the account has a second factor (or must set one up: it is set up then)."""
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post("/auth/login", data={"username": username, "password": password, "csrf_token": token})
    return pass_second_step(client, r, username)


def second_factor_code(app, username):
    """The current TOTP code of an enrolled ``username``. The replay guard (a code is accepted
    once) is reset first: the tests sign one person in several times within a 30-second step,
    which a person with one phone cannot do."""
    import pyotp

    from backend.core.models import User
    from backend.services import two_factor

    with app.app_context():
        factor = two_factor.factor_of(db.session.query(User).filter_by(username=username).one())
        factor.last_step = None
        db.session.commit()
        return pyotp.TOTP(two_factor.secret_of(factor)).now()


def pass_second_step(client, response, username):
    """After the password step's ``response``: the code step answered with a current code, or
    the enrolment (a role that must have a second factor and has none) done with the secret on
    the page. Returns the last response (a 302 onwards; the recovery codes page after an enrolment)."""
    import pyotp

    where = response.headers.get("Location", "") if response.status_code == 302 else ""
    if where.endswith("/auth/two-factor/code"):
        code = second_factor_code(client.application, username)
        return client.post(where, data={"code": code, "csrf_token": csrf_token(client, where)})
    if where.endswith("/auth/two-factor/enrol"):
        page = client.get(where).get_data(as_text=True)
        secret = re.search(r'data-test="totp-secret">([A-Z2-7]+)<', page).group(1)
        return client.post(where, data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(client, where)})
    return response


def csrf_token(client, path="/auth/account"):
    page = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    return m.group(1)


def token_of(page):
    """The CSRF token of a page's (first) form."""
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def form_in(page, marker):
    """(action, {hidden field: value}) of the first <form …> whose opening tag has ``marker``."""
    m = re.search(r"<form\b[^>]*" + re.escape(marker) + r"[^>]*>(.*?)</form>", page, re.S)
    assert m, f"no form with {marker!r}"
    tag = page[m.start():page.index(">", m.start())]
    action = html.unescape(re.search(r'action="([^"]+)"', tag).group(1))
    hidden = {}
    for field in re.finditer(r"<input\b[^>]*>", m.group(1)):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', field.group(0)))
        if attrs.get("type") == "hidden":
            hidden[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return action, hidden


class Browser:
    """A test client that fills in forms as a person's browser would: with the CSRF token (and
    the other hidden fields) of the page they are on. ``language``: the browser's
    Accept-Language (none: the app's default, Chinese)."""

    def __init__(self, app, language=None):
        self.c = app.test_client()
        if language:
            self.c.environ_base["HTTP_ACCEPT_LANGUAGE"] = language

    def get(self, path, **kw):
        return self.c.get(path, **kw)

    def text(self, path):
        """The page at ``path`` (a 200)."""
        r = self.c.get(path)
        assert r.status_code == 200, (path, r.status_code)
        return r.get_data(as_text=True)

    def post(self, path, data=None, page=None, **kw):
        """Posts ``data`` to ``path`` with the CSRF token of ``page`` (else of the page at ``path``)."""
        data = {**(data or {}), "csrf_token": token_of(page or self.text(path))}
        return self.c.post(path, data=data, **kw)

    def submit(self, page, marker, data=None, **kw):
        """Posts the form of ``page`` marked ``marker`` (its hidden fields, then ``data``)."""
        action, hidden = form_in(page, marker)
        return self.c.post(action, data={**hidden, **(data or {})}, **kw)

    def english(self):
        """This client's pages in English from now on (the language switch's cookie)."""
        self.c.set_cookie("lang", "en")
        return self

    def follow(self, response):
        """The page a redirect leads to."""
        assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
        return self.text(response.headers["Location"])

    def login(self, username, password="pw-test-123"):
        """Signed in through the form (and the second step: the code, or the enrolment)."""
        r = self.post("/auth/login", {"username": username, "password": password})
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        pass_second_step(self.c, r, username)
        return self


def sample_invoice(**over):
    body = {
        "buyer_name": "昆明示例商贸有限公司",
        "buyer_tax_id": "91530100MA6K0002XU",
        "items": [
            {"name": "办公用品 Office supplies", "quantity": 10, "unit_price": 12_50, "tax_rate": 13},
            {"name": "打印纸 Paper", "quantity": 3, "unit_price": 25_00, "amount": 75_00, "tax_rate": 13},
        ],
    }
    body.update(over)
    return body
