"""Staff accounts: passwords, lockout, second factor and sessions.

Roles in studies are in ``grants.py``.

Every change is audited. Services flush and never commit; the request or the
command commits.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.auth.models import StaffSession, StaffUser, StudyRole
from pro_app.dbtypes import utcnow
from pro_app.participants.crypto import decrypt, encrypt
from pro_app.studies.models import Study

_hasher = PasswordHasher()


# Verified against when the email is unknown, so a wrong address costs the
# same time as a wrong password and does not reveal which accounts exist.
@functools.cache
def _dummy_hash() -> str:
    # Made on first need, not at import: argon2 takes ~64 MiB and a moment.
    return _hasher.hash(secrets.token_hex(16))


MIN_PASSWORD_LENGTH = 12


class AccountError(ValueError):
    """A request about an account that cannot be carried out (message is safe)."""


@dataclass(frozen=True)
class Policy:
    """Sign-in rules, from configuration."""

    lockout_threshold: int = 5
    lockout_minutes: int = 15
    idle_minutes: int = 15
    session_hours: int = 12


class LoginOutcome(StrEnum):
    OK = "ok"
    NEEDS_TOTP = "needs_totp"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: StaffUser | None = None
    locked_until: datetime | None = None


def actor_for(user: StaffUser) -> str:
    """Return the audit actor string of a staff member."""
    return f"staff:{user.id}"


def _hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """Return the address as stored: trimmed and lower-case."""
    return email.strip().lower()


def check_password_rules(password: str, email: str) -> None:
    """Raise ``AccountError`` unless the password is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
        )
    if password.strip().lower() == normalise_email(email):
        raise AccountError("The password must not be the email address.")


def user_by_email(session: Session, email: str) -> StaffUser | None:
    """Return the account with this email address, if any."""
    return session.scalar(
        select(StaffUser).where(StaffUser.email == normalise_email(email))
    )


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    is_admin: bool = False,
    must_change_password: bool = False,
    actor: str,
) -> StaffUser:
    """Create a staff account (audited, without the password)."""
    email = normalise_email(email)
    if "@" not in email:
        raise AccountError("Enter a valid email address.")
    if user_by_email(session, email) is not None:
        raise AccountError("An account with this email address already exists.")
    check_password_rules(password, email)
    user = StaffUser(
        email=email,
        name=name.strip() or email,
        password_hash=_hasher.hash(password),
        is_admin=is_admin,
        must_change_password=must_change_password,
        password_changed_at=utcnow(),
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        action="staff.create",
        entity_type="staff_user",
        entity_id=user.id,
        new={"email": email, "name": user.name, "is_admin": is_admin},
    )
    return user


def _login_failure(
    session: Session, user: StaffUser | None, detail: dict[str, object]
) -> None:
    record(
        session,
        actor="anonymous" if user is None else actor_for(user),
        action="login.failure",
        entity_type="staff_user",
        entity_id=None if user is None else user.id,
        new=detail,
    )


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    policy: Policy,
    now: datetime | None = None,
) -> LoginResult:
    """Check a password, counting failures and locking the account when needed.

    Every attempt is audited (``login.success`` is recorded when the session
    starts, after any second factor).
    """
    now = now or utcnow()
    user = user_by_email(session, email)
    if user is None:
        try:
            _hasher.verify(_dummy_hash(), password)
        except VerificationError:
            pass
        _login_failure(session, None, {"reason": "unknown account"})
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    if user.locked_until is not None and user.locked_until > now:
        _login_failure(session, user, {"reason": "locked"})
        return LoginResult(LoginOutcome.LOCKED, user, user.locked_until)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        new = {"reason": "wrong password", "failed_logins": user.failed_logins}
        if user.failed_logins >= policy.lockout_threshold:
            user.locked_until = now + timedelta(minutes=policy.lockout_minutes)
            user.failed_logins = 0
            new["locked_until"] = user.locked_until
        _login_failure(session, user, new)
        if user.locked_until is not None and user.locked_until > now:
            return LoginResult(LoginOutcome.LOCKED, user, user.locked_until)
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    if not user.active:
        _login_failure(session, user, {"reason": "disabled"})
        return LoginResult(LoginOutcome.DISABLED, user)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    if user.totp_enabled:
        return LoginResult(LoginOutcome.NEEDS_TOTP, user)
    return LoginResult(LoginOutcome.OK, user)


