"""answer receipts: every answer request seen, so a late copy of an old one cannot undo a newer answer

A kiosk retries an answer whose acknowledgement it lost, then sends the next one. If the first
copy of the retried request was only delayed (a slow proxy, a stalled worker), it could arrive
after the newer answer and overwrite it; the receipt of its key makes it a no-op.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 09:00:00

"""
from alembic import op
import sqlalchemy as sa
import exam_server.models.base


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('answer_receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sitting_id', sa.Integer(), nullable=False),
    sa.Column('item_no', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('response', sa.String(length=8), nullable=False),
    sa.Column('received_at', exam_server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sitting_id'], ['sitting.id'], name=op.f('fk_answer_receipt_sitting_id_sitting')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer_receipt')),
    sa.UniqueConstraint('sitting_id', 'item_no', 'idempotency_key', name=op.f('uq_answer_receipt_sitting_id'))
    )


def downgrade():
    op.drop_table('answer_receipt')
