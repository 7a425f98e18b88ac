"""The database: SQLAlchemy models, engine and sessions, Alembic migrations and the agency directory.

Shared by the activities (outbox, ledger), the API (tokens, audit, idempotent case openings) and the tests.
"""
