"""supply orders

supply_order: one row per disconnection (cut) or reconnection (restore) the dunning ladder ordered,
from the dunning step that ordered it (unique), through the head-end or a field crew: state (pending,
sent, confirmed, failed, escalated, cancelled), attempts, when to try next, a restore's deadline, the
head-end's reference, the last error, who confirmed a field order.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0018'
down_revision: Union[str, Sequence[str], None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('supply_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('case_ref', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('meter_no', sa.String(length=24), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('head_end_ref', sa.String(length=64), nullable=False),
    sa.Column('error', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('cut', 'restore')", name=op.f('ck_supply_order_kind')),
    sa.CheckConstraint("method IN ('remote', 'field')", name=op.f('ck_supply_order_method')),
    sa.CheckConstraint("state IN ('pending', 'sent', 'confirmed', 'failed', 'escalated', 'cancelled')", name=op.f('ck_supply_order_state')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_supply_order_account_id_account')),
    sa.ForeignKeyConstraint(['confirmed_by'], ['staff_user.id'], name=op.f('fk_supply_order_confirmed_by_staff_user')),
    sa.ForeignKeyConstraint(['step_id'], ['dunning_step.id'], name=op.f('fk_supply_order_step_id_dunning_step')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supply_order')),
    sa.UniqueConstraint('step_id', name=op.f('uq_supply_order_step_id'))
    )
    with op.batch_alter_table('supply_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supply_order_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_supply_order_due', ['state', 'next_try_at'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('supply_order', schema=None) as batch_op:
        batch_op.drop_index('ix_supply_order_due')
        batch_op.drop_index(batch_op.f('ix_supply_order_account_id'))

    op.drop_table('supply_order')
