"""Run the Alembic migrations from Python, so the worker, `make dev` and the tests build the same schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from core.database import make_engine

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"


def alembic_config() -> Config:
    return Config(str(ALEMBIC_INI))


def upgrade(database: str | Engine, revision: str = "head") -> None:
    """Bring the database (a URL or an engine) up to `revision`."""
    engine = make_engine(database) if isinstance(database, str) else database
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if isinstance(database, str):
            engine.dispose()
