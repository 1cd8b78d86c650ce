"""the protocol's baseline timepoint

A timepoint may be declared the study's baseline visit (``baseline = true`` in
the protocol file, at most one a study). The SDTM baseline flag and the
exports' change-from-baseline columns refer to it. Existing timepoints are not
the baseline until the protocol is imported again with the key.

Revision ID: d1e5a7b3c9f2
Revises: bf892a4199ce
Create Date: 2026-12-06 09:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "d1e5a7b3c9f2"
down_revision = "bf892a4199ce"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN, not a batch (see bf892a4199ce: a batch would copy and
    # drop a table that assignments reference).
    op.add_column(
        "timepoints",
        sa.Column(
            "is_baseline", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )


def downgrade():
    op.drop_column("timepoints", "is_baseline")
