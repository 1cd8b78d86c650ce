"""Participants' email and phone never reach the audit trail in clear."""

from __future__ import annotations

from sqlalchemy import select, text

from pro_app.audit.models import AuditEvent
from pro_app.participants.contact import opt_out, set_contact
from tests.conftest import login_staff
from tests.factories import make_participant, make_staff, make_study

EMAIL = "ada.lovelace@example.org"
PHONE = "+447700900123"
NEW_EMAIL = "a.king@example.net"
NEW_PHONE = "+447700900456"
SECRETS = (EMAIL, PHONE, NEW_EMAIL, NEW_PHONE, "lovelace", "700900")


def test_contact_details_are_never_in_the_trail(app, client, session):
    key = app.config["DATA_KEY"]
    study = make_study(session)
    p = make_participant(session, study, email=EMAIL, phone=PHONE, data_key=key)
    set_contact(
        session, p, email=NEW_EMAIL, phone=NEW_PHONE, data_key=key, actor="staff:1"
    )
    set_contact(session, p, email=None, phone=NEW_PHONE, data_key=key, actor="s:1")
    opt_out(session, p, actor=f"participant:{p.id}", channel="email")
    session.commit()

    changes = session.scalars(
        select(AuditEvent.new_value)
        .where(AuditEvent.action == "participant.contact")
        .order_by(AuditEvent.id)
    ).all()
    assert [c["changed"] for c in changes] == [
        ["email", "phone"],
        ["email", "phone"],
        ["email"],
    ]
    # Every column of every row, as the database holds it.
    cells = [
        str(cell)
        for row in session.execute(text("SELECT * FROM audit_events"))
        for cell in row
    ]
    assert len(cells) > 20
    for secret in SECRETS:
        assert not [c for c in cells if secret in c], secret

    # Nor in what a monitor sees or exports.
    monitor = make_staff(session, "monitor", study)
    login_staff(client, monitor.email)
    page = client.get("/staff/s/TEST-1/audit").get_data(as_text=True)
    assert "participant.contact" in page
    export = client.get("/staff/s/TEST-1/audit.csv").get_data(as_text=True)
    assert "participant.contact" in export
    for secret in SECRETS:
        assert secret not in page
        assert secret not in export
