"""receivables: the chain's view of each receivable, kept by the indexer (issue 11);
chain_events.receivable_id: the receivable a ledger event is about (its timeline).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=38, scale=0)
INDEXED = ('root_id', 'parent_id', 'invoice_key', 'creditor', 'holder', 'debtor', 'financier', 'status', 'due_at')


def upgrade():
    op.create_table(
        'receivables',
        sa.Column('id', sa.String(length=80), nullable=False),
        sa.Column('root_id', sa.String(length=80), nullable=False),
        sa.Column('parent_id', sa.String(length=80), nullable=True),
        sa.Column('invoice_key', sa.String(length=66), nullable=False),
        sa.Column('creditor', sa.String(length=42), nullable=False),
        sa.Column('holder', sa.String(length=42), nullable=False),
        sa.Column('debtor', sa.String(length=42), nullable=False),
        sa.Column('financier', sa.String(length=42), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('amount', MONEY, nullable=False),
        sa.Column('paid', MONEY, nullable=False),
        sa.Column('advance', MONEY, nullable=False),
        sa.Column('fee', MONEY, nullable=False),
        sa.Column('repaid', MONEY, nullable=False),
        sa.Column('due_at', sa.BigInteger(), nullable=False),
        sa.Column('created_at_chain', sa.BigInteger(), nullable=False),
        sa.Column('synced_block', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('receivables', schema=None) as batch_op:
        for column in INDEXED:
            batch_op.create_index(batch_op.f(f'ix_receivables_{column}'), [column], unique=False)
    with op.batch_alter_table('chain_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receivable_id', sa.String(length=80), nullable=True))
        batch_op.create_index(batch_op.f('ix_chain_events_receivable_id'), ['receivable_id'], unique=False)


def downgrade():
    with op.batch_alter_table('chain_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chain_events_receivable_id'))
        batch_op.drop_column('receivable_id')
    with op.batch_alter_table('receivables', schema=None) as batch_op:
        for column in INDEXED:
            batch_op.drop_index(batch_op.f(f'ix_receivables_{column}'))
    op.drop_table('receivables')
