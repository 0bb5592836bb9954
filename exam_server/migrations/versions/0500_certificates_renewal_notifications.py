"""certificates that expire and renew, and the outbox of reminders

A requirement whose certificate has expired becomes "expired" (sat, no longer qualified); a renewal
under the plan that issued the certificate is that plan's next round for the worker, so the unique
key gains round_no. A certificate points at the requirement it fulfilled (filled in from its sitting)
and at the one that renews it. Notifications, the rules that fired, the console users' contact
settings and the workers' SMS opt-outs are new tables.

Revision ID: 0500
Revises: 0300
Create Date: 2026-12-03 10:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0500'
down_revision = '0300'
branch_labels = None
depends_on = None

OLD_STATUSES = ('pending', 'failed', 'passed')
NEW_STATUSES = ('pending', 'failed', 'passed', 'expired')


def _status(values):
    return sa.Enum(*values, name='requirementstatus', native_enum=False, create_constraint=True, length=24)


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def _requirement_statuses(old, new):
    if op.get_bind().dialect.name == 'sqlite':
        # The table is rebuilt; its CHECK comes from the new type (SQLite cannot alter a constraint).
        with op.batch_alter_table('exam_requirement', schema=None) as batch_op:
            batch_op.alter_column('status', existing_type=_status(old), type_=_status(new), existing_nullable=False)
        return
    op.drop_constraint(op.f('ck_exam_requirement_requirementstatus'), 'exam_requirement', type_='check')
    op.create_check_constraint(
        op.f('ck_exam_requirement_requirementstatus'), 'exam_requirement',
        sa.column('status').in_(new),
    )


def upgrade():
    _requirement_statuses(OLD_STATUSES, NEW_STATUSES)
    with op.batch_alter_table('exam_requirement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round_no', sa.Integer(), server_default=sa.text('1'), nullable=False))
        batch_op.drop_constraint('uq_exam_requirement_plan_id', type_='unique')
        batch_op.create_unique_constraint('uq_exam_requirement_plan_worker_round', ['plan_id', 'worker_id', 'round_no'])

    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requirement_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('renewal_requirement_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_certificate_requirement_id_exam_requirement'), 'exam_requirement',
                                    ['requirement_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_certificate_renewal_requirement_id_exam_requirement'),
                                    'exam_requirement', ['renewal_requirement_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_certificate_requirement_id'), ['requirement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_renewal_requirement_id'), ['renewal_requirement_id'],
                              unique=False)
    op.execute(
        'UPDATE certificate SET requirement_id = '
        '(SELECT sitting.requirement_id FROM sitting WHERE sitting.id = certificate.sitting_id)'
    )

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=160), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('channel', _enum('channel', 'inbox', 'sms', 'email'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('worker_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=254), nullable=True),
    sa.Column('enterprise_id', sa.Integer(), nullable=True),
    sa.Column('county_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('template_code', sa.String(length=64), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('status', _enum('deliverystatus', 'pending', 'sending', 'sent', 'failed', 'uncertain'), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('provider_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['county_id'], ['county.id'], name=op.f('fk_notification_county_id_county')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_notification_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['user_id'], ['console_user.id'], name=op.f('fk_notification_user_id_console_user')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_notification_worker_id_worker')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notification_dedupe_key'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_notification_inbox', ['user_id', 'channel', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_worker_id'), ['worker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_county_id'), ['county_id'], unique=False)

    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice')),
    sa.UniqueConstraint('rule', 'subject_type', 'subject_id', name='uq_notice_rule_subject')
    )
    op.create_table('contact_settings',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email_enabled', sa.Boolean(), nullable=False),
    sa.Column('sms_enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['console_user.id'], name=op.f('fk_contact_settings_user_id_console_user')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_contact_settings'))
    )
    op.create_table('worker_opt_out',
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['console_user.id'],
                            name=op.f('fk_worker_opt_out_recorded_by_id_console_user')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_worker_opt_out_worker_id_worker')),
    sa.PrimaryKeyConstraint('worker_id', name=op.f('pk_worker_opt_out'))
    )


def downgrade():
    op.drop_table('worker_opt_out')
    op.drop_table('contact_settings')
    op.drop_table('notice')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_county_id'))
        batch_op.drop_index(batch_op.f('ix_notification_enterprise_id'))
        batch_op.drop_index(batch_op.f('ix_notification_worker_id'))
        batch_op.drop_index('ix_notification_inbox')
        batch_op.drop_index('ix_notification_due')
    op.drop_table('notification')
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_renewal_requirement_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_requirement_id'))
        batch_op.drop_constraint(batch_op.f('fk_certificate_renewal_requirement_id_exam_requirement'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_certificate_requirement_id_exam_requirement'), type_='foreignkey')
        batch_op.drop_column('renewal_requirement_id')
        batch_op.drop_column('requirement_id')
    # Renewal rounds cannot survive the old one-requirement-per-plan key, nor "expired" the old statuses.
    op.execute("UPDATE exam_requirement SET status = 'passed' WHERE status = 'expired'")
    op.execute('DELETE FROM exam_requirement WHERE round_no > 1 AND attempts = 0')
    with op.batch_alter_table('exam_requirement', schema=None) as batch_op:
        batch_op.drop_constraint('uq_exam_requirement_plan_worker_round', type_='unique')
        batch_op.create_unique_constraint('uq_exam_requirement_plan_id', ['plan_id', 'worker_id'])
        batch_op.drop_column('round_no')
    _requirement_statuses(NEW_STATUSES, OLD_STATUSES)
