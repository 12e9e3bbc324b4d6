"""The lists' search index (migration 0012): on SQLite, an FTS5 trigram table kept in step by
triggers, used for terms of 3 characters or more; the results are exactly LIKE's (a
substring, ASCII case-insensitive; LIKE's wildcards and FTS5's syntax are text). On
PostgreSQL, a pg_trgm GIN index that LIKE uses, left out where the extension cannot be made."""
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import insert, text

from backend.core.db import SEARCH_PG_INDEX, db, migrations_config, schema_revisions, upgrade_database
from backend.core.models import Invoice, User, token_digest
from backend.services import invoices

from backendutil import make_app

TOKEN = "einv_search-authority"
NAMES = ["昆明示例商贸有限公司", "示例客户0001有限公司", "示例客户0012有限公司", "Acme Trading Ltd", "ACME trading",
         'He said "hi" Ltd', "100% Cotton_Shirt Co", "100x Cotton-Shirt Co", "Tom AND Jerry", "Star * Co",
         "NEAR(a b) Holdings", "École Française", "école française", "it's a shop", "{buyer_name} : x", "ab"]
TERMS = ["示例", "示例客户", "示例客户0001", "0001", "有限公司", "2653", "00000000000000000003", "acme", "ACME TRADING",
         "me tr", "a", "ab", "Co", '"', '"hi"', 'd "h', "%", "100%", "_", "n_s", "Cotton_", "AND", "tom and",
         "AND Jerry", "*", "Star *", "NEAR(", "NEAR(a b)", "école", "ÉCOLE", "cole", "'", "it's", "{buyer_name}",
         " : ", "^Acme", "zzz", "公司公司", "  acme  "]


def ascii_lower(s):
    return s.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))


def like(term, *values):
    """SQLite's LIKE '%term%' with the wildcards escaped: a substring, ASCII case-insensitive."""
    return any(ascii_lower(term.strip()) in ascii_lower(v) for v in values)


def row(n, **over):
    number = f"2653100000000000{n:04d}"
    base = {"number": number, "key": "0x" + number.rjust(64, "0"), "seller_address": "0x" + f"{n % 3}" * 40,
            "seller_name": NAMES[(n + 5) % len(NAMES)], "seller_tax_id": "91530000MA6N00000" + "XY"[n % 2],
            "buyer_name": NAMES[n % len(NAMES)], "buyer_tax_id": f"91530100MB{n:07d}X", "issue_date": "2026-01-05",
            "issued_at": 0, "invoice_type": 0, "rate": 13, "item_count": 1, "net": 100, "tax": 13, "gross": 113,
            "document": "", "document_hash": "0x", "is_red_letter": False, "state": "issued",
            "chain_status": ["Issued", "Flagged"][n % 2], "flags": 0}
    return {**base, **over}


def numbers(query):
    return sorted(i.number for i in query.all())


def found(**filters):
    return numbers(invoices.search(db.session.query(Invoice), **filters))


def by_index(term, columns):
    """The invoices the trigram index alone finds (no LIKE)."""
    return numbers(db.session.query(Invoice).filter(Invoice.id.in_(invoices.candidates(term.strip(), columns))))


def integrity_check():
    """FTS5's check of the index against the invoices (external content: rank 1); raises if
    they differ."""
    db.session.execute(text("INSERT INTO invoice_search (invoice_search, rank) VALUES ('integrity-check', 1)"))


@pytest.fixture
def search_app(tmp_path):
    app = make_app(tmp_path)
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the trigram table is SQLite's (PostgreSQL: test_postgresql_* below)")
        db.session.execute(insert(Invoice), [row(n) for n in range(len(NAMES) * 2)])
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_results_are_exactly_like_for_every_term(search_app):
    with search_app.app_context():
        rows = db.session.query(Invoice).all()
        for term in TERMS:
            expected = sorted(i.number for i in rows if like(term, i.number, i.buyer_name, i.seller_name))
            assert found(q=term) == expected, term
            expected = sorted(i.number for i in rows if like(term, i.buyer_name, i.buyer_tax_id))
            assert found(buyer=term) == expected, term
        assert found(q="示例客户0001") and found(q="%") == found(q="100%") and found(q="zzz") == []
        assert found(buyer="91530100mb0000003x") == ["26531000000000000003"]  # a tax ID in lower case
        assert invoices.candidates("Acme\x00 Trading", ("buyer_name",)) is None  # a NUL would end the FTS5 query
        found(q="Acme\x00 Trading")  # LIKE alone: no FTS5 syntax error


