"""review case summary as a msgid with its values

A case's summary was stored only as a Chinese sentence; the console runs in Chinese or English, so a
case now also keeps the msgid and its values (services/faces/review.summary shows it in the console's
language). NULL: a case stored before, shown with its Chinese sentence.

Revision ID: 0750
Revises: 0740
Create Date: 2026-12-07 08:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0750'
down_revision = '0740'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('review_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary_message', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('review_case', schema=None) as batch_op:
        batch_op.drop_column('summary_message')
