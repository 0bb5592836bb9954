"""practice: exam-only questions, worker PINs, practice answers and mock exams

Questions can be kept for real papers (exam_only); a worker signs in with citizen ID and a PIN set
at a kiosk after a passed face check (worker_credential); every practice answer is stored
(practice_answer) for the wrong-answer book and the statistics; a mock exam (mock_exam) is timed
and graded but is never a sitting.

Revision ID: 0700
Revises: 0640
Create Date: 2026-12-07 00:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0700'
down_revision = '0640'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exam_only', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table('worker_credential',
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('pin_hash', sa.String(length=255), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=True),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkin.id'], name=op.f('fk_worker_credential_checkin_id_checkin')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_worker_credential_worker_id_worker')),
    sa.PrimaryKeyConstraint('worker_id', name=op.f('pk_worker_credential'))
    )
    op.create_table('practice_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('question_version', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('response', sa.String(length=8), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_practice_answer_question_id_question')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_practice_answer_worker_id_worker')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practice_answer')),
    sa.UniqueConstraint('worker_id', 'idempotency_key', name='uq_practice_answer_worker_key')
    )
    with op.batch_alter_table('practice_answer', schema=None) as batch_op:
        batch_op.create_index('ix_practice_answer_worker_question', ['worker_id', 'question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_practice_answer_question_id'), ['question_id'], unique=False)

    op.create_table('mock_exam',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('paper', sa.JSON(), nullable=False),
    sa.Column('responses', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('max_score', sa.Double(), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['exam_plan.id'], name=op.f('fk_mock_exam_plan_id_exam_plan')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_mock_exam_worker_id_worker')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mock_exam'))
    )
    with op.batch_alter_table('mock_exam', schema=None) as batch_op:
        batch_op.create_index('ix_mock_exam_worker_started', ['worker_id', 'started_at'], unique=False)


def downgrade():
    with op.batch_alter_table('mock_exam', schema=None) as batch_op:
        batch_op.drop_index('ix_mock_exam_worker_started')
    op.drop_table('mock_exam')
    with op.batch_alter_table('practice_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practice_answer_question_id'))
        batch_op.drop_index('ix_practice_answer_worker_question')
    op.drop_table('practice_answer')
    op.drop_table('worker_credential')
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_column('exam_only')
