"""Alembic environment: one database, URL from the caller, `-x url=...`, the environment or `.env`.

`store.migrate.upgrade` hands over a live connection (config.attributes["connection"]); the CLI
(`alembic -c store/alembic.ini upgrade head`) names the database by URL.
"""

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from core.database import make_engine
from store.models import Base

DEFAULT_URL = "sqlite:///data/mappa.db"

config = context.config
target_metadata = Base.metadata

# Logging from alembic.ini only when run from the command line: inside the worker or the tests, the
# application's logging stays as it was.
if config.config_file_name and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    explicit = (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("MAPPA_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
    )
    if explicit:
        return explicit
    # As the worker sees it: a URL set in .env, else the development default.
    from core.settings import Settings

    return Settings().database_url or DEFAULT_URL


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = make_engine(database_url())
    try:
        with engine.connect() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
