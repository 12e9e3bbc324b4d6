"""chain_events.block_hash: the hash of the block each indexed event was read from.

The indexer compares it (and its cursor's block hash) with the chain at every run: a
chain restored from an older state or reorganised is detected, the events after the
last block that still matches are deleted and indexed again. Rows indexed before this
revision have none (NULL): they are re-checked by block number only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('chain_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('block_hash', sa.String(length=66), nullable=True))


def downgrade():
    with op.batch_alter_table('chain_events', schema=None) as batch_op:
        batch_op.drop_column('block_hash')
