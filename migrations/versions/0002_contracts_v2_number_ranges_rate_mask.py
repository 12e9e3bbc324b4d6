"""Contracts v2: merchants' number ranges, multi-rate invoices, tax ID not unique.

* ``number_ranges``: each merchant's invoice-number range (号段) allocated on chain,
  and the next number the platform hands out;
* ``number_sequences`` (v1's global counter per prefix) is dropped: nothing reads it
  since v2 (numbers come from the ranges). What it held — the last sequence number per
  prefix — is in ``invoices.number``; the downgrade rebuilds it from there;
* ``invoices.rate_mask``: bit r set = the invoice has lines at rate r %; NULL on the
  invoices written before (one rate: ``rate``), which keep it NULL;
* ``merchants.tax_id``: no longer UNIQUE (a pending application reserves no tax ID,
  as in MerchantRegistry), indexed instead.

Every step looks first whether it is needed: a database of the previous release that
the pre-migration code of v2 already started (``create_all`` added ``number_ranges``,
an ``ALTER TABLE`` added ``rate_mask``) is stamped as the baseline like any other and
upgraded here too. Existing rows are kept (SQLite's batch mode copies the table).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# names for SQLite's unnamed constraints, so batch mode can drop one (Alembic's batch docs)
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def tax_id_unique_constraints(inspector):
    return [uc for uc in inspector.get_unique_constraints("merchants") if uc["column_names"] == ["tax_id"]]


def upgrade():
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())

    if "number_ranges" not in tables:
        op.create_table(
            'number_ranges',
            sa.Column('merchant', sa.String(length=42), nullable=False),
            sa.Column('prefix', sa.Integer(), nullable=False),
            sa.Column('first_seq', sa.BigInteger(), nullable=False),
            sa.Column('last_seq', sa.BigInteger(), nullable=False),
            sa.Column('next_seq', sa.BigInteger(), nullable=False),
            sa.Column('updated_at', sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint('merchant'),
        )
    if "number_sequences" in tables:
        op.drop_table('number_sequences')

    if "rate_mask" not in {c["name"] for c in inspector.get_columns("invoices")}:
        with op.batch_alter_table('invoices') as batch_op:
            batch_op.add_column(sa.Column('rate_mask', sa.Integer(), nullable=True))

    unique = tax_id_unique_constraints(inspector)
    indexed = "ix_merchants_tax_id" in {ix["name"] for ix in inspector.get_indexes("merchants")}
    if unique or not indexed:
        with op.batch_alter_table('merchants', naming_convention=NAMING) as batch_op:
            for constraint in unique:
                # PostgreSQL: merchants_tax_id_key; SQLite: unnamed, named by NAMING
                batch_op.drop_constraint(constraint["name"] or "uq_merchants_tax_id", type_='unique')
            if not indexed:
                batch_op.create_index('ix_merchants_tax_id', ['tax_id'], unique=False)


def downgrade():
    bind = op.get_bind()
    shared = bind.execute(sa.text(
        "SELECT tax_id FROM merchants GROUP BY tax_id HAVING COUNT(*) > 1")).scalars().all()
    if shared:
        raise RuntimeError(
            f"无法降级：多个商户使用同一税号 {', '.join(shared)}（旧版本要求税号唯一）。Cannot downgrade: several "
            f"merchants have the tax ID {', '.join(shared)}, which the previous release requires to be unique.")
    with op.batch_alter_table('merchants', naming_convention=NAMING) as batch_op:
        batch_op.drop_index('ix_merchants_tax_id')
        batch_op.create_unique_constraint('merchants_tax_id_key', ['tax_id'])  # PostgreSQL's own name

    with op.batch_alter_table('invoices') as batch_op:
        batch_op.drop_column('rate_mask')

    op.create_table(
        'number_sequences',
        sa.Column('prefix', sa.String(length=5), nullable=False),
        sa.Column('last', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('prefix'),
    )
    # the last sequence number used per 5-digit prefix, from the 20-digit invoice numbers
    op.execute(
        "INSERT INTO number_sequences (prefix, last) "
        "SELECT substr(number, 1, 5), MAX(CAST(substr(number, 6) AS BIGINT)) FROM invoices "
        "WHERE length(number) = 20 GROUP BY substr(number, 1, 5)")
    op.drop_table('number_ranges')
