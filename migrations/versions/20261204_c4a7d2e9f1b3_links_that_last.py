"""links that last: purpose, sealed token, handover display, message's link

Personal links record why they stopped working (``revoked_reason``), who issued
them and when the handover page showed them, and keep the token encrypted with
the data key (``sealed``) while it must be given out again. Each outbox row
records the link it carried, so the SMS of a planned message carries the same
link as its email. Existing links keep working; their purpose stays "link".

Revision ID: c4a7d2e9f1b3
Revises: b3e1f0c2a9d4
Create Date: 2026-12-04 20:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "c4a7d2e9f1b3"
down_revision = "b3e1f0c2a9d4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_reason", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("sealed", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("issued_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("shown_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_token_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_access_token_id_access_tokens"),
            "access_tokens",
            ["access_token_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_access_token_id_access_tokens"), type_="foreignkey"
        )
        batch_op.drop_column("access_token_id")
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_column("shown_at")
        batch_op.drop_column("issued_by")
        batch_op.drop_column("sealed")
        batch_op.drop_column("revoked_reason")
