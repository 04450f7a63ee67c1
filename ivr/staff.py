"""The staff console, /staff: sign in, see who is waiting, play a voicemail, call back as the
center, mark them handled, read the audit list.

Every page needs a signed-in staff member (one check before every request of the blueprint,
so a new page cannot forget it), and every form post needs its CSRF token (Flask-WTF,
checked for this blueprint only: Twilio's webhooks carry Twilio's signature instead).
A caller's number never reaches a page: only its last 4 digits.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as Redirect

from . import accounts, activity, callbacks, edge, oncall
from .forms import NOTE_LENGTH, CallBackForm, HandleForm, LoginForm, LogoutForm
from .outbound import OutboundError, stream_recording
from .privacy import last_four
from .settings import Settings
from .store import Alert, CallBack, Request, StaffAccount, StoreError

log = logging.getLogger(__name__)
bp = Blueprint("staff", __name__, url_prefix="/staff")
LOGIN_TRIES = "ivr.login_tries"  # app.extensions: the sign-in slow-down's counter and rate
PUBLIC = frozenset({"staff.login"})  # the only page open without signing in
READS = frozenset({"GET", "HEAD", "OPTIONS"})
HANDLED_DAYS = 7  # how far back the "Handled" page looks
ACTIVITY_DAYS = 30  # the activity page's period unless one is chosen
WRONG = (
    "The email or password is wrong. After {failures} wrong tries in a row an account is "
    "locked for {minutes} minutes."
)
CRISES = {"overdose": "an overdose happening now", "suicide": "a wish to die or to self-harm"}
KINDS = {
    "voicemail": "Voicemail",
    "callback": "Call-back request",
    "crisis-text": "Crisis text (the 911 and 988 reply was sent; the words are not kept)",
    "missed-call": "Missed call (no one answered when they asked for a counselor; no message)",
}
ALERTS_DAYS = 7  # how far back the queue page lists alerts not delivered
ALERT_STATUS = {
    "undelivered": "not delivered (Twilio could not reach the phone)",
    "failed": "failed (Twilio could not send it)",
    "not-sent": "not sent (Twilio refused it or could not be reached)",
    "canceled": "canceled",
    "sent": "sent, delivery not yet confirmed",
    "queued": "queued, delivery not yet confirmed",
    "delivered": "delivered",
    "read": "delivered and read",
}
CHANNELS = {"voice": "by phone", "sms": "by text"}
LANGUAGES = {"en": "English", "es": "Spanish"}


def init_app(app: Flask, settings: Settings) -> None:
    """Add the console to the app: cookie rules, CSRF for /staff, the sign-in slow-down."""
    app.config.update(
        SESSION_COOKIE_NAME="ivr_staff",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Browsers send a Secure cookie only over HTTPS; a laptop or test serves plain HTTP.
        SESSION_COOKIE_SECURE=not settings.development,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in this blueprint only (check_csrf below)
    )
    CSRFProtect(app)
    # In memory, so each gunicorn worker counts on its own: the real stop is the lockout,
    # kept in the database; this only slows down one address hammering one worker. Checked
    # by the sign-in form alone (a limiter hooked to every request would cost each webhook).
    rate = parse(f"{settings.IVR_STAFF_LOGINS_PER_MINUTE} per minute")
    app.extensions[LOGIN_TRIES] = (FixedWindowRateLimiter(MemoryStorage()), rate)
    app.register_blueprint(bp)
    from . import oncall_console  # its routes take this module's checks

    app.register_blueprint(oncall_console.bp)


def _may_try_signing_in() -> bool:
    """One more sign-in try from this address this minute (counted here, in this worker)."""
    limiter, rate = current_app.extensions[LOGIN_TRIES]
    return bool(limiter.hit(rate, "staff-login", request.remote_addr or ""))


def _settings() -> Settings:
    settings: Settings = current_app.config["IVR"]
    return settings


def session_key(account: StaffAccount) -> str:
    """What a session keeps of the password hash: a new password ends every older session."""
    return hashlib.sha256(account.password_hash.encode()).hexdigest()[:16]


# Before and after every request of the console ---------------------------------------


@bp.before_request
def check_csrf() -> None:
    """Refuse (403) a form post without this session's CSRF token."""
    if request.method not in READS:
        current_app.extensions["csrf"].protect()


