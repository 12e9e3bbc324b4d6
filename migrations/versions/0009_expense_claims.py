"""expense_claims and payment_lists: reimbursement in the buyer company (issue 12).

An employee's claim of one invoice (verified on chain at submission), approved by finance
(the invoice marked claimed on the ExpenseClaims contract) and paid through a payment list
whose hash and total are registered on chain. New tables only: nothing existing changes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=38, scale=0)


def upgrade():
    op.create_table(
        'payment_lists',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_tax_id', sa.String(length=20), nullable=False),
        sa.Column('list_hash', sa.String(length=66), nullable=False),
        sa.Column('document', sa.Text(), nullable=False),
        sa.Column('total', MONEY, nullable=False),
        sa.Column('claim_count', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('register_tx', sa.String(length=66), nullable=True),
        sa.Column('payment_ref', sa.String(length=100), nullable=True),
        sa.Column('paid_at', sa.DateTime(), nullable=True),
        sa.Column('pay_tx', sa.String(length=66), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('list_hash'),
    )
    with op.batch_alter_table('payment_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_lists_company_tax_id'), ['company_tax_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_lists_status'), ['status'], unique=False)
    op.create_table(
        'expense_claims',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_tax_id', sa.String(length=20), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('invoice_number', sa.String(length=20), nullable=False),
        sa.Column('invoice_key', sa.String(length=66), nullable=False),
        sa.Column('live_key', sa.String(length=66), nullable=True),
        sa.Column('issue_date', sa.String(length=10), nullable=False),
        sa.Column('gross', MONEY, nullable=False),
        sa.Column('amount', MONEY, nullable=False),
        sa.Column('seller_name', sa.String(length=200), nullable=False),
        sa.Column('seller_tax_id', sa.String(length=20), nullable=False),
        sa.Column('category', sa.String(length=16), nullable=False),
        sa.Column('purpose', sa.String(length=200), nullable=False),
        sa.Column('source', sa.String(length=12), nullable=False),
        sa.Column('verification', sa.Text(), nullable=False),
        sa.Column('buyer_salt', sa.String(length=66), nullable=False),
        sa.Column('buyer_tag', sa.String(length=66), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('submitted_at', sa.DateTime(), nullable=False),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('reject_reason', sa.String(length=200), nullable=True),
        sa.Column('claim_tx', sa.String(length=66), nullable=True),
        sa.Column('payment_list_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['employee_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['decided_by'], ['users.id'], ),
        sa.ForeignKeyConstraint(['payment_list_id'], ['payment_lists.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('live_key'),
    )
    with op.batch_alter_table('expense_claims', schema=None) as batch_op:
        for column in ('company_tax_id', 'employee_id', 'invoice_number', 'category', 'status', 'submitted_at',
                       'payment_list_id'):
            batch_op.create_index(batch_op.f(f'ix_expense_claims_{column}'), [column], unique=False)


def downgrade():
    op.drop_table('expense_claims')
    op.drop_table('payment_lists')
