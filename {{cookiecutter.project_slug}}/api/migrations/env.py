"""Alembic's environment: app/db.py's tables, on the database of DATABASE_URL."""

from alembic import context
from sqlalchemy import Connection

from app.config import Settings
from app.db import make_engine, metadata

config = context.config


def run(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # SQLite's batch migrations copy a table, then drop the old one: with foreign keys on,
        # dropping `predictions` would delete every outcome (ON DELETE CASCADE).
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


url = config.attributes.get("url") or Settings().database_url
if context.is_offline_mode():
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    with make_engine(url).connect() as connection:
        run(connection)
