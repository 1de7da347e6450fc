"""review decisions: who ordered a re-read, the read a decision left valid; reads by reader

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('review_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ordered_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('result_read_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_review_item_ordered_by_staff_user'), 'staff_user', ['ordered_by'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_review_item_result_read_id_meter_read'), 'meter_read', ['result_read_id'], ['id'])

    with op.batch_alter_table('meter_read', schema=None) as batch_op:
        batch_op.create_index('ix_meter_read_reader_id_read_on', ['reader_id', 'read_on'], unique=False, sqlite_where=sa.text('reader_id IS NOT NULL'), postgresql_where=sa.text('reader_id IS NOT NULL'))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('meter_read', schema=None) as batch_op:
        batch_op.drop_index('ix_meter_read_reader_id_read_on', sqlite_where=sa.text('reader_id IS NOT NULL'), postgresql_where=sa.text('reader_id IS NOT NULL'))

    with op.batch_alter_table('review_item', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_review_item_result_read_id_meter_read'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_review_item_ordered_by_staff_user'), type_='foreignkey')
        batch_op.drop_column('result_read_id')
        batch_op.drop_column('ordered_by')
