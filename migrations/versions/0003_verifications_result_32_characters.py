"""verifications.result: 32 characters.

VARCHAR(16) was too short for the v2 verification word "partly_red_lettered" (19): on
PostgreSQL recording such a verification failed (value too long), SQLite does not
check lengths.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:41:46.399581

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('verifications', schema=None) as batch_op:
        batch_op.alter_column('result',
                              existing_type=sa.VARCHAR(length=16),
                              type_=sa.String(length=32),
                              existing_nullable=False)


def downgrade():
    # words longer than 16 characters (v2's) do not fit the old column: cut, as PostgreSQL would refuse them
    op.execute("UPDATE verifications SET result = substr(result, 1, 16) WHERE length(result) > 16")
    with op.batch_alter_table('verifications', schema=None) as batch_op:
        batch_op.alter_column('result',
                              existing_type=sa.String(length=32),
                              type_=sa.VARCHAR(length=16),
                              existing_nullable=False)
