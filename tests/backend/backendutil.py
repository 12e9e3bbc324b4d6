"""Helpers of the backend tests (a uniquely named module: several test folders have a
conftest.py, so test modules must not import from "conftest")."""
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
    """Log in through the form (CSRF disabled only for this helper's app? no: token read from the page)."""
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/auth/login", data={"username": username, "password": password, "csrf_token": token})


def csrf_token(client, path="/auth/account"):
    page = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    return m.group(1)


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
