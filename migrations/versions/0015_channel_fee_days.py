"""channel fee days

channel_fee_day: a channel's fees of one Beijing day as booked by payments.fees.book_fees: the
statement's fee lines summed exactly (millifen), the fen posted (rounded half-up once) and the
rounding difference, and the statement's line count, paid and refunded totals.  Suspense accounts need no table: they are ledger accounts made on first use.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('channel_fee_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('fee_millifen', sa.BigInteger(), nullable=False),
    sa.Column('booked_fen', sa.BigInteger(), nullable=False),
    sa.Column('rounding_millifen', sa.BigInteger(), nullable=False),
    sa.Column('statement_lines', sa.Integer(), nullable=True),
    sa.Column('statement_paid_fen', sa.BigInteger(), nullable=True),
    sa.Column('statement_refunded_fen', sa.BigInteger(), nullable=True),
    sa.Column('booked_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_fee_day')),
    sa.UniqueConstraint('channel', 'business_date', name=op.f('uq_channel_fee_day_channel_business_date'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('channel_fee_day')
