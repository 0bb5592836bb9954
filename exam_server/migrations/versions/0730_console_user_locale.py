"""console user's interface language

The console runs through Flask-Babel; a user may pick 中文 or English, else the browser's
Accept-Language decides (exam_server/i18n.py's locale_selector). NULL means "follow the browser".

Revision ID: 0730
Revises: 0720
Create Date: 2026-12-07 04:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0730'
down_revision = '0720'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('console_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('console_user', schema=None) as batch_op:
        batch_op.drop_column('locale')
