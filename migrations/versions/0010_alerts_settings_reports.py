"""alerts, settings, saved_reports; mail_outbox for alerts too (issue 13).

alerts: what the anomaly detector found, with its workflow. settings: values the authority
changes in the app (the detector's thresholds). saved_reports: users' report definitions.
mail_outbox.invoice_id becomes nullable and alert_id is added, so an alert's e-mail goes
through the same outbox (retried, sent once) as an invoice's.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('severity', sa.String(length=8), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('fingerprint', sa.String(length=160), nullable=False),
        sa.Column('merchants', sa.Text(), nullable=False),
        sa.Column('invoices', sa.Text(), nullable=False),
        sa.Column('evidence', sa.Text(), nullable=False),
        sa.Column('explanation', sa.Text(), nullable=False),
        sa.Column('window_start', sa.DateTime(), nullable=True),
        sa.Column('window_end', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('assignee_id', sa.Integer(), nullable=True),
        sa.Column('acknowledged_by', sa.Integer(), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
        sa.Column('resolved_by', sa.Integer(), nullable=True),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.Column('resolution_note', sa.Text(), nullable=True),
        sa.Column('webhook_status', sa.String(length=12), nullable=True),
        sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['acknowledged_by'], ['users.id'], ),
        sa.ForeignKeyConstraint(['resolved_by'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('fingerprint'),
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        for column in ('kind', 'severity', 'status', 'window_end', 'created_at', 'assignee_id'):
            batch_op.create_index(batch_op.f(f'ix_alerts_{column}'), [column], unique=False)
    op.create_table(
        'settings',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['updated_by'], ['users.id'], ),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_table(
        'saved_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('definition', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'name'),
    )
    with op.batch_alter_table('saved_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_reports_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.alter_column('invoice_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('alert_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_mail_outbox_alert_id_alerts', 'alerts', ['alert_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_mail_outbox_alert_id'), ['alert_id'], unique=False)
        batch_op.create_unique_constraint('uq_mail_outbox_alert_id_kind_recipient', ['alert_id', 'kind', 'recipient'])


def downgrade():
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_constraint('uq_mail_outbox_alert_id_kind_recipient', type_='unique')
        batch_op.drop_index(batch_op.f('ix_mail_outbox_alert_id'))
        batch_op.drop_constraint('fk_mail_outbox_alert_id_alerts', type_='foreignkey')
        batch_op.drop_column('alert_id')
        batch_op.alter_column('invoice_id', existing_type=sa.Integer(), nullable=False)
    op.drop_table('saved_reports')
    op.drop_table('settings')
    op.drop_table('alerts')
