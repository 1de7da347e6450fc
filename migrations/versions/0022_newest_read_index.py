"""a meter's newest read in one index probe

meter_read (meter_id, id): the resident home page's fingerprint asks each visit for the newest read
of the 户号's meters; without it SQLite scans the meter's whole history.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0022'
down_revision: Union[str, Sequence[str], None] = '0021'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index('ix_meter_read_meter_id_id', 'meter_read', ['meter_id', 'id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_meter_read_meter_id_id', table_name='meter_read')
