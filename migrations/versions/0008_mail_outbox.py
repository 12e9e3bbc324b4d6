"""invoices.buyer_email and mail_outbox: the issued invoice e-mailed to its buyer (issue 12).

An invoice issued with a buyer e-mail address gets one mail_outbox row, written in the
database transaction that marks it issued; a sender loop (services.mail) claims pending
rows with a conditional UPDATE, sends them over SMTP and marks them sent. Existing
invoices keep buyer_email NULL: nothing is e-mailed for them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('buyer_email', sa.String(length=254), nullable=True))
    op.create_table(
        'mail_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('recipient', sa.String(length=254), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(), nullable=True),
        sa.Column('claim', sa.String(length=32), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('invoice_id', 'kind'),
    )
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_outbox_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_outbox_next_attempt_at'), ['next_attempt_at'], unique=False)


def downgrade():
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_outbox_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_mail_outbox_status'))
    op.drop_table('mail_outbox')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('buyer_email')
