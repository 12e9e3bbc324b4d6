"""self-service merchant onboarding (issue 14): users.email, the application's contact on
merchants, merchant_licences (the uploaded business-licence files).

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-04 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    # plain ADD COLUMN (nullable): no table rebuild, on SQLite too
    op.add_column('users', sa.Column('email', sa.String(length=254), nullable=True))
    op.add_column('merchants', sa.Column('contact_name', sa.String(length=64), nullable=True))
    op.add_column('merchants', sa.Column('contact_phone', sa.String(length=32), nullable=True))
    op.create_table(
        'merchant_licences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=32), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('merchant_licences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merchant_licences_merchant_id'), ['merchant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('merchant_licences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merchant_licences_merchant_id'))
    op.drop_table('merchant_licences')
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_name')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email')