# --- second factor -----------------------------------------------------------


def new_totp_secret() -> str:
    """Return a fresh base32 TOTP secret."""
    return pyotp.random_base32()


def totp_uri(secret: str, user: StaffUser, issuer: str) -> str:
    """The ``otpauth://`` address an authenticator app scans."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    # One step either side, for a phone clock a little off.
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def enable_totp(
    session: Session,
    user: StaffUser,
    secret: str,
    code: str,
    *,
    data_key: str,
    now: datetime | None = None,
) -> bool:
    """Turn on the second factor once the user proves their app shows ``code``."""
    now = now or utcnow()
    step = _matching_step(secret, code, now)
    if step is None:
        return False
    user.totp_secret = encrypt(secret, data_key)
    user.totp_last_step = step
    session.flush()
    record(
        session,
        actor=actor_for(user),
        action="staff.totp_enable",
        entity_type="staff_user",
        entity_id=user.id,
    )
    return True


def disable_totp(session: Session, user: StaffUser, *, actor: str) -> None:
    """Turn off the second factor (the user, or an administrator's reset)."""
    if user.totp_secret is None:
        return
    user.totp_secret = None
    user.totp_last_step = None
    session.flush()
    record(
        session,
        actor=actor,
        action="staff.totp_disable",
        entity_type="staff_user",
        entity_id=user.id,
    )


def check_totp(
    session: Session,
    user: StaffUser,
    code: str,
    *,
    data_key: str,
    now: datetime | None = None,
) -> bool:
    """Check a code from the user's app; a code is accepted once only."""
    now = now or utcnow()
    secret = decrypt(user.totp_secret, data_key)
    step = None if secret is None else _matching_step(secret, code, now)
    if step is None or (
        user.totp_last_step is not None and step <= user.totp_last_step
    ):
        _login_failure(session, user, {"reason": "wrong second-factor code"})
        return False
    user.totp_last_step = step
    session.flush()
    return True


# --- sessions ----------------------------------------------------------------


def idle_minutes_for(session: Session, user: StaffUser, default: int) -> int:
    """The strictest inactivity limit of the studies the user works in.

    A study may set ``staff_idle_minutes``; a session spans studies, so the
    shortest limit among the user's studies applies (``default`` otherwise).
    """
    studies = session.scalars(
        select(Study)
        .join(StudyRole, StudyRole.study_id == Study.id)
        .where(StudyRole.user_id == user.id)
    ).all()
    limits = [default]
    for study in studies:
        value = (study.settings or {}).get("staff_idle_minutes")
        if isinstance(value, int) and value > 0:
            limits.append(value)
    return min(limits)


def start_session(
    session: Session,
    user: StaffUser,
    *,
    policy: Policy,
    ip: str | None,
    user_agent: str | None,
    now: datetime | None = None,
) -> str:
    """Open a server-side session after a full sign-in; return its raw key."""
    now = now or utcnow()
    key = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            user_id=user.id,
            session_hash=_hash_key(key),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=policy.session_hours),
            idle_minutes=idle_minutes_for(session, user, policy.idle_minutes),
            ip=ip,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    user.last_login_at = now
    session.flush()
    record(
        session,
        actor=actor_for(user),
        action="login.success",
        entity_type="staff_user",
        entity_id=user.id,
    )
    return key


# Activity is written at most this often: one write per request is not needed
# to enforce a limit counted in minutes.
LAST_SEEN_GRANULARITY = timedelta(seconds=30)


class SessionState(StrEnum):
    LIVE = "live"
    IDLE = "idle"
    EXPIRED = "expired"
    ENDED = "ended"


