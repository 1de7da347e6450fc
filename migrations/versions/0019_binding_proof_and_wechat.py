"""binding proof, labels, WeChat identities, mini-program sessions, quiet hours

customer.id_number_tail: the last four characters of the holder's ID number, which a resident binding
a 户号 must know (or the meter number). binding.label: the resident's name for it (家, 父母家, 店铺).
wechat_identity: an openid per WeChat app (official-account web OAuth, mini-program), linked to a
resident once a phone is proved. login_session.kind gains 'api' (a mini-program token).
notification_preference gains the resident's own quiet hours.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0019'
down_revision: Union[str, Sequence[str], None] = '0018'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_number_tail', sa.String(length=4), nullable=False, server_default=''))
    with op.batch_alter_table('binding', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label', sa.String(length=20), nullable=False, server_default=''))
    with op.batch_alter_table('notification_preference', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quiet_from_hour', sa.Integer(), nullable=False, server_default='22'))
        batch_op.add_column(sa.Column('quiet_until_hour', sa.Integer(), nullable=False, server_default='8'))
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_login_session_kind'), type_='check')
        batch_op.create_check_constraint('kind', "kind IN ('resident', 'staff', 'api')")
    op.create_table('wechat_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('app', sa.String(length=10), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('unionid', sa.String(length=64), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_wechat_identity_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_identity')),
    sa.UniqueConstraint('app', 'openid', name=op.f('uq_wechat_identity_app_openid')),
    )
    op.create_index(op.f('ix_wechat_identity_resident_id'), 'wechat_identity', ['resident_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_wechat_identity_resident_id'), table_name='wechat_identity')
    op.drop_table('wechat_identity')
    op.execute("DELETE FROM login_session WHERE kind = 'api'")
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_login_session_kind'), type_='check')
        batch_op.create_check_constraint('kind', "kind IN ('resident', 'staff')")
    with op.batch_alter_table('notification_preference', schema=None) as batch_op:
        batch_op.drop_column('quiet_until_hour')
        batch_op.drop_column('quiet_from_hour')
    with op.batch_alter_table('binding', schema=None) as batch_op:
        batch_op.drop_column('label')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('id_number_tail')
