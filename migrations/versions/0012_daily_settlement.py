"""智能交费 daily settlement: one row per prepaid account and day charged; each account's low-balance threshold

Existing accounts get the default threshold of 3000 fen (30 元).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('daily_settlement',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('energy_wh', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=True),
    sa.Column('lines', sa.Text(), nullable=False),
    sa.Column('charge_no', sa.Integer(), nullable=False),
    sa.Column('year_lines', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(amount_fen = 0) = (transfer_id IS NULL)', name=op.f('ck_daily_settlement_transfer_when_charged')),
    sa.CheckConstraint('energy_wh >= 0 AND amount_fen >= 0', name=op.f('ck_daily_settlement_not_negative')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_daily_settlement_account_id_account')),
    sa.ForeignKeyConstraint(['transfer_id'], ['ledger_transfer.id'], name=op.f('fk_daily_settlement_transfer_id_ledger_transfer')),
    sa.PrimaryKeyConstraint('account_id', 'day', name=op.f('pk_daily_settlement')),
    sa.UniqueConstraint('transfer_id', name=op.f('uq_daily_settlement_transfer_id'))
    )
    with op.batch_alter_table('daily_settlement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_daily_settlement_day'), ['day'], unique=False)

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('balance_low_fen', sa.BigInteger(), server_default='3000', nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('balance_low_fen')

    with op.batch_alter_table('daily_settlement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_daily_settlement_day'))

    op.drop_table('daily_settlement')