def resume_session(
    session: Session, key: str, *, now: datetime | None = None
) -> tuple[SessionState, StaffUser | None]:
    """Look up a session key on a request; end it if it has timed out.

    A live session's ``last_seen_at`` moves to ``now``. Disabled accounts,
    revoked sessions and unknown keys all give ``ENDED``.
    """
    now = now or utcnow()
    row = session.scalar(
        select(StaffSession).where(StaffSession.session_hash == _hash_key(key))
    )
    if row is None or row.revoked_at is not None or not row.user.active:
        return SessionState.ENDED, None
    if row.expires_at <= now:
        _end(row, now, "expired")
        return SessionState.EXPIRED, None
    if row.last_seen_at + timedelta(minutes=row.idle_minutes) <= now:
        _end(row, now, "idle")
        return SessionState.IDLE, None
    if now - row.last_seen_at > LAST_SEEN_GRANULARITY:
        row.last_seen_at = now
        session.flush()
    return SessionState.LIVE, row.user


def _end(row: StaffSession, now: datetime, reason: str) -> None:
    row.revoked_at = now
    row.end_reason = reason


def end_session(session: Session, key: str, *, reason: str = "logout") -> None:
    """End one session (sign-out), audited."""
    row = session.scalar(
        select(StaffSession).where(StaffSession.session_hash == _hash_key(key))
    )
    if row is None or row.revoked_at is not None:
        return
    _end(row, utcnow(), reason)
    session.flush()
    record(
        session,
        actor=actor_for(row.user),
        action="logout",
        entity_type="staff_user",
        entity_id=row.user_id,
    )


def end_all_sessions(session: Session, user: StaffUser, *, reason: str) -> int:
    """End every live session of a user; return how many were ended."""
    result = session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user.id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), end_reason=reason)
    )
    return result.rowcount


# --- passwords and account state --------------------------------------------


def password_matches(user: StaffUser, password: str) -> bool:
    """Return whether ``password`` is the user's current password."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def change_password(
    session: Session,
    user: StaffUser,
    current: str,
    new: str,
    *,
    keep_session_key: str | None = None,
) -> None:
    """Change one's own password; every other session of the user ends."""
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError) as exc:
        raise AccountError("The current password is not correct.") from exc
    check_password_rules(new, user.email)
    if secrets.compare_digest(current, new):
        raise AccountError("The new password must differ from the current one.")
    user.password_hash = _hasher.hash(new)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    keep = None if keep_session_key is None else _hash_key(keep_session_key)
    session.execute(
        update(StaffSession)
        .where(
            StaffSession.user_id == user.id,
            StaffSession.revoked_at.is_(None),
            StaffSession.session_hash != (keep or ""),
        )
        .values(revoked_at=utcnow(), end_reason="password changed")
    )
    session.flush()
    record(
        session,
        actor=actor_for(user),
        action="staff.password_change",
        entity_type="staff_user",
        entity_id=user.id,
    )


def reset_password(
    session: Session, user: StaffUser, temporary: str, *, actor: str, reason: str
) -> None:
    """An administrator sets a temporary password; all sessions of the user end."""
    check_password_rules(temporary, user.email)
    user.password_hash = _hasher.hash(temporary)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    ended = end_all_sessions(session, user, reason="password reset")
    session.flush()
    record(
        session,
        actor=actor,
        action="staff.password_reset",
        entity_type="staff_user",
        entity_id=user.id,
        new={"sessions_ended": ended, "must_change_password": True},
        reason=reason,
    )


def set_disabled(
    session: Session, user: StaffUser, disabled: bool, *, actor: str, reason: str
) -> None:
    """Disable (ending every session) or re-enable an account."""
    if disabled == (user.disabled_at is not None):
        return
    old = {"disabled": not disabled}
    if disabled:
        user.disabled_at = utcnow()
        end_all_sessions(session, user, reason="account disabled")
    else:
        user.disabled_at = None
        user.failed_logins = 0
        user.locked_until = None
    session.flush()
    record(
        session,
        actor=actor,
        action="staff.disable" if disabled else "staff.enable",
        entity_type="staff_user",
        entity_id=user.id,
        old=old,
        new={"disabled": disabled},
        reason=reason,
    )


def count_admins(session: Session) -> int:
    """Return the number of active system administrators."""
    return (
        session.scalar(
            select(func.count())
            .select_from(StaffUser)
            .where(StaffUser.is_admin.is_(True), StaffUser.disabled_at.is_(None))
        )
        or 0
    )
