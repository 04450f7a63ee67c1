"""Alembic environment: the URL and connection come from ivr.migrate, never from a file."""

from __future__ import annotations

from alembic import context

from ivr.tables import Base

config = context.config


def run() -> None:
    """Run migrations on the connection ivr.migrate hands over (online mode only)."""
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
