"""`python -m app.migrate`: bring the prediction log's database (DATABASE_URL) to the head.

Railway runs it once per deploy, before the new deployment starts (railway.json's
preDeployCommand); app.serve runs it for the default SQLite file before its workers start.
"""

from loguru import logger

from app.config import settings_from_environment
from app.db import migrate


def main() -> None:
    settings = settings_from_environment()
    migrate(settings.database_url)
    logger.info("The prediction log's database is at the migrations' head")


if __name__ == "__main__":
    main()
