"""job queue state and face index changes

Jobs (a ZIP enrolment, a re-enrolment, a large import or export) keep their real progress in the
database: chunks leased to one worker at a time and items done exactly once. Periodic jobs claim a
time slot here so that one host runs each slot. Every change of a worker's templates leaves a
face_index_change row, from which every host's 1:N index files catch up.

Revision ID: 0200
Revises: 0500
Create Date: 2026-12-01 20:47:17.411320

"""
from alembic import op
import sqlalchemy as sa
import exam_server.models.base


revision = '0200'
down_revision = '0500'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('periodic_job',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('slot', sa.BigInteger(), nullable=False),
    sa.Column('owner', sa.String(length=80), nullable=True),
    sa.Column('lease_until', exam_server.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_periodic_job'))
    )
    op.create_table('periodic_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('slot', sa.BigInteger(), nullable=False),
    sa.Column('owner', sa.String(length=80), nullable=False),
    sa.Column('started_at', exam_server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', exam_server.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_periodic_run')),
    sa.UniqueConstraint('name', 'slot', name=op.f('uq_periodic_run_name'))
    )
    with op.batch_alter_table('periodic_run', schema=None) as batch_op:
        batch_op.create_index('ix_periodic_run_started', ['started_at'], unique=False)

    op.create_table('face_index_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('created_at', exam_server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_face_index_change_worker_id_worker')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_face_index_change'))
    )
    with op.batch_alter_table('face_index_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_face_index_change_created_at'), ['created_at'], unique=False)

    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', 'cancelled', name='jobstate', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', exam_server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', exam_server.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', exam_server.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', exam_server.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('result', sa.LargeBinary(), nullable=True),
    sa.Column('result_name', sa.String(length=200), nullable=True),
    sa.Column('result_type', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['console_user.id'], name=op.f('fk_job_created_by_id_console_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index('ix_job_owner_created', ['created_by_id', 'created_at'], unique=False)

    op.create_table('job_chunk',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'done', name='chunkstate', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('owner', sa.String(length=80), nullable=True),
    sa.Column('lease_until', exam_server.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('queued_at', exam_server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_job_chunk_job_id_job'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_chunk')),
    sa.UniqueConstraint('job_id', 'number', name=op.f('uq_job_chunk_job_id'))
    )
    with op.batch_alter_table('job_chunk', schema=None) as batch_op:
        batch_op.create_index('ix_job_chunk_state_lease', ['state', 'lease_until'], unique=False)

    op.create_table('job_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('chunk', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('state', sa.Enum('pending', 'done', 'skipped', 'refused', name='itemstate', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('message', sa.String(length=255), nullable=True),
    sa.Column('flags', sa.Integer(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=True),
    sa.Column('finished_at', exam_server.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_job_item_job_id_job'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_item'))
    )
    with op.batch_alter_table('job_item', schema=None) as batch_op:
        batch_op.create_index('ix_job_item_chunk', ['job_id', 'chunk', 'state'], unique=False)
        batch_op.create_index('ix_job_item_finished', ['job_id', 'state', 'finished_at'], unique=False)



def downgrade():
    with op.batch_alter_table('job_item', schema=None) as batch_op:
        batch_op.drop_index('ix_job_item_finished')
        batch_op.drop_index('ix_job_item_chunk')

    op.drop_table('job_item')
    with op.batch_alter_table('job_chunk', schema=None) as batch_op:
        batch_op.drop_index('ix_job_chunk_state_lease')

    op.drop_table('job_chunk')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('ix_job_owner_created')

    op.drop_table('job')
    with op.batch_alter_table('face_index_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_face_index_change_created_at'))

    op.drop_table('face_index_change')
    with op.batch_alter_table('periodic_run', schema=None) as batch_op:
        batch_op.drop_index('ix_periodic_run_started')

    op.drop_table('periodic_run')
    op.drop_table('periodic_job')
