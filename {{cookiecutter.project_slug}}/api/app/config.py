"""All settings in one place, read from the environment (and an optional .env file)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

MIN_API_KEY_LENGTH = 16
API_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE = API_ROOT / "data" / "prediction_log.sqlite3"
DEFAULT_SPOOL = API_ROOT / "data" / "spool"
CHALLENGER_ENV = API_ROOT / ".challenger"  # where scripts/install.py installs the challenger
# The commit a deploy ships: CI writes this file before uploading (railway up), never to git.
COMMIT_FILE = Path(__file__).with_name("COMMIT")


def deployed_commit() -> str:
    return COMMIT_FILE.read_text(encoding="utf-8").strip() if COMMIT_FILE.is_file() else "unknown"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    project_name: str = "{{ cookiecutter.project_slug | replace('-', ' ') | title }}"
    host: str = Field(default="0.0.0.0", description="Address to listen on (app.serve).")
    port: int = Field(default=8000, gt=0, lt=65536, description="Port to listen on (app.serve).")
    web_concurrency: int = Field(default=1, gt=0, description="Uvicorn worker processes.")
    log_level: Literal["TRACE", "DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["plain", "json"] = "plain"
    log_payloads: bool = Field(default=False, description="Log request bodies (personal data!).")
    api_key: SecretStr | None = Field(
        default=None, description="When set, /api/v1/* requires it in the X-API-Key header."
    )
    cors_origins: list[str] = Field(default_factory=list)
    max_batch_size: int = Field(default=10_000, gt=0)
    source_commit: str = Field(
        default_factory=deployed_commit,
        description="The commit deployed, reported by /health: app/COMMIT, or SOURCE_COMMIT.",
    )
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024, gt=0, description="Larger request bodies get 413, unread."
    )
    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DATABASE}",
        description="The prediction log's database: SQLite (the default file) or PostgreSQL.",
    )
    prediction_log: bool = Field(
        default=True,
        description="Keep a row of every prediction: outcomes, quality and drift need it.",
    )
    prediction_log_max_pending: int = Field(
        default=100_000,
        gt=0,
        description="Rows that may wait for the database; beyond them, predictions get 503.",
    )
    prediction_log_spool_dir: Path = Field(
        default=DEFAULT_SPOOL,
        description="Where each worker keeps its rows until they are written: kept through a "
        "crash on this disk (a volume, in a container).",
    )
    prediction_log_retention_days: int | None = Field(
        default=None, gt=0, description="Rows older than this are deleted; unset keeps them all."
    )
    personal_data: Literal["hash", "drop"] = Field(
        default="hash",
        description="How the log stores the model's personal fields: a keyed hash, or not at all.",
    )
    personal_data_key: SecretStr | None = Field(
        default=None,
        description="The key of that hash; unset, a random one per process (hashes won't match).",
    )
    challenger_file: Path = Field(
        default=API_ROOT / "challenger.yml",
        description="The challenger compared with the served model on outcomes, if any "
        "(app/comparison.py).",
    )
    challenger_python: Path = Field(
        default=CHALLENGER_ENV / "bin" / "python",
        description="The interpreter of the challenger's own environment (scripts/install.py).",
    )
    service_url: str | None = Field(
        default=None, description="The service that `python -m app.alerts` checks (its base URL)."
    )
    alert_webhook_url: SecretStr | None = Field(
        default=None,
        description="Where `python -m app.alerts` posts what fires and resolves (Slack JSON).",
    )

    @field_validator("database_url")
    @classmethod
    def normalise_postgres(cls, url: str) -> str:
        """Railway and Heroku say postgres://; SQLAlchemy wants postgresql+psycopg:// (psycopg)."""
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url.removeprefix(prefix)
        if not url.startswith(("sqlite:///", "postgresql+psycopg://")):
            raise ValueError(
                "DATABASE_URL must be a SQLite file (sqlite:///path) or a PostgreSQL database "
                "(postgres://<user>:<password>@<host>/<name>)"
            )
        return url

    @model_validator(mode="after")
    def room_for_a_request(self) -> "Settings":
        if self.prediction_log_max_pending < self.max_batch_size:
            raise ValueError(
                f"PREDICTION_LOG_MAX_PENDING ({self.prediction_log_max_pending}) must be at least "
                f"MAX_BATCH_SIZE ({self.max_batch_size}), or the largest request could never be "
                "logged"
            )
        return self

    @field_validator("api_key")
    @classmethod
    def refuse_weak_keys(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value()) < MIN_API_KEY_LENGTH:
            raise ValueError(f"API_KEY must be at least {MIN_API_KEY_LENGTH} characters long")
        return key


def settings_from_environment() -> Settings:
    """The settings, or exit with one line per bad variable that never repeats its value."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            ": ".join(filter(None, (".".join(map(str, item["loc"])).upper(), item["msg"])))
            for item in error.errors(include_input=False, include_url=False)
        )
        raise SystemExit(f"invalid settings: {problems}") from None
    except SettingsError as error:  # a list or dict variable that is not JSON; names the field
        raise SystemExit(f"invalid settings: {error}") from None
