"""The prediction log's tables, its engine, and the check that the schema is the migrations' head.

The tables below are what Alembic's migrations (migrations/versions/) build: `alembic check`
(tests/test_prediction_log.py) fails when the two differ. SQLite, the default, is brought up to
date when the service starts; PostgreSQL only by `python -m app.migrate`, which Railway runs once
per deploy (railway.json's preDeployCommand), so that workers never race to migrate.
"""

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic_core import to_json
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)

API_ROOT = Path(__file__).resolve().parents[1]
ID_LENGTH = 160  # holds a request id (middleware.py) and a prediction id (prediction_log/ids.py)
LABEL_LENGTH = 200

metadata = MetaData()

predictions = Table(
    "predictions",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("request_id", String(ID_LENGTH), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("model_version", String(64), nullable=False, index=True),
    Column("inputs", JSON, nullable=False),
    # The model's inputs (engineered features included), as the package computes them: drift is
    # measured on these, since personal fields in `inputs` are hashed.
    Column("features", JSON, nullable=False),
    # The answer: a classifier's label and probabilities, or a regression's value and interval.
    Column("label", String(LABEL_LENGTH), nullable=True),
    Column("probabilities", JSON, nullable=True),
    Column("value", Float, nullable=True),
    Column("lower", Float, nullable=True),
    Column("upper", Float, nullable=True),
    Column("latency_ms", Float, nullable=False),
    # "champion": the answer the client got. "shadow": a challenger's answer to the same record
    # (app/challenger.py), never sent; champion_id names the champion's row, whose outcome
    # scores both.
    Column("role", String(16), nullable=False, server_default="champion"),
    Column("champion_id", String(ID_LENGTH), nullable=True, index=True),
)

feedback = Table(
    "feedback",
    metadata,
    Column(
        "prediction_id",
        String(ID_LENGTH),
        ForeignKey("predictions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # The outcome: the true class, or the true value.
    Column("label", String(LABEL_LENGTH), nullable=True),
    Column("value", Float, nullable=True),
    Column("note", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# What each alert rule said at the last check (python -m app.alerts, app/alerts/): a firing alert
# is sent once and its resolution once, and counters are compared across the rule's window.
alert_state = Table(
    "alert_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("firing", Boolean, nullable=False),
    Column("since", DateTime(timezone=True), nullable=True),
    Column("detail", Text, nullable=False),
    Column("memory", JSON, nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False),
)


class SchemaBehindError(RuntimeError):
    """The database is not at the migrations' head: the service would write the wrong tables."""


def json_text(value: Any) -> str:
    """The JSON columns' text, by pydantic's encoder: a third of the json module's time, and the
    log writes three JSON values a row."""
    return to_json(value).decode()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        engine = create_engine(url, json_serializer=json_text, connect_args={"timeout": 30})

        @event.listens_for(engine, "do_connect")
        def make_folder(*_: Any) -> None:
            """The file's folder, made at the first connection: importing app.main (which makes
            an app) touches no disk."""
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)

        @event.listens_for(engine, "connect")
        def sqlite_settings(connection: Any, _: Any) -> None:
            # WAL: readers (the feedback route) never wait for the log's writer. synchronous
            # NORMAL: a commit outlasts the process's crash without an fsync (5x faster here);
            # a power cut may undo the last ones, as it may the spool's last lines. Foreign keys
            # on, so deleting a prediction deletes its feedback, as on PostgreSQL.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")

        return engine
    # A database host that stopped answering must not hang a connection for minutes.
    return create_engine(
        url, json_serializer=json_text, pool_pre_ping=True, connect_args={"connect_timeout": 5}
    )


def alembic_config(url: str) -> Config:
    config = Config(str(API_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(API_ROOT / "migrations"))
    config.attributes["url"] = url
    return config


def migrate(url: str) -> None:
    """Bring the database to the migrations' head."""
    command.upgrade(alembic_config(url), "head")


def check_schema(engine: Engine) -> None:
    """Raise SchemaBehindError unless the database is at the migrations' head."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        raise SchemaBehindError(
            f"the prediction log's database is at migration {current or 'none'}, the code needs "
            f"{head}: run `python -m app.migrate` (Railway runs it before each deploy)"
        )
