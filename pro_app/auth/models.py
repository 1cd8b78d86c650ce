"""Staff accounts, their roles in studies, and their server-side sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pro_app.dbtypes import UTCDateTime, str_enum, utcnow
from pro_app.extensions import db

if TYPE_CHECKING:
    from pro_app.studies.models import Site, Study


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    INVESTIGATOR = "investigator"
    DATA_MANAGER = "data_manager"
    MONITOR = "monitor"


class StaffUser(db.Model):
    """A member of a trial team. Passwords are argon2 hashes, never stored plain."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    # A system administrator manages accounts and may act in every study.
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by an administrator's reset: the next sign-in must choose a new one.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # TOTP secret, Fernet-encrypted with the data key; the last accepted time
    # step, so one code cannot be used twice.
    totp_secret: Mapped[str | None] = mapped_column(String(400))
    totp_last_step: Mapped[int | None]

    roles: Mapped[list[StudyRole]] = relationship(
        back_populates="user", foreign_keys="StudyRole.user_id"
    )

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None


class StudyRole(db.Model):
    """What one staff member may do in one study, optionally at one site only."""

    __tablename__ = "study_roles"
    __table_args__ = (UniqueConstraint("user_id", "study_id", "site_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    # NULL: every site of the study.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    user: Mapped[StaffUser] = relationship(
        back_populates="roles", foreign_keys=[user_id]
    )
    study: Mapped[Study] = relationship()
    site: Mapped[Site | None] = relationship()


class StaffSession(db.Model):
    """A login session kept on the server, so it can be ended from the server.

    The browser's cookie holds only a random key; its SHA-256 is stored here.
    """

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Absolute end, and the inactivity allowed between two requests.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    idle_minutes: Mapped[int]
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[StaffUser] = relationship()
