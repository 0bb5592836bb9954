"""face consent per visit, and plans that show wrong answers after grading

PIPL art. 28-29: face images are sensitive personal information and need a separate consent, told
what is filmed, why, for how long and who sees it. The kiosk shows that notice before the first
capture of each visit; the server records the answer with the check-in and, once the burst opens or
resumes it, with the sitting, and analyses no kiosk frame of a check-in without it.

A plan may let the kiosk show each wrong answer with the right one and its basis after grading.

Revision ID: 0300
Revises: 0004
Create Date: 2026-12-01 21:00:00

"""
from alembic import op
import sqlalchemy as sa
import exam_server.models.base


revision = '0300'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('face_consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('kiosk_id', sa.Integer(), nullable=False),
    sa.Column('sitting_id', sa.Integer(), nullable=True),
    sa.Column('notice_version', sa.String(length=32), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('accepted_at', exam_server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkin.id'], name=op.f('fk_face_consent_checkin_id_checkin')),
    sa.ForeignKeyConstraint(['kiosk_id'], ['kiosk.id'], name=op.f('fk_face_consent_kiosk_id_kiosk')),
    sa.ForeignKeyConstraint(['sitting_id'], ['sitting.id'], name=op.f('fk_face_consent_sitting_id_sitting')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_face_consent_worker_id_worker')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_face_consent')),
    sa.UniqueConstraint('checkin_id', name=op.f('uq_face_consent_checkin_id'))
    )
    with op.batch_alter_table('face_consent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_face_consent_sitting_id'), ['sitting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_face_consent_worker_id'), ['worker_id'], unique=False)
    with op.batch_alter_table('exam_plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_answers', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('exam_plan', schema=None) as batch_op:
        batch_op.drop_column('review_answers')
    with op.batch_alter_table('face_consent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_face_consent_worker_id'))
        batch_op.drop_index(batch_op.f('ix_face_consent_sitting_id'))
    op.drop_table('face_consent')
