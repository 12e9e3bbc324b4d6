"""signer_nonces: each sender's next nonce, kept in the database.

The nonce is taken in the transaction that journals the outbox row, so a request that
rolls back gives its nonce back (no gap on chain) and several backend processes share
one counter (row lock on PostgreSQL, the single writer on SQLite).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 22:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    # no rows: a sender's counter starts at max(chain pending nonce, highest journaled nonce + 1)
    op.create_table('signer_nonces',
                    sa.Column('chain_id', sa.Integer(), nullable=False),
                    sa.Column('sender', sa.String(length=42), nullable=False),
                    sa.Column('next_nonce', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('chain_id', 'sender'))


def downgrade():
    op.drop_table('signer_nonces')
