"""bad debt and its write-off

bad_debt: an account's debt marked bad by the collections desk after the dunning ladder is exhausted
(marked -> written_off -> recovered, or paid); it holds the ladder.  bad_debt_write_off: a request to
write it off to expense:bad_debt, approved or rejected by a second person (CHECK: the approver is not
the requester; an approved one names its ledger transfer).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0020'
down_revision: Union[str, Sequence[str], None] = '0019'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('bad_debt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('owed_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=400), nullable=False),
    sa.Column('marked_by', sa.Integer(), nullable=False),
    sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('marked', 'written_off', 'recovered', 'paid')", name=op.f('ck_bad_debt_state')),
    sa.CheckConstraint('owed_fen > 0', name=op.f('ck_bad_debt_owed_positive')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_bad_debt_account_id_account')),
    sa.ForeignKeyConstraint(['marked_by'], ['staff_user.id'], name=op.f('fk_bad_debt_marked_by_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bad_debt'))
    )
    with op.batch_alter_table('bad_debt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bad_debt_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bad_debt_state'), ['state'], unique=False)
    op.create_table('bad_debt_write_off',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bad_debt_id', sa.Integer(), nullable=False),
    sa.Column('requested_fen', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.String(length=400), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_by', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('transfer_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status <> 'approved' OR transfer_id IS NOT NULL", name=op.f('ck_bad_debt_write_off_approved_posted')),
    sa.CheckConstraint("status IN ('requested', 'approved', 'rejected')", name=op.f('ck_bad_debt_write_off_status')),
    sa.CheckConstraint('amount_fen IS NULL OR amount_fen > 0', name=op.f('ck_bad_debt_write_off_amount_positive')),
    sa.CheckConstraint('approved_by IS NULL OR approved_by <> requested_by', name=op.f('ck_bad_debt_write_off_four_eyes')),
    sa.CheckConstraint('requested_fen > 0', name=op.f('ck_bad_debt_write_off_requested_positive')),
    sa.ForeignKeyConstraint(['approved_by'], ['staff_user.id'], name=op.f('fk_bad_debt_write_off_approved_by_staff_user')),
    sa.ForeignKeyConstraint(['bad_debt_id'], ['bad_debt.id'], name=op.f('fk_bad_debt_write_off_bad_debt_id_bad_debt')),
    sa.ForeignKeyConstraint(['requested_by'], ['staff_user.id'], name=op.f('fk_bad_debt_write_off_requested_by_staff_user')),
    sa.ForeignKeyConstraint(['transfer_id'], ['ledger_transfer.id'], name=op.f('fk_bad_debt_write_off_transfer_id_ledger_transfer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bad_debt_write_off')),
    sa.UniqueConstraint('transfer_id', name=op.f('uq_bad_debt_write_off_transfer_id'))
    )
    with op.batch_alter_table('bad_debt_write_off', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bad_debt_write_off_bad_debt_id'), ['bad_debt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bad_debt_write_off_status'), ['status'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('bad_debt_write_off', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bad_debt_write_off_status'))
        batch_op.drop_index(batch_op.f('ix_bad_debt_write_off_bad_debt_id'))
    op.drop_table('bad_debt_write_off')
    with op.batch_alter_table('bad_debt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bad_debt_state'))
        batch_op.drop_index(batch_op.f('ix_bad_debt_account_id'))
    op.drop_table('bad_debt')
