"""statistics indexes on exam_requirement

Monthly figures read first_sat_at ranges and plan figures group by plan; without these indexes
both scan and sort the whole table (390 ms and 310 ms on SQLite for 310,000 requirements,
measured by scripts/bench_statistics.py; docs/benchmarks_stats.md).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 04:10:00

"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exam_requirement', schema=None) as batch_op:
        batch_op.create_index('ix_requirement_first_sat_status', ['first_sat_at', 'status'], unique=False)
        batch_op.create_index('ix_requirement_plan_status', ['plan_id', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('exam_requirement', schema=None) as batch_op:
        batch_op.drop_index('ix_requirement_plan_status')
        batch_op.drop_index('ix_requirement_first_sat_status')
