"""a property manager's own label per 户号

manager_account.label: what the property manager calls the 户号 (3栋201, 物业办公室, 水泵房), shown
on its list and found by its search.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0021'
down_revision: Union[str, Sequence[str], None] = '0020'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('manager_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label', sa.String(length=40), nullable=False, server_default=''))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('manager_account', schema=None) as batch_op:
        batch_op.drop_column('label')
