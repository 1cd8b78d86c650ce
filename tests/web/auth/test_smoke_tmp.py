from tests.conftest import login_staff
from tests.factories import make_staff, make_study


def test_login_and_dashboard(client, session):
    study = make_study(session)
    user = make_staff(session, "coordinator", study)
    r = login_staff(client, user.email)
    assert r.status_code == 302, r.get_data(as_text=True)
    r = client.get("/staff/", follow_redirects=True)
    assert r.status_code == 200
    assert "TEST-1" in r.get_data(as_text=True)
    r = client.get("/staff/s/NOPE/")
    assert r.status_code == 404
    r = client.get("/staff/users")
    assert r.status_code == 403
    r = client.get("/staff/s/TEST-1/team")
    assert r.status_code == 403
    r = client.get("/staff/account")
    assert r.status_code == 200
