"""Database migrations (migrations/, Flask-Migrate): a database of the previous release
(contracts v1, made by its create_all, no alembic_version) is stamped as the baseline and
upgraded without losing a row; a new database is made by the migrations; the migrated
schema is exactly the models' (as ``flask db check``), so a model change without its
migration fails here."""
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from backend.core.db import db, in_models, migrations_config, schema_revisions, upgrade_database
from backend.core.models import token_digest

from backendutil import make_app

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).with_name("schemas")
V1_SCHEMA = SCHEMAS / "v1.sql"  # the previous release's
V2_BEFORE_MIGRATIONS = SCHEMAS / "v2-before-migrations.sql"  # a new database of the v2 code before migrations
SCRIPT = ScriptDirectory(str(ROOT / "migrations"))
BASELINE, V2 = "0001", "0002"
HEAD = SCRIPT.get_current_head()
MERCHANT_TOKEN = "einv_v1-merchant-token"
SELLER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BUYER_TAX_ID = "91530100MA6K0002XU"


def sqlite_only():
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("builds its own SQLite databases")


def document(rate, amount):
    return json.dumps({"items": [{"name": "办公用品 Office supplies", "quantity": 1, "unit_price": amount,
                                  "amount": amount, "tax_rate": rate}]}, separators=(",", ":"), ensure_ascii=False)


# Rows of every table of the previous release, as its code wrote them.
V1_ROWS = {
    "users": [
        dict(id=1, username="authority", password_hash="pbkdf2:sha256:1000$x$y", role="authority",
             address="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", api_token_hash=None, buyer_tax_id=None,
             active=1, created_at="2026-01-05 08:00:00.000000"),
        dict(id=2, username="merchant1", password_hash="pbkdf2:sha256:1000$x$y", role="merchant", address=SELLER,
             api_token_hash=token_digest(MERCHANT_TOKEN), buyer_tax_id=None, active=1,
             created_at="2026-01-05 08:01:00.000000"),
        dict(id=3, username="buyer1", password_hash="pbkdf2:sha256:1000$x$y", role="buyer", address=None,
             api_token_hash=None, buyer_tax_id=BUYER_TAX_ID, active=0, created_at="2026-01-05 08:02:00.000000"),
    ],
    "merchants": [
        dict(id=1, user_id=2, name="云南示例科技有限公司", tax_id="91530000MA6N00000J", licence_number="L-1",
             status="approved", note=None, created_at="2026-01-05 09:00:00.000000",
             updated_at="2026-01-06 09:00:00.000000"),
    ],
    "number_sequences": [dict(prefix="26531", last=2)],
    "outbox": [
        dict(id=1, chain_id=31337, sender=SELLER, nonce=0, tx_hash="0x" + "a1" * 32, raw_tx="0x02f8", contract=
             "InvoiceRegistry", function="issueInvoice", ref="26531000000000000001", status="mined", block_number=12,
             gas_used=210000, broadcasts=1, error=None, created_at="2026-01-07 10:00:00.000000",
             updated_at="2026-01-07 10:00:02.000000"),
        dict(id=2, chain_id=31337, sender=SELLER, nonce=1, tx_hash="0x" + "a2" * 32, raw_tx="0x02f9", contract=
             "InvoiceRegistry", function="issueInvoice", ref="26531000000000000002", status="signed",
             block_number=None, gas_used=None, broadcasts=0, error=None, created_at="2026-01-07 11:00:00.000000",
             updated_at="2026-01-07 11:00:00.000000"),
    ],
    "invoices": [
        dict(id=1, number="26531000000000000001", key="0x" + "b1" * 32, user_id=2, seller_address=SELLER,
             seller_name="云南示例科技有限公司", seller_tax_id="91530000MA6N00000J", buyer_name="昆明示例商贸有限公司",
             buyer_tax_id=BUYER_TAX_ID, issue_date="2026-01-07", issued_at=1767780000, invoice_type=0, rate=9,
             item_count=1, net=10000, tax=900, gross=10900, document=document(9, 10000), document_hash="0x" + "c1" * 32,
             is_red_letter=0, original_number=None, state="issued", chain_status="Issued", flags=0,
             check_code="12345678901234567890", outbox_id=1, idempotency_key="order-1", request_fingerprint="f" * 64,
             error=None, created_at="2026-01-07 10:00:00.000000", updated_at="2026-01-07 10:00:02.000000"),
        # the largest amount the platform accepts (INVOICE_MAX_AMOUNT)
        dict(id=2, number="26531000000000000002", key="0x" + "b2" * 32, user_id=2, seller_address=SELLER,
             seller_name="云南示例科技有限公司", seller_tax_id="91530000MA6N00000J", buyer_name="昆明示例商贸有限公司",
             buyer_tax_id=BUYER_TAX_ID, issue_date="2026-01-07", issued_at=1767783600, invoice_type=0, rate=13,
             item_count=1, net=884955752212389, tax=115044247787610, gross=999999999999999,
             document=document(13, 884955752212389), document_hash="0x" + "c2" * 32, is_red_letter=0,
             original_number=None, state="pending", chain_status=None, flags=0, check_code=None, outbox_id=2,
             idempotency_key=None, request_fingerprint=None, error=None, created_at="2026-01-07 11:00:00.000000",
             updated_at="2026-01-07 11:00:00.000000"),
    ],
    "chain_events": [
        dict(id=1, contract="InvoiceRegistry", event="InvoiceIssued", block_number=12, block_time=1767780002,
             tx_hash="0x" + "a1" * 32, log_index=0, invoice_key="0x" + "b1" * 32, related_key=None, account=SELLER,
             args='{"number": "26531000000000000001"}'),
    ],
    "indexer_cursors": [dict(name="events", last_block=12, chain_id=31337, block_hash="0x" + "d1" * 32)],
    "verifications": [
        dict(id=1, user_id=None, client="203.0.113.7", kind="single", number="26531000000000000001",
             query='{"number": "26531000000000000001"}', result="valid", detail=None,
             created_at="2026-01-08 12:00:00.000000"),
        dict(id=2, user_id=3, client=None, kind="batch", number=None, query='{"rows": 2}', result="mixed",
             detail="1 valid, 1 not found", created_at="2026-01-08 12:05:00.000000"),
    ],
}


