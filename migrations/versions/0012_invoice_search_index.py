"""invoice search index (issue 13): the lists' substring search (q, buyer) without reading
every invoice.

SQLite: ``invoice_search``, an FTS5 table with the trigram tokenizer (SQLite 3.34 or newer)
over invoices' number, buyer_name, seller_name and buyer_tax_id. It is an external-content
table (content=invoices): it holds only the index, the text stays in invoices. Triggers on
invoices keep it in step with every insert, update and delete, whatever writes the table;
the invoices already there are indexed here ('rebuild'). services.invoices.search looks a
query of 3 or more characters up in it.

PostgreSQL: a pg_trgm GIN index over the same columns, which LIKE and ILIKE use. Where the
extension cannot be created (not installed, or no privilege) the index is left out with a
warning: search still works, by reading the table. The downgrade leaves the extension.

SQLite drops a table's triggers with the table: a later migration that rebuilds ``invoices``
(Alembic's batch mode on SQLite) must create them again (``create_triggers``);
tests/backend/test_backend_search_index.py checks that the newest schema keeps the index
in step.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 18:00:00.000000

"""
import logging

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')
COLUMNS = ('number', 'buyer_name', 'seller_name', 'buyer_tax_id')
PG_INDEX = 'ix_invoices_search_trgm'


def _values(row):
    return ', '.join(f'{row}.{c}' for c in ('id',) + COLUMNS)


def create_triggers():
    """Every change of an indexed column of invoices, written into invoice_search (an
    external-content table is told the old values to remove: the 'delete' command)."""
    names = ', '.join(COLUMNS)
    add = f"INSERT INTO invoice_search (rowid, {names}) VALUES ({_values('NEW')})"
    remove = f"INSERT INTO invoice_search (invoice_search, rowid, {names}) VALUES ('delete', {_values('OLD')})"
    op.execute(f"CREATE TRIGGER invoice_search_insert AFTER INSERT ON invoices BEGIN {add}; END")
    op.execute(f"CREATE TRIGGER invoice_search_delete AFTER DELETE ON invoices BEGIN {remove}; END")
    op.execute(f"CREATE TRIGGER invoice_search_update AFTER UPDATE OF id, {names} ON invoices BEGIN "
               f"{remove}; {add}; END")


def drop_triggers():
    for name in ('insert', 'delete', 'update'):
        op.execute(f"DROP TRIGGER IF EXISTS invoice_search_{name}")


def _pg_trgm():
    """True when the pg_trgm extension is there or could be created (in a savepoint: a
    failure must not abort the migration's transaction)."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        return True
    except sa.exc.DBAPIError as exc:
        log.warning("pg_trgm 扩展无法创建，发票搜索不建索引（仍可搜索，但需全表扫描）。The pg_trgm extension could not "
                    "be created: invoice search works without its index, reading the table (%s)",
                    str(exc.orig).strip())
        return False


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f"CREATE VIRTUAL TABLE invoice_search USING fts5({', '.join(COLUMNS)}, "
                   "content='invoices', content_rowid='id', tokenize='trigram')")
        op.execute("INSERT INTO invoice_search (invoice_search) VALUES ('rebuild')")
        create_triggers()
    elif op.get_bind().dialect.name == 'postgresql' and _pg_trgm():
        op.execute(f"CREATE INDEX {PG_INDEX} ON invoices USING gin "
                   f"({', '.join(c + ' gin_trgm_ops' for c in COLUMNS)})")


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        drop_triggers()
        op.execute("DROP TABLE IF EXISTS invoice_search")
    elif op.get_bind().dialect.name == 'postgresql':
        op.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
