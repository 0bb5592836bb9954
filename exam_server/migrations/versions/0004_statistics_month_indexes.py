"""covering first_sat_at indexes for the monthly figures of the city and of a county

On the generated city (scripts/bench_statistics.py) a county's months grouped its 75,000 rows by a
local-month expression after a row lookup each (420 ms on SQLite), and a month or plan filter on the
city's months looked every row up by plan (1.5 s on SQLite, 450 ms on PostgreSQL). Counting one
first_sat_at range per month inside an index that also holds the status and the plan reads no row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 09:20:00

"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exam_requirement', schema=None) as batch_op:
        batch_op.drop_index('ix_requirement_first_sat_status')
        batch_op.create_index('ix_requirement_first_sat_status_plan', ['first_sat_at', 'status', 'plan_id'],
                              unique=False)
        batch_op.create_index('ix_requirement_county_first_sat', ['county_id', 'first_sat_at', 'status', 'plan_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('exam_requirement', schema=None) as batch_op:
        batch_op.drop_index('ix_requirement_county_first_sat')
        batch_op.drop_index('ix_requirement_first_sat_status_plan')
        batch_op.create_index('ix_requirement_first_sat_status', ['first_sat_at', 'status'], unique=False)
