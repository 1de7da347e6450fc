"""reads, meter history, review queue, routes, line loss

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('read_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_written', sa.Integer(), nullable=False),
    sa.Column('rows_duplicate', sa.Integer(), nullable=False),
    sa.Column('rows_bad', sa.Integer(), nullable=False),
    sa.Column('imported_by', sa.String(length=100), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('report', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_read_batch')),
    sa.UniqueConstraint('sha256', name=op.f('uq_read_batch_sha256'))
    )
    op.create_table('read_route',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=True),
    sa.Column('read_day', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['reader_id'], ['staff_user.id'], name=op.f('fk_read_route_reader_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_read_route')),
    sa.UniqueConstraint('code', name=op.f('uq_read_route_code'))
    )
    with op.batch_alter_table('read_route', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_read_route_reader_id'), ['reader_id'], unique=False)

    op.create_table('district_loss',
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=5), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('supply_wh', sa.BigInteger(), nullable=False),
    sa.Column('customers_wh', sa.BigInteger(), nullable=False),
    sa.Column('loss_wh', sa.BigInteger(), nullable=False),
    sa.Column('estimated', sa.Boolean(), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("period IN ('day', 'month')", name=op.f('ck_district_loss_period')),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_district_loss_district_id_district')),
    sa.PrimaryKeyConstraint('district_id', 'period', 'starts_on', name=op.f('pk_district_loss'))
    )
    op.create_table('read_route_meter',
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['meter_id'], ['meter.id'], name=op.f('fk_read_route_meter_meter_id_meter')),
    sa.ForeignKeyConstraint(['route_id'], ['read_route.id'], name=op.f('fk_read_route_meter_route_id_read_route')),
    sa.PrimaryKeyConstraint('route_id', 'meter_id', name=op.f('pk_read_route_meter'))
    )
    op.create_table('estimate_carry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('estimated_read_id', sa.Integer(), nullable=False),
    sa.Column('actual_read_id', sa.Integer(), nullable=False),
    sa.Column('difference_wh', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('carried_on_bill_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_estimate_carry_account_id_account')),
    sa.ForeignKeyConstraint(['actual_read_id'], ['meter_read.id'], name=op.f('fk_estimate_carry_actual_read_id_meter_read')),
    sa.ForeignKeyConstraint(['estimated_read_id'], ['meter_read.id'], name=op.f('fk_estimate_carry_estimated_read_id_meter_read')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_estimate_carry')),
    sa.UniqueConstraint('estimated_read_id', name=op.f('uq_estimate_carry_estimated_read_id'))
    )
    with op.batch_alter_table('estimate_carry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_estimate_carry_account_id'), ['account_id'], unique=False)

    op.create_table('meter_installation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('multiplier', sa.Integer(), nullable=False),
    sa.Column('installed_on', sa.Date(), nullable=False),
    sa.Column('removed_on', sa.Date(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('multiplier >= 1', name=op.f('ck_meter_installation_multiplier_positive')),
    sa.CheckConstraint('removed_on IS NULL OR removed_on >= installed_on', name=op.f('ck_meter_installation_removed_after_installed')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_meter_installation_account_id_account')),
    sa.ForeignKeyConstraint(['meter_id'], ['meter.id'], name=op.f('fk_meter_installation_meter_id_meter')),
    sa.ForeignKeyConstraint(['recorded_by'], ['staff_user.id'], name=op.f('fk_meter_installation_recorded_by_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meter_installation'))
    )
    with op.batch_alter_table('meter_installation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meter_installation_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meter_installation_meter_id'), ['meter_id'], unique=False)
        batch_op.create_index('uq_meter_installation_open', ['account_id'], unique=True, sqlite_where=sa.text('removed_on IS NULL'), postgresql_where=sa.text('removed_on IS NULL'))

    op.create_table('review_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('meter_id', sa.Integer(), nullable=True),
    sa.Column('district_id', sa.Integer(), nullable=True),
    sa.Column('read_id', sa.Integer(), nullable=True),
    sa.Column('subject_on', sa.Date(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assigned_to', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.String(length=400), nullable=False),
    sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f('ck_review_item_status')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_review_item_account_id_account')),
    sa.ForeignKeyConstraint(['assigned_to'], ['staff_user.id'], name=op.f('fk_review_item_assigned_to_staff_user')),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_review_item_district_id_district')),
    sa.ForeignKeyConstraint(['meter_id'], ['meter.id'], name=op.f('fk_review_item_meter_id_meter')),
    sa.ForeignKeyConstraint(['read_id'], ['meter_read.id'], name=op.f('fk_review_item_read_id_meter_read')),
    sa.ForeignKeyConstraint(['resolved_by'], ['staff_user.id'], name=op.f('fk_review_item_resolved_by_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_item')),
    sa.UniqueConstraint('key', name=op.f('uq_review_item_key'))
    )
    with op.batch_alter_table('review_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_item_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_item_assigned_to'), ['assigned_to'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_item_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_item_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_item_meter_id'), ['meter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_item_rule'), ['rule'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_item_status'), ['status'], unique=False)

    with op.batch_alter_table('meter_read', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=10), nullable=False, server_default='valid'))
        batch_op.add_column(sa.Column('batch_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('method', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('note', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('photo', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('supersedes_id', sa.Integer(), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_meter_read_meter_id_read_on_source'), type_='unique')
        batch_op.drop_constraint(batch_op.f('ck_meter_read_source'), type_='check')
        batch_op.create_check_constraint('source', "source IN ('ami', 'manual', 'estimated', 'corrected')")
        batch_op.create_check_constraint('status', "status IN ('valid', 'superseded')")
        batch_op.create_index(batch_op.f('ix_meter_read_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index('ix_meter_read_meter_id_read_on', ['meter_id', 'read_on'], unique=False)
        batch_op.create_index('uq_meter_read_valid_day', ['meter_id', 'read_on'], unique=True, sqlite_where=sa.text("status = 'valid'"), postgresql_where=sa.text("status = 'valid'"))
        batch_op.create_foreign_key(batch_op.f('fk_meter_read_batch_id_read_batch'), 'read_batch', ['batch_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_meter_read_supersedes_id_meter_read'), 'meter_read', ['supersedes_id'], ['id'])
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_account_status'), type_='check')
        batch_op.create_check_constraint('status', "status IN ('active', 'vacant', 'disconnected', 'closed')")

    # Every existing 户号 has had its meter since it opened.
    op.execute(
        "INSERT INTO meter_installation (account_id, meter_id, multiplier, installed_on, reason, recorded_at) "
        "SELECT account.id, account.meter_id, meter.multiplier, account.opened_on, '开户', CURRENT_TIMESTAMP "
        "FROM account JOIN meter ON meter.id = account.meter_id"
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("UPDATE account SET status = 'active' WHERE status = 'vacant'")  # the older schema has no 空置
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_account_status'), type_='check')
        batch_op.create_check_constraint('status', "status IN ('active', 'disconnected', 'closed')")

    op.execute("DELETE FROM meter_read WHERE status <> 'valid' OR source = 'corrected'")
    with op.batch_alter_table('meter_read', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_meter_read_status'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_meter_read_source'), type_='check')
        batch_op.create_check_constraint('source', "source IN ('ami', 'manual', 'estimated')")
        batch_op.drop_constraint(batch_op.f('fk_meter_read_supersedes_id_meter_read'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_meter_read_batch_id_read_batch'), type_='foreignkey')
        batch_op.drop_index('uq_meter_read_valid_day', sqlite_where=sa.text("status = 'valid'"), postgresql_where=sa.text("status = 'valid'"))
        batch_op.drop_index('ix_meter_read_meter_id_read_on')
        batch_op.drop_index(batch_op.f('ix_meter_read_batch_id'))
        batch_op.create_unique_constraint(batch_op.f('uq_meter_read_meter_id_read_on_source'), ['meter_id', 'read_on', 'source'])
        batch_op.drop_column('supersedes_id')
        batch_op.drop_column('photo')
        batch_op.drop_column('note')
        batch_op.drop_column('method')
        batch_op.drop_column('batch_id')
        batch_op.drop_column('status')

    with op.batch_alter_table('review_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_item_status'))
        batch_op.drop_index(batch_op.f('ix_review_item_rule'))
        batch_op.drop_index(batch_op.f('ix_review_item_meter_id'))
        batch_op.drop_index(batch_op.f('ix_review_item_kind'))
        batch_op.drop_index(batch_op.f('ix_review_item_district_id'))
        batch_op.drop_index(batch_op.f('ix_review_item_assigned_to'))
        batch_op.drop_index(batch_op.f('ix_review_item_account_id'))

    op.drop_table('review_item')
    with op.batch_alter_table('meter_installation', schema=None) as batch_op:
        batch_op.drop_index('uq_meter_installation_open', sqlite_where=sa.text('removed_on IS NULL'), postgresql_where=sa.text('removed_on IS NULL'))
        batch_op.drop_index(batch_op.f('ix_meter_installation_meter_id'))
        batch_op.drop_index(batch_op.f('ix_meter_installation_account_id'))

    op.drop_table('meter_installation')
    with op.batch_alter_table('estimate_carry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_estimate_carry_account_id'))

    op.drop_table('estimate_carry')
    op.drop_table('read_route_meter')
    op.drop_table('district_loss')
    with op.batch_alter_table('read_route', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_read_route_reader_id'))

    op.drop_table('read_route')
    op.drop_table('read_batch')
