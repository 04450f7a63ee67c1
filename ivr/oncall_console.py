"""The console's On call page (/staff/on-call): who is on call, and whether the line is closed
or open now. Everyone signed in reads it (numbers masked); admins change it, effective on the
next call or text, and each change is in the audit list.

It takes the console's own checks (signed in, CSRF on every post, no caching) from staff.py.
menus.yaml's `center:` stays the default: "Back to menus.yaml" and "Back to the regular hours"
clear what was set.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response as Redirect

from . import accounts, edge, oncall, staff
from .forms import ClearForm, HoursForm, OnCallForm
from .privacy import last_four
from .store import StoreError

bp = Blueprint("oncall", __name__, url_prefix="/staff")
bp.before_request(staff.check_csrf)
bp.before_request(staff.require_login)
bp.after_request(staff.no_caching)
bp.register_error_handler(CSRFError, staff.refused_form)
bp.register_error_handler(403, staff.forbidden)
bp.register_error_handler(StoreError, staff.database_down)


# The two hours forms share a page, so their fields are prefixed (close-, open-); their token
# is the page's one `csrf_token`, checked before every post (staff.check_csrf).
NO_TOKEN = {"csrf": False}


def masked(number: str | None) -> str:
    """A staff number as the console shows it: its last 4 digits, or 'none'."""
    return f"number ending in {last_four(number)}" if number else "none"


@bp.get("/on-call")
def page() -> str:
    """Who is on call and whether the line answers now; the forms to change it, for admins."""
    now, line = edge.now(), edge.line()
    state = edge.store().line_state()
    admin = g.staff.role == "admin"
    stands = oncall.standing(line, state, now)
    numbers = OnCallForm(
        staff_line=stands.staff_line,
        backup_line=stands.backup_line or "",
        alert_number=stands.alert_number or "",
    )
    return render_template(
        "staff/oncall.html",
        stands=stands,
        admin=admin,
        numbers=numbers if admin else None,
        close=HoursForm(prefix="close", until="regular", meta=NO_TOKEN),
        open_form=HoursForm(prefix="open", until="regular", meta=NO_TOKEN),
        clear=ClearForm(),
        choices=oncall.until_choices(line, now),
        zone=ZoneInfo(line.spec.center.time_zone),
        masked=masked,
        reason_length=oncall.REASON_LENGTH,
    )


def _admin() -> None:
    if g.staff.role != "admin":
        abort(403)


def _back() -> Redirect:
    return redirect(url_for("oncall.page"))


@bp.post("/on-call/numbers")
def set_numbers() -> Redirect:
    """Set the staff line, the backup line and the alert phone (E.164, checked)."""
    _admin()
    form = OnCallForm()
    try:
        staff_line = accounts.normal_phone(form.staff_line.data or "")
        backup = _optional_phone(form.backup_line.data)
        alert = _optional_phone(form.alert_number.data)
    except accounts.AccountError as exc:
        flash(f"Nothing was changed: {exc}.")
        return _back()
    edge.store().set_on_call(staff_line, backup, alert, g.staff.email, edge.now())
    flash("Who is on call is changed. It holds from the next call or text.")
    return _back()


def _optional_phone(value: str | None) -> str | None:
    text = (value or "").strip()
    return accounts.normal_phone(text) if text else None


@bp.post("/on-call/numbers/clear")
def clear_numbers() -> Redirect:
    """Go back to menus.yaml's on-call numbers."""
    _admin()
    ClearForm()  # its token was checked before the request (check_csrf)
    done = edge.store().clear_on_call(g.staff.email, edge.now())
    flash("The on-call numbers are menus.yaml's again." if done else "Nothing was set.")
    return _back()


@bp.post("/on-call/close")
def close() -> Redirect:
    """Close the line now, with a reason for staff, until a moment."""
    return _override("closed", HoursForm(prefix="close", meta=NO_TOKEN))


@bp.post("/on-call/open")
def open_now() -> Redirect:
    """Open the line now, outside its hours, until a moment."""
    return _override("open", HoursForm(prefix="open", meta=NO_TOKEN))


def _override(state: str, form: HoursForm) -> Redirect:
    _admin()
    now, line = edge.now(), edge.line()
    zone = ZoneInfo(line.spec.center.time_zone)
    until: datetime | None = None
    if form.validate():
        if form.until.data == "chosen":
            chosen = form.until_at.data
            until = chosen.replace(tzinfo=zone) if chosen else None
        else:
            until = oncall.until_choices(line, now)[state]
    reason = (form.reason.data or "").strip()
    try:
        oncall.check_override(state, until, reason, now)
    except oncall.OnCallError as exc:
        flash(f"Nothing was changed: {exc}")
        return _back()
    assert until is not None  # check_override refused None
    edge.store().set_hours(state, reason, until, g.staff.email, now)
    local = until.astimezone(zone)
    flash(
        f"The line is {'closed' if state == 'closed' else 'open'} from the next call "
        f"until {local:%a %d %b, %H:%M}."
    )
    return _back()


@bp.post("/on-call/hours/clear")
def clear_hours() -> Redirect:
    """Back to the regular hours (menus.yaml), from the next call."""
    _admin()
    ClearForm()  # its token was checked before the request (check_csrf)
    done = edge.store().clear_hours(g.staff.email, edge.now())
    flash("The line follows its regular hours again." if done else "Nothing was set.")
    return _back()
