"""Tampering with audit_events directly in SQL: `flask audit verify` must fail
and name the right event each time (the issue's acceptance test)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DBAPIError

from pro_app.audit.chain import digest, hashed_fields
from pro_app.audit.models import AuditEvent
from pro_app.audit.services import latest_verification
from tests.web.audit.helpers import make_events, unguarded

TABLE = AuditEvent.__table__


def _verify(app, *args):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def _anchor(output: str) -> str:
    match = re.search(r"anchor for the next run: (\d+:[0-9a-f]{64})", output)
    assert match, output
    return match.group(1)


def _assert_fails_at(result, session, event_id, kind):
    assert result.exit_code == 1, result.output
    assert f"first bad event {event_id} ({kind})" in result.output
    assert "intact" not in result.output
    recorded = latest_verification(session).new_value
    assert recorded["ok"] is False
    assert recorded["first_bad"] == event_id
    assert recorded["first_problem"] == kind


def _row(session, event_id):
    return session.execute(select(TABLE).where(TABLE.c.id == event_id)).one()


def _forge(session, event_id, prev_hash, **changes):
    """A new row that looks like event 2, with a hash that matches it."""
    values = dict(_row(session, 2)._mapping)
    values.update(id=event_id, prev_hash=prev_hash, reason="forged", **changes)
    values["hash"] = digest(hashed_fields(_Obj(values)))
    return values


class _Obj:
    def __init__(self, values):
        self.__dict__.update(values)


EDITS = {
    "actor": "someone-else",
    "action": "thing.other",
    "entity_type": "other",
    "entity_id": "99",
    "study_id": 7,
    "old_value": {"v": 0},
    "new_value": {"v": 99},
    "reason": "rewritten",
    "ip": "10.0.0.1",
    "user_agent": "curl",
    "prev_hash": "f" * 64,
    "hash": "e" * 64,
}


@pytest.mark.parametrize("column", [*EDITS, "occurred_at"])
def test_an_edited_field_of_a_middle_event_is_named(app, session, column):
    make_events(session, 5)
    value = EDITS.get(column)
    if column == "occurred_at":
        value = _row(session, 3).occurred_at - timedelta(seconds=1)
    with unguarded(session):
        session.execute(update(TABLE).where(TABLE.c.id == 3).values({column: value}))
        session.commit()
        result = _verify(app)
    _assert_fails_at(result, session, 3, "edited")
    assert "event 3: contents do not match its hash" in result.output


def test_a_deleted_middle_event_is_named(app, session):
    make_events(session, 5)
    with unguarded(session):
        session.execute(text("DELETE FROM audit_events WHERE id = 3"))
        session.commit()
        result = _verify(app)
    _assert_fails_at(result, session, 3, "missing")
    assert "event 3: missing (the sequence jumps from 2 to 4)" in result.output
    assert "event 4: previous hash does not match" in result.output


def test_a_deleted_event_with_the_gap_closed_is_named(app, session):
    make_events(session, 5)
    with unguarded(session):
        session.execute(text("DELETE FROM audit_events WHERE id = 3"))
        for ident in (4, 5):  # renumber 4, 5 to 3, 4 so no id is missing
            session.execute(
                text("UPDATE audit_events SET id = :new WHERE id = :old"),
                {"new": ident - 1, "old": ident},
            )
        session.commit()
        result = _verify(app)
    _assert_fails_at(result, session, 3, "broken_link")


def test_deleting_the_newest_events_is_caught_by_the_anchor(app, session):
    make_events(session, 5)
    first = _verify(app)
    assert first.exit_code == 0, first.output
    anchor = _anchor(first.output)
    assert anchor.startswith("6:")
    with unguarded(session):
        # The last event, the verification itself: the chain alone is intact.
        session.execute(text("DELETE FROM audit_events WHERE id = 6"))
        session.commit()
        result = _verify(app, "--anchor", anchor)
    _assert_fails_at(result, session, 6, "missing")
    assert "the trail ends at event 5; the anchor saw event 6" in result.output
    assert latest_verification(session).new_value["anchor"] == anchor


def test_deleting_several_newest_events_is_caught_by_the_anchor(app, session):
    make_events(session, 5)
    anchor = _anchor(_verify(app).output)  # event 6
    make_events(session, 2)  # events 7, 8
    with unguarded(session):
        session.execute(text("DELETE FROM audit_events WHERE id >= 6"))
        session.commit()
        result = _verify(app, "--anchor", anchor)
    _assert_fails_at(result, session, 6, "missing")


def test_an_anchor_still_in_place_passes(app, session):
    make_events(session, 5)
    anchor = _anchor(_verify(app).output)
    make_events(session, 2)
    result = _verify(app, "--anchor", anchor)
    assert result.exit_code == 0, result.output
    assert "audit trail intact: 8 events" in result.output


def test_an_event_inserted_in_the_middle_is_named(app, session):
    make_events(session, 5)
    with unguarded(session):
        # Make room at id 3 (from the top, so no id is ever taken twice) and
        # put in a forged event that links correctly to event 2.
        for ident in (5, 4, 3):
            session.execute(
                text("UPDATE audit_events SET id = :new WHERE id = :old"),
                {"new": ident + 1, "old": ident},
            )
        forged = _forge(session, 3, prev_hash=_row(session, 2).hash)
        session.execute(insert(TABLE).values(forged))
        session.commit()
        result = _verify(app)
    _assert_fails_at(result, session, 3, "inserted")
    assert "event 3: inserted (event 4 links past it, to event 2)" in result.output


def test_an_event_appended_with_a_wrong_hash_is_named(app, session):
    make_events(session, 5)
    forged = _forge(session, 6, prev_hash=_row(session, 5).hash)
    forged["hash"] = "0" * 63 + "1"
    # Inserting needs no dropped trigger: the table is append-only, not closed.
    session.execute(insert(TABLE).values(forged))
    session.commit()
    _assert_fails_at(_verify(app), session, 6, "edited")


def test_an_event_appended_after_a_gap_is_named(app, session):
    make_events(session, 5)
    session.execute(
        insert(TABLE).values(_forge(session, 9, prev_hash=_row(session, 5).hash))
    )
    session.commit()
    result = _verify(app)
    _assert_fails_at(result, session, 6, "missing")
    assert "jumps from 5 to 9" in result.output


def _rewrite_from(session, start, **changes):
    """Edit event ``start`` and recompute every hash after it, as a careful
    intruder would; verification events' contents are left as they were."""
    rows = session.execute(
        select(TABLE).where(TABLE.c.id >= start).order_by(TABLE.c.id)
    ).all()
    prev = _row(session, start - 1).hash
    for row in rows:
        values = dict(row._mapping)
        if row.id == start:
            values.update(changes)
        values["prev_hash"] = prev
        values["hash"] = prev = digest(hashed_fields(_Obj(values)))
        session.execute(update(TABLE).where(TABLE.c.id == row.id).values(values))


