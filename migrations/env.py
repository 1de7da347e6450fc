"""Alembic environment: always handed a live connection by ``migrations.upgrade`` and friends."""

from alembic import context

from migrations import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata(),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
