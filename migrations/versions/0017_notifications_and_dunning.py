"""notifications and dunning

notification_preference: how a resident wants to hear from us (SMS, WeChat, optional messages,
language).  message: the delivery log and send queue (queued, sending, sent, delivered, failed), one
row per event, recipient and channel (dedupe_key unique), with the provider's id and receipt.
outbox_cursor: how far a consumer has read the event outbox.  dunning_step: the ladder's history,
one row per account, case and step.  payment_plan and plan_instalment: promises to pay and
instalment plans agreed at the collections desk.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('notification_preference',
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('sms', sa.Boolean(), nullable=False),
    sa.Column('wechat', sa.Boolean(), nullable=False),
    sa.Column('optional', sa.Boolean(), nullable=False),
    sa.Column('lang', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_notification_preference_resident_id_resident')),
    sa.PrimaryKeyConstraint('resident_id', name=op.f('pk_notification_preference'))
    )
    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=100), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('lang', sa.String(length=5), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('provider_ref', sa.String(length=64), nullable=False),
    sa.Column('receipt', sa.String(length=200), nullable=False),
    sa.Column('error', sa.String(length=200), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'sending', 'sent', 'delivered', 'failed')", name=op.f('ck_message_status')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_message_account_id_account')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_message_event_id_event')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_message_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_message_dedupe_key'))
    )
    op.create_index('ix_message_due', 'message', ['status', 'due_at'], unique=False)
    op.create_index(op.f('ix_message_account_id'), 'message', ['account_id'], unique=False)
    op.create_index(op.f('ix_message_provider_ref'), 'message', ['provider_ref'], unique=False)
    op.create_table('dunning_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('case_ref', sa.String(length=40), nullable=False),
    sa.Column('step', sa.String(length=30), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_dunning_step_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dunning_step')),
    sa.UniqueConstraint('account_id', 'case_ref', 'step', name=op.f('uq_dunning_step_account_id_case_ref_step'))
    )
    op.create_index(op.f('ix_dunning_step_account_id'), 'dunning_step', ['account_id'], unique=False)
    op.create_table('payment_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('agreed_by', sa.Integer(), nullable=False),
    sa.Column('agreed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('active', 'kept', 'broken')", name=op.f('ck_payment_plan_state')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_payment_plan_account_id_account')),
    sa.ForeignKeyConstraint(['agreed_by'], ['staff_user.id'], name=op.f('fk_payment_plan_agreed_by_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_plan'))
    )
    op.create_index(op.f('ix_payment_plan_account_id'), 'payment_plan', ['account_id'], unique=False)
    op.create_table('plan_instalment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_plan_instalment_positive')),
    sa.ForeignKeyConstraint(['plan_id'], ['payment_plan.id'], name=op.f('fk_plan_instalment_plan_id_payment_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_instalment')),
    sa.UniqueConstraint('plan_id', 'due_on', name=op.f('uq_plan_instalment_plan_id_due_on'))
    )
    op.create_index(op.f('ix_plan_instalment_plan_id'), 'plan_instalment', ['plan_id'], unique=False)
    op.create_table('outbox_cursor',
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_outbox_cursor'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('outbox_cursor')
    op.drop_index(op.f('ix_plan_instalment_plan_id'), table_name='plan_instalment')
    op.drop_table('plan_instalment')
    op.drop_index(op.f('ix_payment_plan_account_id'), table_name='payment_plan')
    op.drop_table('payment_plan')
    op.drop_index(op.f('ix_dunning_step_account_id'), table_name='dunning_step')
    op.drop_table('dunning_step')
    op.drop_index(op.f('ix_message_provider_ref'), table_name='message')
    op.drop_index(op.f('ix_message_account_id'), table_name='message')
    op.drop_index('ix_message_due', table_name='message')
    op.drop_table('message')
    op.drop_table('notification_preference')
