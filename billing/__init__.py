"""The billing core: accounts, reads, tariffs, bills, the ledger, dunning and the event outbox.

No Flask and no payment or messaging SDK below this line (checked by import-linter).
"""

from sqlmodel import SQLModel

# Stable constraint names, so that Alembic migrations can name what they create and drop.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
