"""regression answers: a value and its interval beside a label and probabilities

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("lower", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("upper", sa.Float(), nullable=True))
        batch_op.alter_column("label", existing_type=sa.String(length=200), nullable=True)
        batch_op.alter_column("probabilities", existing_type=sa.JSON(), nullable=True)

    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value", sa.Float(), nullable=True))
        batch_op.alter_column("label", existing_type=sa.String(length=200), nullable=True)


def downgrade() -> None:
    """Back to labels only: refused while a regression's rows are in the log."""
    connection = op.get_bind()
    if connection.execute(sa.text("SELECT 1 FROM predictions WHERE label IS NULL")).first():
        raise RuntimeError("the log holds a regression's predictions: 0001 has no place for them")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.alter_column("label", existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_column("value")

    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.alter_column("probabilities", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("label", existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_column("upper")
        batch_op.drop_column("lower")
        batch_op.drop_column("value")
