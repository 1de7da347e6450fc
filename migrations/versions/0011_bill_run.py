"""the bill run's ledger of billed accounts; an account's tariff and transformer capacity

Existing accounts get their category's tariff (residential -> zj-residential, non_residential ->
zj-commercial, large_industry -> zj-large-industry) and large-industry accounts a 315 kVA capacity,
the common 10 kV distribution transformer, until staff record the real one.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TARIFFS = {"residential": "zj-residential", "non_residential": "zj-commercial", "large_industry": "zj-large-industry"}
DEFAULT_CAPACITY_KVA = 315


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('bill_run_account',
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('energy_wh', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("outcome IN ('issued', 'held')", name=op.f('ck_bill_run_account_outcome')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_bill_run_account_account_id_account')),
    sa.ForeignKeyConstraint(['bill_id'], ['bill.id'], name=op.f('fk_bill_run_account_bill_id_bill')),
    sa.PrimaryKeyConstraint('period_start', 'account_id', name=op.f('pk_bill_run_account')),
    sa.UniqueConstraint('bill_id', name=op.f('uq_bill_run_account_bill_id'))
    )
    with op.batch_alter_table('bill_run_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bill_run_account_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tariff_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('capacity_kva', sa.Integer(), nullable=True))
    account = sa.table('account', sa.column('category', sa.String), sa.column('tariff_id', sa.String),
                       sa.column('capacity_kva', sa.Integer))
    for category, tariff in TARIFFS.items():
        op.execute(account.update().where(account.c.category == category).values(tariff_id=tariff))
    op.execute(account.update().where(account.c.category == "large_industry").values(capacity_kva=DEFAULT_CAPACITY_KVA))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('capacity_kva')
        batch_op.drop_column('tariff_id')

    with op.batch_alter_table('bill_run_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bill_run_account_account_id'))

    op.drop_table('bill_run_account')
