"""perceptual hashes of kiosk frames, and two-move liveness challenges

A frame near-identical to one a kiosk already sent for the worker (or to the worker's enrolment or
ID-card photo) is a replay: the hash of every frame of every burst and in-exam capture is kept to
compare with. A check-in's challenge may be a sequence of two moves ("turn_left+blink").

Revision ID: 0620
Revises: 0200
Create Date: 2026-12-06 21:50:00

"""
import sqlalchemy as sa
from alembic import op
import exam_server.models.base


revision = '0620'
down_revision = '0200'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('frame_hash',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('checkin', 'in_exam', 'enrol_duplicate', 'search', name='checkkind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=True),
    sa.Column('sitting_id', sa.Integer(), nullable=True),
    sa.Column('phash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('created_at', exam_server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkin.id'], name=op.f('fk_frame_hash_checkin_id_checkin')),
    sa.ForeignKeyConstraint(['sitting_id'], ['sitting.id'], name=op.f('fk_frame_hash_sitting_id_sitting')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_frame_hash_worker_id_worker')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_frame_hash'))
    )
    with op.batch_alter_table('frame_hash', schema=None) as batch_op:
        batch_op.create_index('ix_frame_hash_worker_time', ['worker_id', 'created_at'], unique=False)
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.alter_column('challenge', existing_type=sa.String(length=16), type_=sa.String(length=40),
                              existing_nullable=False)


def downgrade():
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.alter_column('challenge', existing_type=sa.String(length=40), type_=sa.String(length=16),
                              existing_nullable=False)
    with op.batch_alter_table('frame_hash', schema=None) as batch_op:
        batch_op.drop_index('ix_frame_hash_worker_time')
    op.drop_table('frame_hash')
