"""Stored codes said in words on staff pages, in the reader's language.

Statuses (of questionnaires, messages, submissions, scores) and audit actions
are stored as codes (``not_scorable``, ``answer.save``). Staff pages show the
words; the code stays in a ``title`` or a secondary column for data managers,
and the CSV export of the audit trail keeps the raw codes. A code without
words here (added later, say) is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice

ASSIGNMENT_STATUS = {
    "scheduled": _l("Scheduled"),
    "open": _l("Open"),
    "in_progress": _l("In progress"),
    "completed": _l("Completed"),
    "missed": _l("Missed"),
    "not_done": _l("Not done"),
    "cancelled": _l("Cancelled"),
}
SUBMISSION_STATUS = {
    "in_progress": _l("In progress"),
    "completed": _l("Submitted"),
}
OUTBOX_STATUS = {
    "pending": _l("Queued"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
    "cancelled": _l("Not sent"),
}
SCORE_STATUS = {
    "ok": _l("Scored"),
    "not_scorable": _l("Not scorable"),
}
AUDIT_ACTIONS = {
    "study.create": _l("Study created"),
    "study.amend": _l("Protocol amended"),
    "participant.enrol": _l("Participant enrolled"),
    "participant.day0": _l("Day 0 changed"),
    "participant.timezone": _l("Time zone changed"),
    "participant.language": _l("Language changed"),
    "participant.contact": _l("Contact details changed"),
    "participant.opt_out": _l("Asked not to receive messages"),
    "participant.withdraw": _l("Participant withdrawn"),
    "assignment.create": _l("Questionnaire scheduled"),
    "assignment.move": _l("Questionnaire window moved"),
    "assignment.cancel": _l("Questionnaire cancelled"),
    "assignment.not_done": _l("Marked not done"),
    "submission.start": _l("Questionnaire started"),
    "answer.save": _l("Answer saved"),
    "submission.complete": _l("Questionnaire submitted"),
    "submission.enter": _l("Paper or interview entered"),
    "answer.correct": _l("Answer corrected"),
    "scores.compute": _l("Scores computed"),
    "scores.recompute": _l("Scores recomputed"),
    "scores.failed": _l("Scoring failed"),
    "link.issue": _l("Link issued"),
    "link.revoke": _l("Link revoked"),
    "link.use": _l("Link opened"),
    "link.handover": _l("Link handed over"),
    "link.replace": _l("Link replaced"),
    "link.renewal_requested": _l("New link asked for"),
    "notify.sent": _l("Message sent"),
    "notify.remind_now": _l("Reminder requested"),
    "data.lock": _l("Data locked"),
    "data.unlock": _l("Data unlocked"),
    "export": _l("Data exported"),
    "export.incomplete": _l("Export broken off"),
    "audit.export": _l("Audit trail exported"),
    "audit.verify": _l("Audit trail verified"),
    "login.success": _l("Signed in"),
    "login.failure": _l("Sign-in failed"),
    "logout": _l("Signed out"),
    "staff.create": _l("Account created"),
    "staff.disable": _l("Account disabled"),
    "staff.enable": _l("Account enabled"),
    "staff.password_change": _l("Password changed"),
    "staff.password_reset": _l("Password reset"),
    "staff.totp_enable": _l("Two-step sign-in turned on"),
    "staff.totp_disable": _l("Two-step sign-in turned off"),
    "role.grant": _l("Role granted"),
    "role.grant_refused": _l("Role grant refused"),
    "role.revoke": _l("Role revoked"),
}

KINDS: Mapping[str, Mapping[str, object]] = {
    "assignment": ASSIGNMENT_STATUS,
    "submission": SUBMISSION_STATUS,
    "outbox": OUTBOX_STATUS,
    "score": SCORE_STATUS,
    "action": AUDIT_ACTIONS,
}


def word(code: object, kind: str) -> str:
    """The words for a stored code of ``kind``; the code itself if it has none."""
    raw = str(getattr(code, "value", code))
    label = KINDS[kind].get(raw)
    return str(label) if label is not None else raw


def action_choices(codes: list[str]) -> list[SelectChoice]:
    """Filter options for audit actions: the code as value and title, words shown."""
    choices = [
        SelectChoice(c, word(c, "action"), render_kw={"title": c}) for c in codes
    ]
    return sorted(choices, key=lambda c: c.label)


def answer_text(code: int | None, label: str | None, sep: str = " · ") -> str:
    """An answer as code and label, once only when the label is the code (0-10)."""
    if code is None:
        return ""
    if not label or label == str(code):
        return str(code)
    return f"{code}{sep}{label}"
