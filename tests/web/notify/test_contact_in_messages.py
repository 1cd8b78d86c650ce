"""Messages carry the site's study team (name, phone, email) from the protocol."""

from datetime import date

from tests.web.notify.conftest import at_local, enrol_with_email, run_job, study_with

DAY0 = date(2026, 3, 2)
TZ = "Europe/London"


def _first_message(app, session, smtp, study, **overrides):
    inbox, sender = smtp
    enrol_with_email(app, session, study, "LK-001", day0=DAY0, tz=TZ)
    assert run_job(app, session, sender, at_local(DAY0, 9, TZ), **overrides).sent == 1
    (arrived,) = inbox.messages
    mail = arrived.mail
    return mail.get_body(("plain",)).get_content(), mail.get_body(
        ("html",)
    ).get_content()


def test_a_message_gives_the_site_team_name_phone_and_email(app, session, smtp):
    study = study_with(session)
    site = study.sites[0]
    site.contact_name = "Demo study team"
    site.contact_phone = "+44 20 7946 0321"
    site.contact_email = "study-team@example.org"
    text, html = _first_message(app, session, smtp, study)
    assert "Questions? Contact your study team: Demo study team" in text
    assert "Phone: +44 20 7946 0321" in text
    assert "Email: study-team@example.org" in text
    # The structured contact replaces the older free text and the default.
    assert "Study nurse" not in text
    assert '<a href="tel:+442079460321" dir="ltr">+44 20 7946 0321</a>' in html
    assert (
        '<a href="mailto:study-team@example.org" dir="ltr">study-team@example.org</a>'
        in html
    )


def test_without_a_site_contact_the_deployment_contact_is_used(app, session, smtp):
    study = study_with(session)
    study.sites[0].contact = None
    text, html = _first_message(
        app, session, smtp, study, team_contact="Trial office, +44 20 7946 0100"
    )
    assert "Questions? Contact your study team: Trial office, +44 20 7946 0100" in text
    assert "Phone:" not in text
    assert "tel:" not in html


def test_without_any_contact_the_line_is_left_out(app, session, smtp):
    study = study_with(session)
    study.sites[0].contact = None
    text, html = _first_message(app, session, smtp, study, team_contact=None)
    assert "Contact your study team" not in text
    assert "Contact your study team" not in html
