"""Apply the Alembic migrations the line ships (`ivr db upgrade`).

From a checkout they are migrations/ at the repository root; from an installed wheel, the
copy packaged in ivr/data/migrations/ (settings.shipped).
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

from .settings import shipped

MIGRATIONS = shipped("migrations")


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (default: the newest)."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Take the schema down to `revision` (default: empty)."""
    with engine.begin() as connection:
        command.downgrade(_config(connection), revision)
