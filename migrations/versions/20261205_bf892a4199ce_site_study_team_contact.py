"""site study-team contact: name, phone and email

Each site gets the study team's contact as the protocol file declares it
(``[sites.contact]``): a name, a phone number and an email address, shown on
participant pages and in messages. The earlier free-text ``contact`` column
stays as it was and is shown only where a site has no structured contact, so
nothing written there before is lost or hidden.

Revision ID: bf892a4199ce
Revises: c4a7d2e9f1b3
Create Date: 2026-12-05 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "bf892a4199ce"
down_revision = "c4a7d2e9f1b3"
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN (SQLite has both since 3.35), not a batch: a batch
# copies and drops ``sites``, which participants reference, and SQLite's
# foreign keys refuse the drop once any participant exists.
COLUMNS = (
    ("contact_name", 200),
    ("contact_phone", 32),
    ("contact_email", 254),
)


def upgrade():
    for name, length in COLUMNS:
        op.add_column("sites", sa.Column(name, sa.String(length=length), nullable=True))


def downgrade():
    for name, _length in reversed(COLUMNS):
        op.drop_column("sites", name)
