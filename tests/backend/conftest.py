"""Backend test fixtures, in the manner of the Flask tutorial: ``app``, ``client``,
``runner``; plus ``chain`` (an Anvil of our own, ports 8570-8599, with the contracts
deployed) and ``seeded`` (demo users, merchants approved on chain).

Each test gets a fresh SQLite database and the chain reverted to the snapshot taken
after deployment, so tests do not see each other's invoices."""
import os

import pytest
from web3 import HTTPProvider, Web3

from backend import create_app
from backend.db import db

from chainutil import ARTIFACTS, Anvil, deploy


@pytest.fixture(autouse=True)
def isolation():
    """Overrides the brownie snapshot fixture of tests/conftest.py: backend tests do
    not use brownie's chain."""
    yield


@pytest.fixture(scope="session")
def chain_session(tmp_path_factory):
    if not (ARTIFACTS / "MerchantRegistry.json").exists():
        pytest.skip("contracts not compiled (brownie compile)")
    anvil = Anvil().start()
    path = tmp_path_factory.mktemp("chain") / "deployment.json"
    record = deploy(anvil.url, path)
    record["path"] = str(path)
    w3 = Web3(HTTPProvider(anvil.url))
    yield {"anvil": anvil, "record": record, "w3": w3}
    anvil.stop()


@pytest.fixture
def chain(chain_session):
    """The deployed chain, reverted after the test."""
    w3 = chain_session["w3"]
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    yield chain_session
    w3.provider.make_request("evm_setAutomine", [True])
    w3.provider.make_request("evm_revert", [snap])


def make_app(tmp_path, deployment_path="/nonexistent/deployment.json", fresh=True, **extra):
    """TEST_DATABASE_URL (e.g. a PostgreSQL database) replaces the per-test SQLite file;
    its tables are dropped and created for each test."""
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
        app = create_app(config)
        with app.app_context():
            db.drop_all()
            db.create_all()
        return app
    return create_app(config)


@pytest.fixture
def app(tmp_path):
    """An app without a chain (pages and validation that need none)."""
    app = make_app(tmp_path)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def chain_app(tmp_path, chain):
    app = make_app(tmp_path, chain["record"]["path"])
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def seeded(chain_app):
    """Demo users (see backend.seed.DEMO) with merchants approved on chain.
    Returns {username: credentials}."""
    from backend import seed

    with chain_app.app_context():
        users = seed.seed_users(password="pw-test-123")
    return {u["username"]: u for u in users}


@pytest.fixture
def api(chain_app, seeded):
    """``api(username).post(path, json=...)``: a test client sending that user's token."""

    class Api:
        def __init__(self, token):
            self.client = chain_app.test_client()
            self.headers = {"Authorization": f"Bearer {token}"} if token else {}

        def __getattr__(self, method):
            fn = getattr(self.client, method)

            def call(path, headers=None, **kw):
                return fn("/api/v1" + path, headers={**self.headers, **(headers or {})}, **kw)

            return call

    return lambda username=None: Api(seeded[username]["api_token"] if username else None)


def login(client, username, password="pw-test-123"):
    """Log in through the form (CSRF disabled only for this helper's app? no: token read from the page)."""
    import re

    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/auth/login", data={"username": username, "password": password, "csrf_token": token})


def csrf_token(client, path="/auth/account"):
    import re

    page = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    return m.group(1)


def sample_invoice(**over):
    body = {
        "buyer_name": "昆明示例商贸有限公司",
        "buyer_tax_id": "91530100MA6K0000XA",
        "items": [
            {"name": "办公用品 Office supplies", "quantity": 10, "unit_price": 12_50, "tax_rate": 13},
            {"name": "打印纸 Paper", "quantity": 3, "unit_price": 25_00, "amount": 75_00, "tax_rate": 13},
        ],
    }
    body.update(over)
    return body
