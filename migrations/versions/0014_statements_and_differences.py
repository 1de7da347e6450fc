"""statements and reconciliation differences

statement: a channel's daily statement as taken in (SHA-256, totals); statement_entry: its lines;
reconciliation_difference: what 对账 found, keyed (channel, kind, ref), open until healed.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('statement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('merchant_id', sa.String(length=32), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('refunded_fen', sa.BigInteger(), nullable=False),
    sa.Column('fee_millifen', sa.BigInteger(), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement')),
    sa.UniqueConstraint('channel', 'day', name=op.f('uq_statement_channel_day')),
    )
    op.create_table('statement_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('channel_txn_id', sa.String(length=64), nullable=False),
    sa.Column('out_trade_no', sa.String(length=64), nullable=False),
    sa.Column('refund_no', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('fee_millifen', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['statement.id'], name=op.f('fk_statement_entry_statement_id_statement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_entry')),
    )
    op.create_index(op.f('ix_statement_entry_statement_id'), 'statement_entry', ['statement_id'], unique=False)
    op.create_index(op.f('ix_statement_entry_channel_txn_id'), 'statement_entry', ['channel_txn_id'], unique=False)
    op.create_table('reconciliation_difference',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('out_trade_no', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('healed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.String(length=200), nullable=False),
    sa.CheckConstraint("status IN ('open', 'healed')", name=op.f('ck_reconciliation_difference_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_difference')),
    sa.UniqueConstraint('channel', 'kind', 'ref', name=op.f('uq_reconciliation_difference_channel_kind_ref')),
    )
    op.create_index(op.f('ix_reconciliation_difference_day'), 'reconciliation_difference', ['day'], unique=False)
    op.create_index(op.f('ix_reconciliation_difference_status'), 'reconciliation_difference', ['status'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('reconciliation_difference')
    op.drop_table('statement_entry')
    op.drop_table('statement')
