"""dashboards (issue 13): pre-aggregated invoice figures, their change log and its triggers;
two covering indexes of invoices.

analytics_seller_day / _seller_month / _platform_day / _rate_day / _buyer_month hold the
invoices' counts and amounts by seller, day or month, region, status, rate, buyer
(services.analytics_store). A trigger
on invoices writes the seller and issue date of every row inserted, changed or deleted into
analytics_changes, whatever writes it (the ORM, the bulk paths' Core statements, the
indexer, a script filling the table): the next refresh recomputes those days from the
invoices. The invoices already there are logged here, so the first refresh builds it all.

SQLite drops a table's triggers with the table: a later migration that rebuilds ``invoices``
(Alembic's batch mode on SQLite) must create them again (``create_triggers``);
tests/backend/test_backend_analytics.py checks that the newest schema has them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=38, scale=0)
WITHOUT_ROWID = {'sqlite_with_rowid': False}
# a change of any of these columns changes a figure (or the day or seller it is counted under)
WATCHED = ('number', 'seller_address', 'issue_date', 'state', 'chain_status', 'flags', 'is_red_letter', 'rate',
           'rate_mask', 'net', 'tax', 'gross', 'document')


def _figures():
    return [sa.Column('n', sa.Integer(), nullable=False), sa.Column('net', MONEY, nullable=False),
            sa.Column('tax', MONEY, nullable=False), sa.Column('gross', MONEY, nullable=False)]


def _kind():
    return [sa.Column('status', sa.String(length=16), nullable=False),
            sa.Column('red_letter', sa.Boolean(), nullable=False),
            sa.Column('flagged', sa.Boolean(), nullable=False)]


def create_triggers():
    """The triggers that log each inserted, changed or deleted invoice row (its seller and
    issue date; a change that moves it: both)."""
    log = "INSERT INTO analytics_changes (seller_address, issue_date) VALUES ({0}.seller_address, {0}.issue_date)"
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f"CREATE TRIGGER analytics_invoice_insert AFTER INSERT ON invoices BEGIN {log.format('NEW')}; END")
        op.execute(f"CREATE TRIGGER analytics_invoice_delete AFTER DELETE ON invoices BEGIN {log.format('OLD')}; END")
        op.execute(
            f"CREATE TRIGGER analytics_invoice_update AFTER UPDATE OF {', '.join(WATCHED)} ON invoices BEGIN "
            f"{log.format('NEW')}; "
            "INSERT INTO analytics_changes (seller_address, issue_date) SELECT OLD.seller_address, OLD.issue_date "
            "WHERE OLD.seller_address IS NOT NEW.seller_address OR OLD.issue_date IS NOT NEW.issue_date; END")
        return
    op.execute(f"""
        CREATE OR REPLACE FUNCTION analytics_log_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN {log.format('OLD')}; END IF;
            IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR OLD.seller_address IS DISTINCT FROM NEW.seller_address
                                      OR OLD.issue_date IS DISTINCT FROM NEW.issue_date) THEN
                {log.format('NEW')};
            END IF;
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER analytics_invoice_insert_delete AFTER INSERT OR DELETE ON invoices "
               "FOR EACH ROW EXECUTE PROCEDURE analytics_log_invoice()")
    op.execute(f"CREATE TRIGGER analytics_invoice_update AFTER UPDATE OF {', '.join(WATCHED)} ON invoices "
               "FOR EACH ROW EXECUTE PROCEDURE analytics_log_invoice()")


def drop_triggers():
    if op.get_bind().dialect.name == 'sqlite':
        for name in ('insert', 'delete', 'update'):
            op.execute(f"DROP TRIGGER IF EXISTS analytics_invoice_{name}")
        return
    op.execute("DROP TRIGGER IF EXISTS analytics_invoice_insert_delete ON invoices")
    op.execute("DROP TRIGGER IF EXISTS analytics_invoice_update ON invoices")
    op.execute("DROP FUNCTION IF EXISTS analytics_log_invoice()")


def upgrade():
    op.create_table(
        'analytics_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seller_address', sa.String(length=42), nullable=False),
        sa.Column('issue_date', sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'analytics_seller_day',
        sa.Column('seller_address', sa.String(length=42), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('region', sa.String(length=2), nullable=False),
        *_kind(), *_figures(),
        sa.PrimaryKeyConstraint('seller_address', 'day', 'region', 'status', 'red_letter', 'flagged'),
        **WITHOUT_ROWID,
    )
    op.create_index('ix_analytics_seller_day_day', 'analytics_seller_day', ['day'], unique=False)
    op.create_table(
        'analytics_seller_month',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('seller_address', sa.String(length=42), nullable=False),
        sa.Column('region', sa.String(length=2), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('notes', sa.Integer(), nullable=False),
        sa.Column('net', MONEY, nullable=False),
        sa.Column('tax', MONEY, nullable=False),
        sa.Column('gross', MONEY, nullable=False),
        sa.PrimaryKeyConstraint('month', 'seller_address', 'region'),
        **WITHOUT_ROWID,
    )
    op.create_table(
        'analytics_platform_day',
        sa.Column('day', sa.String(length=10), nullable=False),
        *_kind(), *_figures(),
        sa.PrimaryKeyConstraint('day', 'status', 'red_letter', 'flagged'),
        **WITHOUT_ROWID,
    )
    op.create_table(
        'analytics_buyer_month',
        sa.Column('seller_address', sa.String(length=42), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('buyer_tax_id', sa.String(length=20), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('gross', MONEY, nullable=False),
        sa.PrimaryKeyConstraint('seller_address', 'month', 'buyer_tax_id'),
        **WITHOUT_ROWID,
    )
    op.create_table(
        'analytics_rate_day',
        sa.Column('seller_address', sa.String(length=42), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('rate', sa.Integer(), nullable=False),
        *_figures(),
        sa.PrimaryKeyConstraint('seller_address', 'day', 'rate'),
        **WITHOUT_ROWID,
    )
    op.create_index('ix_invoices_seller_day_buyer', 'invoices',
                    ['seller_address', 'issue_date', 'buyer_tax_id', 'state', 'chain_status', 'is_red_letter',
                     'gross'], unique=False)
    op.create_index('ix_invoices_status_created_at', 'invoices', ['chain_status', 'created_at', 'gross'], unique=False)
    create_triggers()
    op.execute("INSERT INTO analytics_changes (seller_address, issue_date) "
               "SELECT DISTINCT seller_address, issue_date FROM invoices")


def downgrade():
    drop_triggers()
    op.drop_index('ix_invoices_status_created_at', table_name='invoices')
    op.drop_index('ix_invoices_seller_day_buyer', table_name='invoices')
    op.drop_table('analytics_rate_day')
    op.drop_table('analytics_buyer_month')
    op.drop_table('analytics_platform_day')
    op.drop_table('analytics_seller_month')
    op.drop_index('ix_analytics_seller_day_day', table_name='analytics_seller_day')
    op.drop_table('analytics_seller_day')
    op.drop_table('analytics_changes')