def test_the_index_names_a_superset_of_like(search_app, monkeypatch):
    """The index's candidates hold LIKE's rows (it folds É to é too, where LIKE does not);
    a distinctive term's are exactly them. Terms of 1-2 characters, and terms in more than
    MAX_CANDIDATES invoices, are LIKE's alone."""
    columns = ("number", "buyer_name", "seller_name")
    with search_app.app_context():
        rows = db.session.query(Invoice).all()
        for term in TERMS:
            if len(term.strip()) < 3:
                assert invoices.candidates(term.strip(), columns) is None, term
                continue
            expected = sorted(i.number for i in rows if like(term, i.number, i.buyer_name, i.seller_name))
            assert set(by_index(term, columns)) >= set(expected), term
        for term in ["Tom AND Jerry", "NEAR(a b)", "Cotton_Shirt", "0000000000003", 'He said "hi"']:
            expected = sorted(i.number for i in rows if like(term, i.number, i.buyer_name, i.seller_name))
            assert expected and by_index(term, columns) == expected, term
        assert len(by_index("ÉCOLE", columns)) > len(found(q="ÉCOLE")) > 0
        monkeypatch.setattr(invoices, "MAX_CANDIDATES", 3)
        assert invoices.candidates("有限公司", columns) is None and len(found(q="有限公司")) > 3


def test_the_index_decides_which_rows_like_reads(search_app):
    """A row the index does not have (its insert trigger dropped here) is not found by a term
    of 3 characters or more, and is by a shorter one (LIKE alone): the index is used."""
    with search_app.app_context():
        db.session.execute(text("DROP TRIGGER invoice_search_insert"))
        db.session.add(Invoice(**row(901, buyer_name="Qx 未编入索引")))
        db.session.commit()
        assert found(q="Qx 未编") == [] and found(q="Qx") == ["26531000000000000901"]


def test_search_with_the_merchant_and_status_filters(search_app):
    with search_app.app_context():
        merchant = User(username="m", role="merchant", password_hash="x", address="0x" + "1" * 40)
        db.session.add(merchant)
        db.session.commit()
        mine = [i for i in db.session.query(Invoice).all() if i.seller_address == merchant.address]
        expected = sorted(i.number for i in mine if like("acme", i.buyer_name, i.seller_name)
                          and i.chain_status == "Flagged")
        assert expected and found(user=merchant, q="acme", status="Flagged") == expected


def test_triggers_keep_the_index_in_step(search_app):
    columns = ("number", "buyer_name", "seller_name")
    with search_app.app_context():
        db.session.add(Invoice(**row(900, buyer_name="新买方 Brand-New Buyer")))
        db.session.commit()
        assert by_index("brand-new", columns) == ["26531000000000000900"]
        inv = db.session.query(Invoice).filter_by(number="26531000000000000900").one()
        inv.buyer_name = "改名 Renamed Buyer"
        db.session.commit()
        assert by_index("brand-new", columns) == [] and by_index("renamed", columns) == ["26531000000000000900"]
        inv.state = "failed"  # a column not indexed: the row stays found
        db.session.commit()
        assert by_index("renamed", columns) == ["26531000000000000900"]
        db.session.execute(sa.update(Invoice).where(Invoice.number.like("%0001")).values(buyer_name="Core Update"))
        db.session.delete(inv)
        db.session.commit()
        assert by_index("renamed", columns) == [] and by_index("core update", columns) == ["26531000000000000001"]
        integrity_check()


