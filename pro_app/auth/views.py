"""Staff sign-in, second factor, sign-out and the account page."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import segno
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_user, logout_user
from markupsafe import Markup

from pro_app.auth import forms, services
from pro_app.auth.access import (
    PUBLIC,
    SIGNED_IN,
    StaffIdentity,
    current_staff,
    requires,
)
from pro_app.auth.services import LoginOutcome
from pro_app.extensions import db, limiter

bp = Blueprint("auth", __name__, url_prefix="/staff")

PENDING_KEY = "pending_staff_login"
PENDING_SECONDS = 300
TOTP_SETUP_KEY = "totp_setup_secret"


def policy() -> services.Policy:
    config = current_app.config
    return services.Policy(
        lockout_threshold=config["STAFF_LOCKOUT_THRESHOLD"],
        lockout_minutes=config["STAFF_LOCKOUT_MINUTES"],
        idle_minutes=config["STAFF_IDLE_MINUTES"],
        session_hours=config["STAFF_SESSION_HOURS"],
    )


def _safe_next(target: str | None) -> str:
    # Only a path inside the staff area: never another host.
    if target and target.startswith("/staff") and not urlsplit(target).netloc:
        return target
    return url_for("staff.list_studies")


def _complete_login(user: Any, target: str | None) -> Any:
    key = services.start_session(
        db.session,
        user,
        policy=policy(),
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    db.session.commit()
    lang = session.get("lang")
    # A new cookie from scratch: nothing of the old one (a participant's
    # login, an earlier staff session) survives, and the session id rotates.
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(StaffIdentity(user, key))
    if user.must_change_password:
        return redirect(url_for(".account"))
    return redirect(_safe_next(target))


def _locked_message(result: services.LoginResult) -> str:
    minutes = 1
    if result.locked_until is not None:
        remaining = result.locked_until.timestamp() - time.time()
        minutes = max(1, int(remaining // 60) + 1)
    return ngettext(
        "This account is locked for %(num)d minute after repeated failed "
        "sign-ins. Try again later or ask an administrator.",
        "This account is locked for %(num)d minutes after repeated failed "
        "sign-ins. Try again later or ask an administrator.",
        minutes,
    )


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["STAFF_LOGIN_LIMIT"], methods=["POST"])
@requires(PUBLIC)
def login() -> Any:
    form = forms.LoginForm()
    target = request.args.get("next")
    error = None
    if form.validate_on_submit():
        result = services.authenticate(
            db.session, form.email.data, form.password.data, policy=policy()
        )
        db.session.commit()
        if result.outcome is LoginOutcome.OK:
            return _complete_login(result.user, target)
        if result.outcome is LoginOutcome.NEEDS_TOTP:
            session[PENDING_KEY] = {"id": result.user.id, "at": int(time.time())}
            return redirect(url_for(".login_code", next=target))
        if result.outcome is LoginOutcome.LOCKED:
            error = _locked_message(result)
        else:
            # Same words for an unknown address, a wrong password and a
            # disabled account: the page does not say which accounts exist.
            error = _("The email address or password is not correct.")
    status = 200 if error is None else 401
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["STAFF_LOGIN_LIMIT"], methods=["POST"])
@requires(PUBLIC)
def login_code() -> Any:
    pending = session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        session.pop(PENDING_KEY, None)
        flash(_("Please sign in again."), "info")
        return redirect(url_for(".login"))
    user = db.session.get(services.StaffUser, pending["id"])
    form = forms.TotpForm()
    error = None
    if form.validate_on_submit() and user is not None and user.active:
        ok = services.check_totp(
            db.session, user, form.code.data, data_key=current_app.config["DATA_KEY"]
        )
        db.session.commit()
        if ok:
            return _complete_login(user, request.args.get("next"))
        error = _("That code is not correct or was already used.")
    elif form.is_submitted():
        error = _("Enter the 6 digits your authenticator app shows.")
    status = 200 if error is None else 401
    return render_template("auth/login_code.html", form=form, error=error), status


@bp.post("/logout")
@requires(PUBLIC)
def logout() -> Any:
    identity = current_staff()
    if identity is not None:
        services.end_session(db.session, identity.key)
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for(".login"))


def _qr_svg(data: str) -> Markup:
    qr = segno.make(data, error="m")
    svg = qr.svg_inline(scale=5, dark="#000", light="#fff", omitsize=False)
    return Markup(svg)  # noqa: S704  (segno's own markup, no user text in it)


@bp.route("/account", methods=["GET", "POST"])
@requires(SIGNED_IN)
def account() -> Any:
    identity = current_staff()
    user = identity.user
    form = forms.PasswordChangeForm(prefix="pw")
    error = None
    if form.validate_on_submit():
        try:
            services.change_password(
                db.session,
                user,
                form.current.data,
                form.new.data,
                keep_session_key=identity.key,
            )
        except services.AccountError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash(_("Your password is changed. Your other sessions are ended."), "ok")
            return redirect(url_for(".account"))
    elif form.is_submitted():
        error = _("Check the fields marked below.")
    return render_template(
        "auth/account.html",
        user=user,
        form=form,
        disable_form=forms.TotpDisableForm(prefix="off"),
        error=error,
    ), (200 if error is None else 400)


@bp.route("/account/totp", methods=["GET", "POST"])
@requires(SIGNED_IN)
def setup_totp() -> Any:
    user = current_staff().user
    if user.totp_enabled:
        return redirect(url_for(".account"))
    secret = session.get(TOTP_SETUP_KEY) or services.new_totp_secret()
    session[TOTP_SETUP_KEY] = secret
    form = forms.TotpForm()
    error = None
    if form.validate_on_submit():
        if services.enable_totp(
            db.session,
            user,
            secret,
            form.code.data,
            data_key=current_app.config["DATA_KEY"],
        ):
            db.session.commit()
            session.pop(TOTP_SETUP_KEY, None)
            flash(_("Two-step sign-in is on."), "ok")
            return redirect(url_for(".account"))
        error = _("That code is not correct. Check the time on your phone.")
    elif form.is_submitted():
        error = _("Enter the 6 digits your authenticator app shows.")
    uri = services.totp_uri(secret, user, current_app.config["TOTP_ISSUER"])
    return render_template(
        "auth/totp_setup.html", form=form, qr=_qr_svg(uri), secret=secret, error=error
    ), (200 if error is None else 400)


@bp.post("/account/totp/off")
@requires(SIGNED_IN)
def disable_totp() -> Any:
    user = current_staff().user
    form = forms.TotpDisableForm(prefix="off")
    if form.validate_on_submit() and services.password_matches(user, form.current.data):
        services.disable_totp(db.session, user, actor=services.actor_for(user))
        db.session.commit()
        flash(_("Two-step sign-in is off."), "ok")
    else:
        flash(_("The current password is not correct."), "error")
    return redirect(url_for(".account"))
