"""question images and edited paper rule sets

A question may show a picture (a safety sign, a hazard label).

The file lives under EXAM_DATA_DIR/question_images, named by its SHA-256, so a paper drawn
before the picture was replaced keeps showing the picture it was drawn with.
A paper rule set edited in the console is kept in paper_rule_set and replaces question_bank's
file of the same code; plans keep the copy they were saved with.

Revision ID: 0710
Revises: 0700
Create Date: 2026-12-07 00:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0710'
down_revision = '0700'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('image', sa.String(length=80), nullable=True))
    op.create_table('paper_rule_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['console_user.id'], name=op.f('fk_paper_rule_set_updated_by_id_console_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_rule_set')),
    sa.UniqueConstraint('code', name=op.f('uq_paper_rule_set_code'))
    )


def downgrade():
    op.drop_table('paper_rule_set')
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_column('image')