def test_api_search_with_query_syntax_is_text(search_app):
    with search_app.app_context():
        db.session.add(User(username="authority", role="authority", password_hash="x", api_token_hash=token_digest(TOKEN)))
        db.session.commit()
    client = search_app.test_client()
    for term in ['NEAR(', '"', 'AND', '*', 'a OR b', '(', '{x}:', '^', 'x" OR "y']:
        answer = client.get("/api/v1/invoices", query_string={"q": term}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200, term
    listed = client.get("/api/v1/invoices", query_string={"q": "NEAR(a b)"}, headers={"Authorization": f"Bearer {TOKEN}"})
    names = [(i["buyer"]["name"], i["seller"]["name"]) for i in listed.get_json()["invoices"]]
    assert names and all("NEAR(a b) Holdings" in pair for pair in names)
    assert listed.get_json()["total"] == len(found_in_app(search_app, q="NEAR(a b)"))


def found_in_app(app, **filters):
    with app.app_context():
        return found(**filters)


def sqlite_search_objects():
    return {r[0] for r in db.session.execute(text(
        "SELECT name FROM sqlite_master WHERE name LIKE 'invoice_search%'"))}


def test_migration_indexes_an_existing_database_and_downgrades(tmp_path):
    app = make_app(tmp_path, DATABASE_AUTO_UPGRADE=False)
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("builds its own SQLite database")
        upgrade_database("0011")
        assert sqlite_search_objects() == set()
        db.session.execute(insert(Invoice), [row(n) for n in range(40)])
        db.session.commit()
        upgrade_database()
        current, head = schema_revisions()
        assert current == (head,)
        assert {"invoice_search", "invoice_search_insert", "invoice_search_update",
                "invoice_search_delete"} <= sqlite_search_objects()
        integrity_check()
        rows = db.session.query(Invoice).all()
        expected = sorted(i.number for i in rows if like("示例客户", i.number, i.buyer_name, i.seller_name))
        assert len(expected) > 2 and by_index("示例客户", ("number", "buyer_name", "seller_name")) == expected
        db.session.commit()
        command.downgrade(migrations_config(), "0011")
        assert sqlite_search_objects() == set()
        db.session.commit()
        upgrade_database()
        integrity_check()
        db.engine.dispose()


# ---------------------------------------------------------------- PostgreSQL
def pg_app(tmp_path, url):
    return make_app(tmp_path, SQLALCHEMY_DATABASE_URI=None, DATABASE_URL=url)


def index_names():
    return {i["name"] for i in sa.inspect(db.engine).get_indexes("invoices")}


def pg_index_used(app):
    with app.app_context():
        db.session.execute(text("SET enable_seqscan = off"))
        query = invoices.search(db.session.query(Invoice), q="acme").order_by(None)
        sql = str(query.statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(r[0] for r in db.session.execute(text("EXPLAIN " + sql)))
        db.session.rollback()
        return SEARCH_PG_INDEX in plan


def test_postgresql_trigram_index_serves_like(postgres, tmp_path):
    app = pg_app(tmp_path, postgres.create_database("search_index"))
    with app.app_context():
        db.session.execute(insert(Invoice), [row(n) for n in range(40)])
        db.session.commit()
        rows = db.session.query(Invoice).all()
        for term in ("Acme", "示例客户", "100%", "n_s", "NEAR(", "a"):  # PostgreSQL's LIKE: case-sensitive
            expected = sorted(i.number for i in rows if any(term in v for v in (i.number, i.buyer_name, i.seller_name)))
            assert found(q=term) == expected, term
    assert pg_index_used(app)
    with app.app_context():
        assert SEARCH_PG_INDEX in index_names()
        command.downgrade(migrations_config(), "0011")
        assert SEARCH_PG_INDEX not in index_names()
        db.engine.dispose()


def test_postgresql_without_the_extension_migrates_without_the_index(postgres, tmp_path):
    """A role that may not create extensions: the migration leaves the index out, search works."""
    url = postgres.create_database("search_plain")
    with sa.create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text("DROP ROLE IF EXISTS plain"))
        conn.execute(text("CREATE ROLE plain LOGIN"))
        conn.execute(text("GRANT ALL ON SCHEMA public TO plain"))
    app = pg_app(tmp_path, url.replace("postgres@", "plain@"))
    with app.app_context():
        assert SEARCH_PG_INDEX not in index_names()
        db.session.execute(insert(Invoice), [row(n) for n in range(5)])
        db.session.commit()
        assert found(q="0003") == ["26531000000000000003"]
        db.engine.dispose()

