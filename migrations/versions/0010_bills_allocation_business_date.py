"""bills, their lines and numbers, allocation rows; a business date on every transfer; the expense kind

Existing transfers get the Beijing date of their ``posted_at`` (the append-only triggers are lifted
for that one statement and put back).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from migrations.triggers import append_only, drop_append_only

KINDS = "'asset', 'liability', 'equity', 'revenue'"


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    _ledger_kinds(KINDS + ", 'expense'")
    _add_business_date()
    op.create_table('bill_sequence',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_no', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_bill_sequence'))
    )
    op.create_table('bill',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('replaces_bill_id', sa.Integer(), nullable=True),
    sa.Column('transfer_id', sa.Integer(), nullable=True),
    sa.Column('cancel_transfer_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_by', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=400), nullable=False),
    sa.CheckConstraint("state <> 'issued' OR (number IS NOT NULL AND issue_date IS NOT NULL)", name=op.f('ck_bill_issued_numbered')),
    sa.CheckConstraint("state IN ('held', 'issued', 'cancelled')", name=op.f('ck_bill_state')),
    sa.CheckConstraint('issue_date IS NULL OR due_date >= issue_date', name=op.f('ck_bill_due_after_issue')),
    sa.CheckConstraint('period_end >= period_start', name=op.f('ck_bill_period_ordered')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_bill_account_id_account')),
    sa.ForeignKeyConstraint(['cancel_transfer_id'], ['ledger_transfer.id'], name=op.f('fk_bill_cancel_transfer_id_ledger_transfer')),
    sa.ForeignKeyConstraint(['cancelled_by'], ['staff_user.id'], name=op.f('fk_bill_cancelled_by_staff_user')),
    sa.ForeignKeyConstraint(['created_by'], ['staff_user.id'], name=op.f('fk_bill_created_by_staff_user')),
    sa.ForeignKeyConstraint(['issued_by'], ['staff_user.id'], name=op.f('fk_bill_issued_by_staff_user')),
    sa.ForeignKeyConstraint(['replaces_bill_id'], ['bill.id'], name=op.f('fk_bill_replaces_bill_id_bill')),
    sa.ForeignKeyConstraint(['transfer_id'], ['ledger_transfer.id'], name=op.f('fk_bill_transfer_id_ledger_transfer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bill')),
    sa.UniqueConstraint('cancel_transfer_id', name=op.f('uq_bill_cancel_transfer_id')),
    sa.UniqueConstraint('number', name=op.f('uq_bill_number')),
    sa.UniqueConstraint('replaces_bill_id', name=op.f('uq_bill_replaces_bill_id')),
    sa.UniqueConstraint('transfer_id', name=op.f('uq_bill_transfer_id'))
    )
    with op.batch_alter_table('bill', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bill_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bill_state'), ['state'], unique=False)

    op.create_table('allocation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('credit_transfer_id', sa.Integer(), nullable=False),
    sa.Column('debit_transfer_id', sa.Integer(), nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(reverses_id IS NULL AND amount_fen > 0) OR (reverses_id IS NOT NULL AND amount_fen < 0)', name=op.f('ck_allocation_reversal_negative')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_allocation_account_id_account')),
    sa.ForeignKeyConstraint(['bill_id'], ['bill.id'], name=op.f('fk_allocation_bill_id_bill')),
    sa.ForeignKeyConstraint(['credit_transfer_id'], ['ledger_transfer.id'], name=op.f('fk_allocation_credit_transfer_id_ledger_transfer')),
    sa.ForeignKeyConstraint(['debit_transfer_id'], ['ledger_transfer.id'], name=op.f('fk_allocation_debit_transfer_id_ledger_transfer')),
    sa.ForeignKeyConstraint(['reverses_id'], ['allocation.id'], name=op.f('fk_allocation_reverses_id_allocation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_allocation_reverses_id'))
    )
    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocation_bill_id'), ['bill_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocation_credit_transfer_id'), ['credit_transfer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocation_debit_transfer_id'), ['debit_transfer_id'], unique=False)

    op.create_table('bill_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('description_key', sa.String(length=80), nullable=False),
    sa.Column('energy_wh', sa.BigInteger(), nullable=True),
    sa.Column('unit_price_millifen_per_kwh', sa.BigInteger(), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['bill_id'], ['bill.id'], name=op.f('fk_bill_line_bill_id_bill')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bill_line')),
    sa.UniqueConstraint('bill_id', 'position', name=op.f('uq_bill_line_bill_id_position'))
    )
    with op.batch_alter_table('bill_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bill_line_bill_id'), ['bill_id'], unique=False)

    append_only('allocation')


def _ledger_kinds(kinds: str) -> None:
    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_ledger_account_kind'), type_='check')
        batch_op.create_check_constraint('kind', f"kind IN ({kinds})")


def _add_business_date() -> None:
    drop_append_only('ledger_transfer')  # SQLite's table rebuild drops them anyway
    with op.batch_alter_table('ledger_transfer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('business_date', sa.Date(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE ledger_transfer SET business_date = (posted_at AT TIME ZONE 'Asia/Shanghai')::date")
    else:  # posted_at is stored as UTC text
        op.execute("UPDATE ledger_transfer SET business_date = date(posted_at, '+8 hours')")
    with op.batch_alter_table('ledger_transfer', schema=None) as batch_op:
        batch_op.alter_column('business_date', existing_type=sa.Date(), nullable=False)
    append_only('ledger_transfer')


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('bill_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bill_line_bill_id'))

    op.drop_table('bill_line')
    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_debit_transfer_id'))
        batch_op.drop_index(batch_op.f('ix_allocation_credit_transfer_id'))
        batch_op.drop_index(batch_op.f('ix_allocation_bill_id'))
        batch_op.drop_index(batch_op.f('ix_allocation_account_id'))

    op.drop_table('allocation')
    with op.batch_alter_table('bill', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bill_state'))
        batch_op.drop_index(batch_op.f('ix_bill_account_id'))

    op.drop_table('bill')
    op.drop_table('bill_sequence')
    drop_append_only('ledger_transfer')
    with op.batch_alter_table('ledger_transfer', schema=None) as batch_op:
        batch_op.drop_column('business_date')
    append_only('ledger_transfer')
    op.execute("UPDATE ledger_account SET kind = 'asset' WHERE kind = 'expense'")  # debit-normal, like an asset
    _ledger_kinds(KINDS)
