"""question images: a question may show a picture (a safety sign, a hazard label)

The file lives under EXAM_DATA_DIR/question_images, named by its SHA-256, so a paper drawn
before the picture was replaced keeps showing the picture it was drawn with.

Revision ID: 0710
Revises: 0640
Create Date: 2026-12-07 00:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0710'
down_revision = '0640'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('image', sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_column('image')
