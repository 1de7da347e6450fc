"""order lines keep the balance right after their credit (receipts)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('payment_order_line') as batch:
        batch.add_column(sa.Column('balance_after_fen', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payment_order_line') as batch:
        batch.drop_column('balance_after_fen')
