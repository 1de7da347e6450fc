"""late-fee postings and waivers

late_fee_posting: one row per fee bill (a bill of one late_fee line), naming the overdue bill, keyed
late-fee:<bill id>:<accrued to>.  late_fee_waiver: a 减免 asked by one staff member and decided by another.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('late_fee_posting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=False),
    sa.Column('fee_bill_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('accrued_to', sa.Date(), nullable=False),
    sa.Column('accrued_fen', sa.BigInteger(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('accrued_fen >= 0', name=op.f('ck_late_fee_posting_accrued_not_negative')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_late_fee_posting_account_id_account')),
    sa.ForeignKeyConstraint(['bill_id'], ['bill.id'], name=op.f('fk_late_fee_posting_bill_id_bill')),
    sa.ForeignKeyConstraint(['fee_bill_id'], ['bill.id'], name=op.f('fk_late_fee_posting_fee_bill_id_bill')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_late_fee_posting')),
    sa.UniqueConstraint('fee_bill_id', name=op.f('uq_late_fee_posting_fee_bill_id')),
    sa.UniqueConstraint('key', name=op.f('uq_late_fee_posting_key'))
    )
    with op.batch_alter_table('late_fee_posting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_late_fee_posting_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_late_fee_posting_bill_id'), ['bill_id'], unique=False)

    op.create_table('late_fee_waiver',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=400), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'approved', 'refused')", name=op.f('ck_late_fee_waiver_state')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_late_fee_waiver_amount_positive')),
    sa.CheckConstraint('decided_by IS NULL OR decided_by <> requested_by', name=op.f('ck_late_fee_waiver_four_eyes')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_late_fee_waiver_account_id_account')),
    sa.ForeignKeyConstraint(['bill_id'], ['bill.id'], name=op.f('fk_late_fee_waiver_bill_id_bill')),
    sa.ForeignKeyConstraint(['decided_by'], ['staff_user.id'], name=op.f('fk_late_fee_waiver_decided_by_staff_user')),
    sa.ForeignKeyConstraint(['requested_by'], ['staff_user.id'], name=op.f('fk_late_fee_waiver_requested_by_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_late_fee_waiver'))
    )
    with op.batch_alter_table('late_fee_waiver', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_late_fee_waiver_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_late_fee_waiver_bill_id'), ['bill_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_late_fee_waiver_state'), ['state'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('late_fee_waiver', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_late_fee_waiver_state'))
        batch_op.drop_index(batch_op.f('ix_late_fee_waiver_bill_id'))
        batch_op.drop_index(batch_op.f('ix_late_fee_waiver_account_id'))

    op.drop_table('late_fee_waiver')
    with op.batch_alter_table('late_fee_posting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_late_fee_posting_bill_id'))
        batch_op.drop_index(batch_op.f('ix_late_fee_posting_account_id'))

    op.drop_table('late_fee_posting')
