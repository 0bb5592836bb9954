"""rate-limit counters in the database

Login throttling and the kiosk API's rate limit must hold across gunicorn processes and hosts.
Without Redis (EXAM_RATELIMIT_STORAGE_URI) the counters live in this table, one row per key
and window, so every process that shares the database shares the count.

Revision ID: 0640
Revises: 0620
Create Date: 2026-12-06 21:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0640'
down_revision = '0620'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rate_limit_counter',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_counter'))
    )
    with op.batch_alter_table('rate_limit_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limit_counter_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('rate_limit_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limit_counter_expires_at'))
    op.drop_table('rate_limit_counter')