def test_a_rewrite_with_recomputed_hashes_is_caught_by_an_earlier_verification(
    app, session
):
    make_events(session, 5)
    assert _verify(app).exit_code == 0  # event 6 saw head 5
    make_events(session, 2)
    with unguarded(session):
        _rewrite_from(session, 2, reason="rewritten")
        session.commit()
        result = _verify(app)
    # The chain itself is consistent again; the head seen at event 6 is not.
    _assert_fails_at(result, session, 5, "head_changed")
    assert "event 5: hash differs from the one an earlier verification saw" in (
        result.output
    )


def test_a_rewrite_of_everything_is_caught_only_by_the_anchor(app, session):
    make_events(session, 5)
    anchor = _anchor(_verify(app).output)  # 6:...
    with unguarded(session):
        session.execute(text("DELETE FROM audit_events WHERE id = 6"))
        _rewrite_from(session, 2, reason="rewritten")
        session.commit()
        assert _verify(app).exit_code == 0  # the limit of a chain on its own
        result = _verify(app, "--anchor", anchor)
    _assert_fails_at(result, session, 6, "head_changed")
    assert "the anchor saw" in result.output


def test_unparseable_cells_are_named_not_a_crash(app, session):
    make_events(session, 5)
    garbage = text(
        "UPDATE audit_events SET new_value = '{oops', occurred_at = 'yesterday' "
        "WHERE id = 3"
    )
    with unguarded(session):
        if session.get_bind().dialect.name == "postgresql":
            # Typed columns refuse it outright.
            with pytest.raises(DBAPIError):
                session.execute(garbage)
            session.rollback()
            assert _verify(app).exit_code == 0
            return
        session.execute(garbage)
        session.commit()
        result = _verify(app)
    _assert_fails_at(result, session, 3, "edited")
