"""Alerts people can trust: Twilio's status callback for each staff alert.

Every staff alert is texted with a StatusCallback naming it by a random reference
(/sms/alert-status/<ref>, signature-checked like every /sms webhook). Each status is kept on
the alert; one Twilio could not deliver (undelivered, failed) is sent once more, to the
backup line (the console's, else menus.yaml's), and the console lists alerts not delivered.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response

from .edge import form_text, live, now, send_alert, store
from .store import StoreError

bp = Blueprint("alerts", __name__)
log = logging.getLogger(__name__)
RETRY = frozenset({"undelivered", "failed"})  # MessageStatus values that send the alert again
STATUSES = frozenset(
    {
        "accepted",
        "scheduled",
        "queued",
        "sending",
        "sent",
        "delivered",
        "undelivered",
        "failed",
        "read",
        "canceled",
    }
)
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@bp.post("/sms/alert-status/<ref>")
def status(ref: str) -> Response:
    """A staff alert's delivery status changed: keep it; retry an undelivered one, once."""
    said = form_text("MessageStatus", 16) or form_text("SmsStatus", 16)
    state = said if said in STATUSES else "unknown"
    error = form_text("ErrorCode", 12) or None
    try:
        failed = store().alert_status(ref, state, now(), error, RETRY)
    except StoreError:
        log.error("alert status not kept: the database is down")
        return Response(EMPTY, mimetype="text/xml")
    if failed is not None:
        sender = form_text("From", 20) or live().spec.center.public_number
        if not send_alert(failed.body, "backup", sender, retry_of=failed.id):
            log.error("undelivered staff alert not retried: no backup line, or Twilio refused it")
    return Response(EMPTY, mimetype="text/xml")