def insert_rows(conn, rows):
    for table, records in rows.items():
        for record in records:
            conn.execute(f"INSERT INTO {table} ({', '.join(record)}) VALUES ({', '.join('?' * len(record))})",
                         list(record.values()))


def v1_database(path, extra_ddl=""):
    """A database of the previous release (its DDL, its rows), no alembic_version."""
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA.read_text() + extra_ddl)
    insert_rows(conn, V1_ROWS)
    conn.commit()
    conn.close()
    return path


def v1_schema_only(path):
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA.read_text())
    conn.close()
    return path


def rows_of(path, table):
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
    finally:
        conn.close()


def sqlite_app(tmp_path, path, **extra):
    return make_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}", **extra)


def schema_diff(app):
    """What autogenerate would write: the models against the database (``flask db check``)."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True,
                                                         "include_name": in_models})
        return compare_metadata(context, db.metadata)


def schema_of(path):
    """The reflected schema of a SQLite file, names of unnamed constraints aside."""
    inspector = sa.inspect(sa.create_engine(f"sqlite:///{path}"))
    out = {}
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        out[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                              for i in inspector.get_indexes(table)),
            "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                          for f in inspector.get_foreign_keys(table)),
        }
    return out


def test_revisions_are_a_line_from_the_baseline():
    assert SCRIPT.get_base() == BASELINE
    assert SCRIPT.get_revision(V2).down_revision == BASELINE
    assert len(SCRIPT.get_heads()) == 1, "one head: merge the branches (flask --app backend db merge)"


def test_new_database_is_made_by_the_migrations_and_matches_the_models(tmp_path):
    app = make_app(tmp_path)
    with app.app_context():
        assert schema_revisions() == ((HEAD,), HEAD)
        tables = set(sa.inspect(db.engine).get_table_names())
        sqlite = db.engine.dialect.name == "sqlite"
    assert {t for t in tables if in_models(t, "table", {})} == set(db.metadata.tables) | {"alembic_version"}
    assert ("invoice_search" in tables) == sqlite  # the search index (migration 0012), left out of the comparison
    assert schema_diff(app) == []


def test_schema_check_finds_a_model_change_without_migration(tmp_path):
    """The comparison above can fail: a column, a table or an index the migrations do not
    make is reported."""
    app = make_app(tmp_path)
    with app.app_context():
        metadata = sa.MetaData()
        for table in db.metadata.tables.values():
            table.to_metadata(metadata)
        metadata.tables["invoices"].append_column(sa.Column("remark", sa.String(200), nullable=True))
        sa.Table("invoice_notes", metadata, sa.Column("id", sa.Integer, primary_key=True))
        sa.Index("ix_merchants_name", metadata.tables["merchants"].c.name)
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    found = {(d[0], getattr(d[-1], "name", None)) for d in diff}
    assert ("add_column", "remark") in found
    assert ("add_table", "invoice_notes") in found
    assert ("add_index", "ix_merchants_name") in found


def test_baseline_is_the_previous_release_schema(tmp_path):
    """The baseline makes exactly the tables the previous release's create_all made, so
    stamping such a database with it is true."""
    sqlite_only()
    v1 = v1_schema_only(tmp_path / "v1.sqlite")
    migrated = tmp_path / "baseline.sqlite"
    app = sqlite_app(tmp_path, migrated, DATABASE_AUTO_UPGRADE=False)
    with app.app_context():
        upgrade_database(BASELINE)
        assert schema_revisions()[0] == (BASELINE,)
        db.engine.dispose()
    assert schema_of(migrated) == schema_of(v1)


def test_previous_release_database_is_upgraded_keeping_its_data(tmp_path):
    sqlite_only()
    path = v1_database(tmp_path / "einvoice.sqlite")
    before = {table: rows_of(path, table) for table in V1_ROWS}

    app = sqlite_app(tmp_path, path)  # create_app: stamped as the baseline, upgraded to head

    with app.app_context():
        assert schema_revisions() == ((HEAD,), HEAD)
        db.engine.dispose()
    assert schema_diff(app) == []
    # a copy of the database as it was
    backup = tmp_path / f"einvoice.before-{HEAD}.sqlite"
    assert rows_of(backup, "invoices") == before["invoices"]
    # every row kept, every value the same; number_sequences, read by nothing since v2, is gone
    after_tables = set(sa.inspect(sa.create_engine(f"sqlite:///{path}")).get_table_names())
    assert "number_sequences" not in after_tables and "number_ranges" in after_tables
    for table, rows in before.items():
        if table != "number_sequences":
            assert [{column: r[column] for column in rows[0]} for r in rows_of(path, table)] == rows, table
    assert [r["rate_mask"] for r in rows_of(path, "invoices")] == [None, None]  # one rate: ``rate``

    # the app reads the old invoices
    client = app.test_client()
    headers = {"Authorization": f"Bearer {MERCHANT_TOKEN}"}
    listed = client.get("/api/v1/invoices", headers=headers).get_json()
    assert listed["total"] == 2
    by_number = {i["number"]: i for i in listed["invoices"]}
    assert by_number["26531000000000000001"]["rates"] == [9]
    assert by_number["26531000000000000002"]["gross"] == 999999999999999
    assert by_number["26531000000000000001"]["tx_hash"] == "0x" + "a1" * 32

    # and writes what v2 adds: a multi-rate invoice, a number range, a second application
    # with the same tax ID (v1's UNIQUE would refuse it)
    from backend.services.invoices import as_dict
    from backend.core.models import Invoice, Merchant, NumberRange, User

    with app.app_context():
        s = db.session
        old = s.get(Invoice, 1)
        s.add(Invoice(number="26531000000000000003", key="0x" + "b3" * 32, user_id=2, seller_address=SELLER,
                      seller_name=old.seller_name, seller_tax_id=old.seller_tax_id, buyer_name=old.buyer_name,
                      buyer_tax_id=old.buyer_tax_id, issue_date="2026-02-01", issued_at=1769900000, rate=13,
                      rate_mask=(1 << 6) | (1 << 13), item_count=2, net=200, tax=20, gross=220, document="",
                      document_hash="0x" + "c3" * 32))
        s.add(NumberRange(merchant=SELLER, prefix=26531, first_seq=1000, last_seq=1999, next_seq=1000))
        other = User(username="applicant", password_hash="x", role="merchant")
        s.add(other)
        s.flush()
        s.add(Merchant(user_id=other.id, name="同一公司 Same company", tax_id=old.seller_tax_id, licence_number="L-2"))
        s.commit()
        new = s.query(Invoice).filter_by(number="26531000000000000003").one()
        assert as_dict(new)["rates"] == [6, 13]
        assert s.query(Merchant).filter_by(tax_id=old.seller_tax_id).count() == 2
        assert s.get(NumberRange, SELLER).next_seq == 1000
        db.engine.dispose()


@pytest.mark.parametrize("made_by", ["v1 then the pre-migration v2 code", "the pre-migration v2 code"])
def test_database_of_the_pre_migration_v2_code_is_upgraded(tmp_path, made_by):
    """Before migrations, v2's start-up added number_ranges (create_all) and
    invoices.rate_mask (ALTER TABLE) to a v1 database, or made a new one with create_all:
    no alembic_version either way. Such databases are stamped as the baseline too, and
    the upgrade does only what is missing."""
    sqlite_only()
    path = tmp_path / "einvoice.sqlite"
    if made_by.startswith("v1"):
        v1_database(path, extra_ddl="ALTER TABLE invoices ADD COLUMN rate_mask INTEGER;"
                                    "CREATE TABLE number_ranges (merchant VARCHAR(42) NOT NULL, prefix INTEGER NOT "
                                    "NULL, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL, next_seq BIGINT NOT "
                                    "NULL, updated_at DATETIME NOT NULL, PRIMARY KEY (merchant));"
                                    "INSERT INTO number_ranges VALUES ('0xM', 26531, 1, 100, 5, '2026-02-01');")
    else:
        conn = sqlite3.connect(path)
        conn.executescript(V2_BEFORE_MIGRATIONS.read_text()
                           + "INSERT INTO number_ranges VALUES ('0xM', 26531, 1, 100, 5, '2026-02-01');")
        conn.close()
    app = sqlite_app(tmp_path, path)
    with app.app_context():
        assert schema_revisions() == ((HEAD,), HEAD)
        db.engine.dispose()
    assert schema_diff(app) == []
    assert [r["next_seq"] for r in rows_of(path, "number_ranges")] == [5]


def test_downgrade_restores_the_previous_schema_and_back(tmp_path):
    sqlite_only()
    path = v1_database(tmp_path / "einvoice.sqlite")
    app = sqlite_app(tmp_path, path)
    with app.app_context():
        config = migrations_config()
        command.downgrade(config, BASELINE)
        db.engine.dispose()
    assert schema_of(path) == schema_of(v1_schema_only(tmp_path / "v1.sqlite"))
    # the last sequence per prefix, rebuilt from the invoice numbers
    assert rows_of(path, "number_sequences") == [{"prefix": "26531", "last": 2}]
    assert len(rows_of(path, "invoices")) == 2
    with app.app_context():
        with pytest.raises(RuntimeError, match="Downgrading below the baseline"):
            command.downgrade(config, "base")
        upgrade_database()
        assert schema_revisions() == ((HEAD,), HEAD)
        db.engine.dispose()
    assert schema_diff(app) == []


def test_downgrade_refuses_shared_tax_ids(tmp_path):
    sqlite_only()
    app = make_app(tmp_path)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO users (id, username, password_hash, role, active, created_at) VALUES "
                                 "(1, 'a', 'x', 'merchant', 1, '2026-01-01'), "
                                 "(2, 'b', 'x', 'merchant', 1, '2026-01-01')")
            conn.exec_driver_sql("INSERT INTO merchants (user_id, name, tax_id, licence_number, status, created_at, "
                                 "updated_at) VALUES (1, 'A', 'T1', 'L', 'pending', '2026-01-01', '2026-01-01'), "
                                 "(2, 'B', 'T1', 'L', 'pending', '2026-01-01', '2026-01-01')")
        command.downgrade(migrations_config(), V2)  # (the revisions after v2, if any)
        with pytest.raises(RuntimeError, match="无法降级.*T1"):
            command.downgrade(migrations_config(), BASELINE)
        assert schema_revisions()[0] == (V2,)
        db.engine.dispose()


def test_database_of_a_newer_release_is_refused(tmp_path):
    sqlite_only()
    path = tmp_path / "einvoice.sqlite"
    app = sqlite_app(tmp_path, path)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00dfeed'")
        db.engine.dispose()
    with pytest.raises(RuntimeError, match="数据库的结构版本 f00dfeed .*newer release"):
        sqlite_app(tmp_path, path)


def test_operator_commands_upgrade_and_check(tmp_path):
    """With DATABASE_AUTO_UPGRADE=0 the app leaves the database alone and the operator
    runs ``flask --app backend db upgrade``; ``db check`` then finds nothing to migrate."""
    sqlite_only()
    path = v1_database(tmp_path / "einvoice.sqlite")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "DATABASE_AUTO_UPGRADE": "0", "EINVOICE_ENV": "dev",
           "DEPLOYMENT_FILE": "/nonexistent/deployment.json", "KEYSTORE_DIR": str(tmp_path / "keystore")}
    env.pop("EINVOICE_DATABASE_URL", None)

    def flask(*args):
        return subprocess.run([sys.executable, "-m", "flask", "--app", "backend", "db", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    current = flask("current")
    assert current.returncode == 0, current.stderr
    assert current.stdout.split() == [BASELINE]  # stamped: a database of the previous release
    assert "number_sequences" in sa.inspect(sa.create_engine(f"sqlite:///{path}")).get_table_names()
    upgrade = flask("upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"Running upgrade {BASELINE} -> {V2}" in upgrade.stderr
    check = flask("check")
    assert check.returncode == 0, check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr
    assert len(rows_of(path, "invoices")) == 2