@bp.before_request
def require_login() -> Redirect | None:
    """Send anyone not signed in (or idle too long) to the sign-in page."""
    if request.endpoint in PUBLIC:
        return None
    g.staff = signed_in()
    if g.staff is not None:
        return None
    wanted = request.path if request.method == "GET" else None
    return redirect(url_for("staff.login", next=wanted))


@bp.after_request
def no_caching(response: Response) -> Response:
    """Pages about callers are never cached, framed or sent as a referrer elsewhere."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def signed_in() -> StaffAccount | None:
    """The staff member this session belongs to, or None: no session, idle, or changed."""
    staff_id, key, seen = session.get("staff"), session.get("key"), session.get("seen")
    if not isinstance(staff_id, int) or not isinstance(seen, int | float):
        return None
    now = edge.now().timestamp()
    idle = _settings().IVR_STAFF_IDLE_MINUTES
    if now - seen > idle * 60:
        session.clear()
        flash(f"You were signed out after {idle} minutes without activity. Please sign in again.")
        return None
    account = edge.store().staff_by_id(staff_id)
    if account is None or key != session_key(account):
        session.clear()  # removed, or the password changed
        return None
    session["seen"] = now
    return account


# Signing in and out ----------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> Redirect | str | tuple[str, int]:
    """The sign-in form; a right email and password open the queue."""
    if request.method == "POST" and not _may_try_signing_in():
        return too_many_tries()
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        account = authenticate(form.email.data, form.password.data)
        if account is not None:
            session.clear()
            session.update(staff=account.id, key=session_key(account), seen=edge.now().timestamp())
            return redirect(_next_page())
        error = wrong_message()
    elif request.method == "POST":
        error = wrong_message()
    return render_template("staff/login.html", form=form, error=error)


def wrong_message() -> str:
    """The one refusal, the same whether the email has an account, is locked or is unknown."""
    settings = _settings()
    return WRONG.format(
        failures=settings.IVR_STAFF_LOCKOUT_FAILURES, minutes=settings.IVR_STAFF_LOCKOUT_MINUTES
    )


def authenticate(email: str, password: str) -> StaffAccount | None:
    """The account these credentials open, or None; counts failures and locks the account."""
    settings, store, now = _settings(), edge.store(), edge.now()
    try:
        account = store.staff_member(accounts.normal_email(email))
    except accounts.AccountError:
        account = None
    if account is None or (account.locked_until is not None and account.locked_until > now):
        accounts.waste_a_verify(password)  # as long as a real check: no hint either way
        if account is not None:
            store.audit(now, account.email, "login-locked")
        log.info("staff sign-in refused")
        return None
    if not accounts.verify(account.password_hash, password):
        lock = timedelta(minutes=settings.IVR_STAFF_LOCKOUT_MINUTES)
        store.login_failed(account.id, now, settings.IVR_STAFF_LOCKOUT_FAILURES, lock)
        log.info("staff sign-in refused")
        return None
    if accounts.needs_rehash(account.password_hash):
        account.password_hash = accounts.hash_password(password)
        store.login_succeeded(account.id, now, account.password_hash)
    else:
        store.login_succeeded(account.id, now)
    log.info("staff sign-in: account %d", account.id)
    return account


def _next_page() -> str:
    """Where to go after signing in: the page asked for, if it is a console page."""
    wanted = request.args.get("next", "")
    if wanted.startswith("/staff") and "//" not in wanted and "\\" not in wanted:
        return wanted
    return url_for("staff.queue")


@bp.post("/logout")
def logout() -> Redirect:
    """Sign out: the session is forgotten."""
    LogoutForm()  # its token was checked before the request (check_csrf)
    edge.store().audit(edge.now(), g.staff.email, "logout")
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("staff.login"))


# Who is waiting ----------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One person waiting (or handled), as a page shows it: never the whole number."""

    id: int
    kind: str
    channel: str
    at: datetime  # in the center's time zone
    waited: str
    language: str
    topic: str
    last_four: str
    recording_seconds: int | None
    handled_by: str | None
    handled_at: datetime | None
    handled_note: str | None
    call_back: str | None = None  # the latest call-back as the center, in words
    connected: bool = False  # that call-back reached the caller


