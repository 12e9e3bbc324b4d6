"""Backend test fixtures, in the manner of the Flask tutorial: ``app``, ``client``,
``runner``; plus ``chain`` (an Anvil of our own, ports 8570-8599, with the contracts
deployed) and ``seeded`` (demo users, merchants approved on chain).

Each test gets a fresh SQLite database and the chain reverted to the snapshot taken
after deployment, so tests do not see each other's invoices."""

import pytest

from backend.core.db import db

from backendutil import csrf_token, login, make_app, sample_invoice  # noqa: F401  (re-exported)
import pgutil
from chainutil import ARTIFACTS, deployed_chain, reverted_after


@pytest.fixture(autouse=True)
def isolation():
    """Overrides the brownie snapshot fixture of tests/conftest.py: backend tests do
    not use brownie's chain."""
    yield


@pytest.fixture(scope="session")
def chain_session(tmp_path_factory):
    if not (ARTIFACTS / "MerchantRegistry.json").exists():
        pytest.skip("contracts not compiled (brownie compile)")
    with deployed_chain(tmp_path_factory.mktemp("chain")) as chain:
        yield chain


@pytest.fixture
def chain(chain_session):
    """The deployed chain, reverted after the test."""
    with reverted_after(chain_session["w3"]):
        yield chain_session


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL cluster (pgutil) for a module's tests; skipped without PostgreSQL."""
    reason = pgutil.missing()
    if reason:
        pytest.skip(reason)
    cluster = pgutil.Cluster().start()
    yield cluster
    cluster.stop()


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
    """Demo users (see backend.services.seed.DEMO) with merchants approved on chain.
    Returns {username: credentials}."""
    from backend.services import seed

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
