"""Trust nothing: Twilio's signature on each webhook, safe settings, answers that never fail."""

from __future__ import annotations

import hmac
import logging
from urllib.parse import quote

from flask import Flask, Request, Response, abort, current_app, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from werkzeug.exceptions import HTTPException

from . import callbacks, edge, sms, voice
from .settings import DEV_SECRET, Settings, SettingsError

log = logging.getLogger(__name__)
TWILIO_PATHS = ("/voice", "/sms")


def unsafe_settings(settings: Settings) -> list[str]:
    """What keeps these settings from running in production (empty in development)."""
    if settings.development:
        return []
    problems = []
    if not settings.TWILIO_AUTH_TOKEN:
        problems.append("TWILIO_AUTH_TOKEN is not set: webhook signatures cannot be checked")
    if settings.SECRET_KEY == DEV_SECRET or len(settings.SECRET_KEY) < 16:
        problems.append("SECRET_KEY is the development default or shorter than 16 characters")
    if not settings.IVR_VALIDATE_SIGNATURES:
        problems.append("IVR_VALIDATE_SIGNATURES is off, which only development allows")
    return problems


def signed_url(req: Request, settings: Settings) -> str:
    """The URL Twilio requested and signed: raw path and query, public scheme and host."""
    raw = req.environ.get("RAW_URI") or req.environ.get("REQUEST_URI")
    if not raw:
        query = req.environ.get("QUERY_STRING", "")
        raw = quote(req.script_root + req.path) + (f"?{query}" if query else "")
    if "://" in raw.split("?", 1)[0]:  # an absolute-form request line
        raw = "/" + raw.split("://", 1)[1].split("/", 1)[-1]
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL.rstrip("/") + raw
    return f"{req.scheme}://{req.host}{raw}"


def check_signature() -> None:
    """Refuse (403) a webhook request Twilio did not sign, before anything happens."""
    settings: Settings = current_app.config["IVR"]
    if not request.path.startswith(TWILIO_PATHS) or not settings.IVR_VALIDATE_SIGNATURES:
        return
    signature = request.headers.get("X-Twilio-Signature", "")
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER, ""))
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    url = signed_url(request, settings)
    if not signature or not _signed(validator, url, signature, algorithm):
        log.warning("refused an unsigned or wrongly signed request to %s", request.path)
        abort(403)


def _signed(validator: RequestValidator, url: str, signature: str, algorithm: str) -> bool:
    """Twilio's own check, one HMAC for the usual request.

    The URL exactly as the app sees it is tried first; only when that fails does
    `validate` try it with and without the port (Twilio signs either), which costs three.
    """
    try:
        exact = validator.compute_signature(url, request.form, algorithm)
    except ValueError:  # an algorithm twilio does not know: validate says no, and logs it
        exact = ""
    if exact and hmac.compare_digest(exact, signature):
        return True
    return bool(validator.validate(url, request.form, signature, algorithm))


def fail_safe(error: Exception) -> Response | HTTPException:
    """Any fault in a webhook: the caller still gets a next step, with status 200."""
    if isinstance(error, HTTPException):
        return error
    log.error("fault in %s: %s", request.path, type(error).__name__, exc_info=error)
    channel = "sms" if request.path.startswith("/sms") else "voice"
    try:
        detail = f"{request.path[:40]} {type(error).__name__}"
        edge.store().record(edge.now(), channel, "error", detail=detail)
    except Exception:  # counting the fault must not become a second one
        log.error("fault not counted")
    if request.path.startswith("/sms"):
        return sms.fallback()
    if request.path.startswith(callbacks.bp.url_prefix or "/voice/callback"):
        return Response(callbacks.FAULT, mimetype="text/xml")  # a counselor, not a caller
    if request.path.startswith("/voice"):
        return Response(voice.safety_twiml(), mimetype="text/xml")
    return Response("Internal error", status=500, mimetype="text/plain")


class StaffOnlySessions(SecureCookieSessionInterface):
    """Twilio's webhooks carry no cookie and keep nothing in a session: theirs is the empty,
    read-only one, so no request to them reads, verifies or sets the staff session cookie."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(TWILIO_PATHS):
            return None  # Flask then uses make_null_session: empty, and a write raises
        return super().open_session(app, request)


def protect(app: Flask, settings: Settings) -> None:
    """Refuse unsafe production settings; check signatures; limit size; never fail a caller."""
    problems = unsafe_settings(settings)
    if problems:
        raise SettingsError("; ".join(problems))
    if not settings.IVR_VALIDATE_SIGNATURES:
        log.warning(
            "!!! TWILIO SIGNATURE CHECKS ARE OFF (IVR_VALIDATE_SIGNATURES=0, IVR_ENV=%s): "
            "anyone can post to the webhooks. Development only. !!!",
            settings.IVR_ENV,
        )
    app.config["MAX_CONTENT_LENGTH"] = settings.IVR_MAX_REQUEST_BYTES
    app.config["MAX_FORM_MEMORY_SIZE"] = settings.IVR_MAX_REQUEST_BYTES
    app.session_interface = StaffOnlySessions()
    app.before_request(check_signature)
    app.register_error_handler(Exception, fail_safe)