def call_back_words(attempt: CallBack | None, zone: ZoneInfo) -> str | None:
    """The latest call-back of an entry as the console says it: by whom, when, how it went."""
    if attempt is None:
        return None
    at = attempt.placed_at.astimezone(zone).strftime("%a %d %b, %H:%M")
    if attempt.outcome is None:
        return f"{attempt.staff} is calling back now (placed {at})."
    words = callbacks.OUTCOMES.get(attempt.outcome, attempt.outcome)
    if attempt.outcome == "connected" and attempt.seconds:
        words += f" for {max(1, round(attempt.seconds / 60))} min"
    return f"{attempt.staff} called back on {at}: {words}."


def waited(since: datetime, until: datetime) -> str:
    """How long someone has waited, in words a glance takes in: '5 min', '3 h 20 min', '2 days'."""
    minutes = max(0, int((until - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{minutes // (24 * 60)} days"


def entry(row: Request, now: datetime, attempt: CallBack | None = None) -> Entry:
    """A request as the console shows it, in the center's time zone and words."""
    line = edge.line()
    zone = ZoneInfo(line.spec.center.time_zone)
    topic = line.spec.topics.get(row.topic) if row.topic else None
    about = topic.title["en"] if topic else "none chosen"
    if row.kind == "crisis-text":
        about = CRISES.get(row.topic or "", "a crisis")
    return Entry(
        id=row.id,
        kind=KINDS.get(row.kind, row.kind),
        channel=CHANNELS.get(row.channel, row.channel),
        at=row.at.astimezone(zone),
        waited=waited(row.at, row.handled_at or now),
        language=LANGUAGES.get(row.language, row.language),
        topic=about,
        last_four=last_four(row.number),
        recording_seconds=row.recording_seconds if row.recording_url else None,
        handled_by=row.handled_by,
        handled_at=row.handled_at.astimezone(zone) if row.handled_at else None,
        handled_note=row.handled_note,
        call_back=call_back_words(attempt, zone),
        connected=attempt is not None and attempt.outcome == "connected",
    )


@bp.get("")
def queue() -> str:
    """The people waiting for a counselor, oldest first, each with a 'Mark handled' form;
    above them how the line stands now, and the staff alerts that were not delivered."""
    now, store, line = edge.now(), edge.store(), edge.line()
    rows = store.waiting()
    attempts = store.callbacks([row.id for row in rows])
    waiting = [entry(row, now, attempts.get(row.id)) for row in rows]
    failed = store.alerts_not_delivered(now - timedelta(days=ALERTS_DAYS))
    retries = store.alert_retries([a.id for a in failed])
    return render_template(
        "staff/queue.html",
        entries=waiting,
        note_length=NOTE_LENGTH,
        phone=bool(g.staff.phone),
        stands=oncall.standing(line, store.line_state(), now),
        zone=ZoneInfo(line.spec.center.time_zone),
        masked=masked,
        link=True,
        alerts=[undelivered(a, retries.get(a.id)) for a in failed if a.retry_of is None],
    )


def masked(number: str | None) -> str:
    """A staff number as the console shows it: its last 4 digits, or 'none'."""
    return f"number ending in {last_four(number)}" if number else "none"


WHOM = {"alert": "the alert phone", "backup": "the backup line"}


def undelivered(alert: Alert, retry: Alert | None) -> str:
    """An alert Twilio did not deliver, in words: when, to which phone, what became of it."""
    zone = ZoneInfo(edge.line().spec.center.time_zone)
    at = alert.at.astimezone(zone).strftime("%a %d %b, %H:%M")
    said = (
        f"{at}: the alert to {WHOM.get(alert.sent_to, alert.sent_to)} "
        f"({masked(alert.phone)}), {ALERT_STATUS.get(alert.status, alert.status)}"
        f"{f', error {alert.error_code}' if alert.error_code else ''}: "
        f"\u201c{alert.body}\u201d. "
    )
    if retry is not None:
        return said + (
            f"It was sent again to the backup line ({masked(retry.phone)}): "
            f"{ALERT_STATUS.get(retry.status, retry.status)}."
        )
    if alert.retried or alert.status in ("undelivered", "failed"):
        return said + "It could not be sent again: no backup line is set."
    return said + "Check the entries below."


@bp.get("/entry/<int:request_id>")
def entry_page(request_id: int) -> Redirect:
    """Where a staff alert's link leads: the entry on the queue page (or the handled page)."""
    row = edge.store().request(request_id) if request_id else None
    if row is None:
        return redirect(url_for("staff.queue"))
    page = "staff.queue" if row.handled_at is None else "staff.handled"
    return redirect(url_for(page) + f"#entry-{row.id}")


PLACED = {
    "placed": "Calling your phone now for #{id}. Answer it and press 1 to connect; the caller "
    "will see the center's number. Reload this page to see how it went.",
    "not-waiting": "#{id} is not waiting any more: nothing was called.",
    "in-progress": "#{id} is being called back by someone now: nothing was called.",
    "not-placed": "The call for #{id} could not be placed: Twilio refused it or did not answer. "
    "#{id} stays waiting. Try again in a minute, or call from the on-call phone.",
}


@bp.post("/requests/<int:request_id>/call")
def call_back(request_id: int) -> Redirect:
    """Ring the signed-in counselor's own phone to call this person back as the center."""
    CallBackForm()  # its token was checked before the request (check_csrf)
    phone = g.staff.phone
    if not phone:
        flash(NO_PHONE)
        return redirect(url_for("staff.queue"))
    placed = callbacks.place(request_id, g.staff.email, phone)
    flash(PLACED[placed].format(id=request_id))
    return redirect(url_for("staff.queue"))


NO_PHONE = (
    "Your account has no phone number, so the console cannot ring you to call back. "
    "Ask an admin to add your phone to your account."
)


@bp.get("/recording/<int:request_id>")
def recording(request_id: int) -> Response | tuple[str, int]:
    """A voicemail's recording, streamed from Twilio with the account's credentials.

    Passed on in chunks as it arrives: never a public link, never a copy on disk, never
    cached (no_caching below). Each play is in the audit list.
    """
    row = edge.store().request(request_id)
    if row is None or not row.recording_url:
        abort(404)
    try:
        chunks = stream_recording(_settings(), row.recording_url)
    except OutboundError:
        message = (
            "The recording could not be fetched from Twilio. Try again in a minute; "
            "Twilio keeps it until it is deleted there."
        )
        return render_template(
            "staff/error.html", title="Recording not found", message=message
        ), 502
    edge.store().audit(edge.now(), g.staff.email, "played recording", request_id)
    return Response(stream_with_context(chunks), mimetype="audio/mpeg")


@bp.post("/requests/<int:request_id>/handled")
def mark_handled(request_id: int) -> Redirect:
    """Mark one request handled by the signed-in staff member, with their note."""
    form = HandleForm()
    if not form.validate():
        flash(f"#{request_id} was not changed: a note has {NOTE_LENGTH} characters at most.")
        return redirect(url_for("staff.queue"))
    note = (form.note.data or "").strip() or None
    done = edge.store().handle(request_id, g.staff.email, edge.now(), note)
    flash(f"#{request_id} is marked handled." if done else f"#{request_id} was not waiting.")
    return redirect(url_for("staff.queue"))


@bp.get("/handled")
def handled() -> str:
    """What was handled in the last days, the most recent first: who, when, and their note."""
    now = edge.now()
    rows = edge.store().handled(now - timedelta(days=HANDLED_DAYS))
    return render_template(
        "staff/handled.html", entries=[entry(r, now) for r in rows], days=HANDLED_DAYS
    )


@bp.get("/activity")
def activity_page() -> str:
    """How the line is used in a period (default: the last 30 days): figures, charts drawn
    as SVG with their numbers in tables, and a CSV download. Hashed numbers only."""
    found = _activity()
    return render_template(
        "staff/activity.html",
        found=found,
        summary=activity.summary(found),
        charts=activity.charts(found),
        weekdays=activity.WEEKDAYS,
        by_day=found.transfers_by(0),
        topics=sorted(set(found.topics_heard) | set(found.topics_texted)),
    )


@bp.get("/activity.csv")
def activity_csv() -> Response:
    """The same figures as a CSV file."""
    found = _activity()
    name = f"helpline-activity-{found.first.isoformat()}-to-{found.last.isoformat()}.csv"
    return Response(
        activity.as_csv(found),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _activity() -> activity.Activity:
    """The period asked for (?from=YYYY-MM-DD&to=YYYY-MM-DD, at most a year), counted."""
    center = edge.line().spec.center
    zone = ZoneInfo(center.time_zone)
    today = edge.now().astimezone(zone).date()
    last = _day(request.args.get("to"), today)
    first = _day(request.args.get("from"), last - timedelta(days=ACTIVITY_DAYS - 1))
    first = max(min(first, last), last - timedelta(days=366))
    since = datetime.combine(first, time(), zone)
    until = datetime.combine(last + timedelta(days=1), time(), zone)
    events, waited = edge.store().activity(since, until)
    return activity.count(center, first, last, events, waited)


def _day(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


@bp.get("/audit")
def audit() -> str:
    """Who did what in the console, newest first: admins only."""
    if g.staff.role != "admin":
        abort(403)
    zone = ZoneInfo(edge.line().spec.center.time_zone)
    rows = edge.store().audit_entries()
    return render_template("staff/audit.html", entries=rows, zone=zone)


# When something goes wrong -----------------------------------------------------------


@bp.errorhandler(CSRFError)
def refused_form(error: CSRFError) -> tuple[str, int]:
    """A post without a valid token: 403, and a way back."""
    log.warning("staff form refused: %s", error.description)
    message = (
        "This form has expired or did not come from this console. Reload the page and try again."
    )
    return render_template("staff/error.html", title="Form refused", message=message), 403


def too_many_tries() -> tuple[str, int]:
    """Too many sign-in tries from one address: 429, on the sign-in page."""
    message = "Too many sign-in tries from this address. Wait a minute and try again."
    return render_template("staff/login.html", form=LoginForm(), error=message), 429


@bp.errorhandler(404)
def not_found(error: HTTPException) -> tuple[str, int]:
    """No such entry (or no recording on it)."""
    message = "There is no such entry, or it has no recording."
    return render_template("staff/error.html", title="Not found", message=message), 404


@bp.errorhandler(403)
def forbidden(error: HTTPException) -> tuple[str, int]:
    """A page this role may not see."""
    message = "This page is for admins. Ask an admin if you need what it shows."
    return render_template("staff/error.html", title="Not for your role", message=message), 403


@bp.errorhandler(StoreError)
def database_down(error: StoreError) -> tuple[str, int]:
    """The database does not answer: say so (the phone line itself keeps working)."""
    log.error("staff console: database error %s", error)
    message = (
        "The database is not answering, so the console cannot show or save anything. "
        "The phone and text line still answer callers. Try again in a minute."
    )
    return render_template("staff/error.html", title="Database not answering", message=message), 503
