"""Databases for integration tests: each test gets an empty one, on SQLite and on PostgreSQL.

`database_url` is parametrised, so a test that asks for it (or for `engine`) runs once per database. On
PostgreSQL each test gets a fresh schema (dropped afterwards) on the shared `test` database; the
PostgreSQL run is skipped, with the reason shown, when no server answers.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bench.rig import postgres_schema
from core.database import make_engine
from store.migrate import upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'mappa.db'}"
        return
    server_url: str = request.getfixturevalue("postgres_url")
    with postgres_schema(server_url, prefix="test") as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a database built by the migrations, as the worker builds it."""
    engine = make_engine(database_url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
