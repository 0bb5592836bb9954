"""one-time worker sign-in codes

A worker may sign in to their own pages with a single-use code, shown as a QR code at a kiosk
after a passed face check or printed by their enterprise's manager; only its SHA-256 is kept,
with its expiry and when it was used. A worker signed in by code has a credential row without
a PIN (it carries the session version), so worker_credential.pin_hash may be empty.

Revision ID: 0720
Revises: 0710
Create Date: 2026-12-07 03:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0720'
down_revision = '0710'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('worker_sign_in_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checkin_id', sa.Integer(), nullable=True),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkin.id'], name=op.f('fk_worker_sign_in_code_checkin_id_checkin')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['console_user.id'], name=op.f('fk_worker_sign_in_code_issued_by_id_console_user')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_worker_sign_in_code_worker_id_worker')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_worker_sign_in_code')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_worker_sign_in_code_code_hash'))
    )
    with op.batch_alter_table('worker_sign_in_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_worker_sign_in_code_worker_id'), ['worker_id'], unique=False)
    with op.batch_alter_table('worker_credential', schema=None) as batch_op:
        batch_op.alter_column('pin_hash', existing_type=sa.String(length=255), nullable=True)


def downgrade():
    op.execute("DELETE FROM worker_credential WHERE pin_hash IS NULL")
    with op.batch_alter_table('worker_credential', schema=None) as batch_op:
        batch_op.alter_column('pin_hash', existing_type=sa.String(length=255), nullable=False)
    with op.batch_alter_table('worker_sign_in_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worker_sign_in_code_worker_id'))
    op.drop_table('worker_sign_in_code')
