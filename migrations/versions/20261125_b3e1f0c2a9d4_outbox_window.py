"""outbox rows belong to a window: re-invite when a window moves

Each queued message records the opening time of the window it was planned for
(``window_opens_at``), and the outbox's uniqueness becomes one message of a kind
per channel *per window*. A window that moves (Day 0 or time zone changed) is
then planned afresh instead of being blocked by the old window's sent rows.
Existing rows are given their assignment's current opening time.

Revision ID: b3e1f0c2a9d4
Revises: 7ed4216a7b9c
Create Date: 2026-11-25 09:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b3e1f0c2a9d4"
down_revision = "7ed4216a7b9c"
branch_labels = None
depends_on = None

BACKFILL = (
    "UPDATE outbox SET window_opens_at = "
    "(SELECT assignments.opens_at FROM assignments "
    "WHERE assignments.id = outbox.assignment_id)"
)


def upgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("window_opens_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute(BACKFILL)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column(
            "window_opens_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.drop_constraint("uq_outbox_assignment_id_kind_channel", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_outbox_assignment_id_kind_channel_window_opens_at"),
            ["assignment_id", "kind", "channel", "window_opens_at"],
        )


def downgrade():
    # Keep one row per (assignment, kind, channel) so the old constraint holds:
    # the rows of earlier windows go (the newest window's rows stay).
    op.execute(
        "DELETE FROM outbox WHERE id NOT IN ("
        "SELECT MAX(id) FROM outbox GROUP BY assignment_id, kind, channel)"
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_outbox_assignment_id_kind_channel_window_opens_at"),
            type_="unique",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_outbox_assignment_id_kind_channel"),
            ["assignment_id", "kind", "channel"],
        )
        batch_op.drop_column("window_opens_at")
