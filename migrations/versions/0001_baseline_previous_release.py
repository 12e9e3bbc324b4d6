"""Baseline: the schema of the previous release (5e8cc88, contracts v1).

The tables as that release's ``create_all`` made them from its backend/models.py: a
global ``number_sequences`` table, ``merchants.tax_id`` UNIQUE, no
``invoices.rate_mask``, no ``number_ranges``.

A database of that release has these tables and no ``alembic_version`` table:
migrations/env.py stamps it with this revision instead of running it. Do not edit this
revision: a change of schema is a new revision.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('password_hash', sa.String(length=256), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('address', sa.String(length=42), nullable=True),
        sa.Column('api_token_hash', sa.String(length=64), nullable=True),
        sa.Column('buyer_tax_id', sa.String(length=20), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('address'),
        sa.UniqueConstraint('api_token_hash'),
        sa.UniqueConstraint('username'),
    )
    op.create_index('ix_users_role', 'users', ['role'], unique=False)

    op.create_table(
        'merchants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('tax_id', sa.String(length=18), nullable=False),
        sa.Column('licence_number', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tax_id'),
        sa.UniqueConstraint('user_id'),
    )

    op.create_table(
        'number_sequences',
        sa.Column('prefix', sa.String(length=5), nullable=False),
        sa.Column('last', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('prefix'),
    )

    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('chain_id', sa.Integer(), nullable=False),
        sa.Column('sender', sa.String(length=42), nullable=False),
        sa.Column('nonce', sa.BigInteger(), nullable=False),
        sa.Column('tx_hash', sa.String(length=66), nullable=False),
        sa.Column('raw_tx', sa.Text(), nullable=False),
        sa.Column('contract', sa.String(length=64), nullable=False),
        sa.Column('function', sa.String(length=64), nullable=False),
        sa.Column('ref', sa.String(length=80), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('block_number', sa.BigInteger(), nullable=True),
        sa.Column('gas_used', sa.BigInteger(), nullable=True),
        sa.Column('broadcasts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('sender', 'nonce', 'chain_id'),
        sa.UniqueConstraint('tx_hash'),
    )
    op.create_index('ix_outbox_ref', 'outbox', ['ref'], unique=False)
    op.create_index('ix_outbox_sender', 'outbox', ['sender'], unique=False)
    op.create_index('ix_outbox_status', 'outbox', ['status'], unique=False)

    op.create_table(
        'invoices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=20), nullable=False),
        sa.Column('key', sa.String(length=66), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('seller_address', sa.String(length=42), nullable=False),
        sa.Column('seller_name', sa.String(length=200), nullable=False),
        sa.Column('seller_tax_id', sa.String(length=18), nullable=False),
        sa.Column('buyer_name', sa.String(length=200), nullable=False),
        sa.Column('buyer_tax_id', sa.String(length=20), nullable=False),
        sa.Column('issue_date', sa.String(length=10), nullable=False),
        sa.Column('issued_at', sa.BigInteger(), nullable=False),
        sa.Column('invoice_type', sa.Integer(), nullable=False),
        sa.Column('rate', sa.Integer(), nullable=False),
        sa.Column('item_count', sa.Integer(), nullable=False),
        sa.Column('net', sa.Numeric(precision=38, scale=0), nullable=False),
        sa.Column('tax', sa.Numeric(precision=38, scale=0), nullable=False),
        sa.Column('gross', sa.Numeric(precision=38, scale=0), nullable=False),
        sa.Column('document', sa.Text(), nullable=False),
        sa.Column('document_hash', sa.String(length=66), nullable=False),
        sa.Column('is_red_letter', sa.Boolean(), nullable=False),
        sa.Column('original_number', sa.String(length=20), nullable=True),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('chain_status', sa.String(length=16), nullable=True),
        sa.Column('flags', sa.Integer(), nullable=False),
        sa.Column('check_code', sa.String(length=20), nullable=True),
        sa.Column('outbox_id', sa.Integer(), nullable=True),
        sa.Column('idempotency_key', sa.String(length=128), nullable=True),
        sa.Column('request_fingerprint', sa.String(length=64), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
        sa.UniqueConstraint('number'),
        sa.UniqueConstraint('user_id', 'idempotency_key'),
    )
    op.create_index('ix_invoices_buyer_name', 'invoices', ['buyer_name'], unique=False)
    op.create_index('ix_invoices_buyer_tax_id', 'invoices', ['buyer_tax_id'], unique=False)
    op.create_index('ix_invoices_chain_status', 'invoices', ['chain_status'], unique=False)
    op.create_index('ix_invoices_created_at', 'invoices', ['created_at'], unique=False)
    op.create_index('ix_invoices_document_hash', 'invoices', ['document_hash'], unique=False)
    op.create_index('ix_invoices_issue_date', 'invoices', ['issue_date'], unique=False)
    op.create_index('ix_invoices_original_number', 'invoices', ['original_number'], unique=False)
    op.create_index('ix_invoices_seller_address', 'invoices', ['seller_address'], unique=False)
    op.create_index('ix_invoices_state', 'invoices', ['state'], unique=False)
    op.create_index('ix_invoices_user_id', 'invoices', ['user_id'], unique=False)

    op.create_table(
        'chain_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contract', sa.String(length=64), nullable=False),
        sa.Column('event', sa.String(length=64), nullable=False),
        sa.Column('block_number', sa.BigInteger(), nullable=False),
        sa.Column('block_time', sa.BigInteger(), nullable=True),
        sa.Column('tx_hash', sa.String(length=66), nullable=False),
        sa.Column('log_index', sa.Integer(), nullable=False),
        sa.Column('invoice_key', sa.String(length=66), nullable=True),
        sa.Column('related_key', sa.String(length=66), nullable=True),
        sa.Column('account', sa.String(length=42), nullable=True),
        sa.Column('args', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tx_hash', 'log_index'),
    )
    op.create_index('ix_chain_events_account', 'chain_events', ['account'], unique=False)
    op.create_index('ix_chain_events_block_number', 'chain_events', ['block_number'], unique=False)
    op.create_index('ix_chain_events_contract', 'chain_events', ['contract'], unique=False)
    op.create_index('ix_chain_events_event', 'chain_events', ['event'], unique=False)
    op.create_index('ix_chain_events_invoice_key', 'chain_events', ['invoice_key'], unique=False)
    op.create_index('ix_chain_events_related_key', 'chain_events', ['related_key'], unique=False)

    op.create_table(
        'indexer_cursors',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('last_block', sa.BigInteger(), nullable=False),
        sa.Column('chain_id', sa.Integer(), nullable=True),
        sa.Column('block_hash', sa.String(length=66), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )

    op.create_table(
        'verifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('client', sa.String(length=64), nullable=True),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=True),
        sa.Column('query', sa.Text(), nullable=False),
        sa.Column('result', sa.String(length=16), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_verifications_created_at', 'verifications', ['created_at'], unique=False)
    op.create_index('ix_verifications_number', 'verifications', ['number'], unique=False)
    op.create_index('ix_verifications_result', 'verifications', ['result'], unique=False)
    op.create_index('ix_verifications_user_id', 'verifications', ['user_id'], unique=False)


def downgrade():
    raise RuntimeError(
        "不支持降级到第一个版本之前（会删除所有表）。Downgrading below the baseline is not supported: it would drop "
        "every table. To start from nothing, use a new database.")
