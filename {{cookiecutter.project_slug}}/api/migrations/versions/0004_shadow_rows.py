"""shadow rows: a challenger's answers beside the champion's, paired by champion_id

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), server_default="champion", nullable=False)
        )
        batch_op.add_column(sa.Column("champion_id", sa.String(length=160), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_predictions_champion_id"), ["champion_id"], unique=False
        )


def downgrade() -> None:
    """Back to champion rows only: the challengers' rows are deleted."""
    op.execute(sa.text("DELETE FROM predictions WHERE role <> 'champion'"))
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_predictions_champion_id"))
        batch_op.drop_column("champion_id")
        batch_op.drop_column("role")
