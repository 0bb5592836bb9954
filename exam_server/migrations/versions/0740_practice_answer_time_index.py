"""practice answers indexed by worker and time

The statistics page asks, per sitting, whether the worker's tenth practice answer came before it
started; an index on (worker_id, answered_at) answers that from a few index entries.

Revision ID: 0740
Revises: 0730
Create Date: 2026-12-07 04:00:00

"""
from alembic import op


revision = '0740'
down_revision = '0730'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('practice_answer', schema=None) as batch_op:
        batch_op.create_index('ix_practice_answer_worker_answered', ['worker_id', 'answered_at'], unique=False)


def downgrade():
    with op.batch_alter_table('practice_answer', schema=None) as batch_op:
        batch_op.drop_index('ix_practice_answer_worker_answered')
