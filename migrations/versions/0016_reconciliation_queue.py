"""reconciliation queue

reconciliation_difference: a difference can now end written off or refunded as well as healed
(status widened to 12 characters, its CHECK rewritten) and keeps the number of the refund that sends
its money back; write_off: finance's request to book a difference to expense or unclaimed revenue,
approved or rejected by a second person (CHECK: the approver is not the requester).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

STATUSES = "'open', 'healed', 'written_off', 'refunded'"


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('reconciliation_difference', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_reconciliation_difference_status'), type_='check')
        batch_op.alter_column('status', existing_type=sa.String(length=10), type_=sa.String(length=12),
                              existing_nullable=False)
        batch_op.create_check_constraint('status', f"status IN ({STATUSES})")
        batch_op.add_column(sa.Column('refund_no', sa.String(length=64), nullable=False, server_default=''))
    op.create_table('write_off',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('difference_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=400), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_by', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_write_off_amount_positive')),
    sa.CheckConstraint("status IN ('requested', 'approved', 'rejected')", name=op.f('ck_write_off_status')),
    sa.CheckConstraint('approved_by IS NULL OR approved_by <> requested_by', name=op.f('ck_write_off_four_eyes')),
    sa.ForeignKeyConstraint(['difference_id'], ['reconciliation_difference.id'],
                            name=op.f('fk_write_off_difference_id_reconciliation_difference')),
    sa.ForeignKeyConstraint(['requested_by'], ['staff_user.id'], name=op.f('fk_write_off_requested_by_staff_user')),
    sa.ForeignKeyConstraint(['approved_by'], ['staff_user.id'], name=op.f('fk_write_off_approved_by_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_write_off')),
    sa.UniqueConstraint('difference_id', name=op.f('uq_write_off_difference_id')),
    )
    op.create_index(op.f('ix_write_off_status'), 'write_off', ['status'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_write_off_status'), table_name='write_off')
    op.drop_table('write_off')
    op.execute("UPDATE reconciliation_difference SET status = 'healed' WHERE status <> 'open'")
    with op.batch_alter_table('reconciliation_difference', schema=None) as batch_op:
        batch_op.drop_column('refund_no')
        batch_op.drop_constraint(batch_op.f('ck_reconciliation_difference_status'), type_='check')
        batch_op.alter_column('status', existing_type=sa.String(length=12), type_=sa.String(length=10),
                              existing_nullable=False)
        batch_op.create_check_constraint('status', "status IN ('open', 'healed')")
