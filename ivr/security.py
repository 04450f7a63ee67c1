"""Trust nothing: Twilio's signature on each webhook, safe settings, answers that never fail."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from flask import Flask, Request, Response, abort, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import HTTPException

from . import callbacks, edge, sms, voice
from .settings import DEV_SECRET, Settings, SettingsError

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

log = logging.getLogger(__name__)
TWILIO_PATHS = ("/voice", "/sms")
FORM_TYPE = "application/x-www-form-urlencoded"  # how Twilio posts every webhook


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
    environ = req.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        query = environ.get("QUERY_STRING", "")
        raw = quote(req.script_root + req.path) + (f"?{query}" if query else "")
    if "://" in raw.split("?", 1)[0]:  # an absolute-form request line
        raw = "/" + raw.split("://", 1)[1].split("/", 1)[-1]
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL.rstrip("/") + raw
    return f"{req.scheme}://{req.host}{raw}"


def check_signature() -> None:
    """Refuse (403) a webhook request Twilio did not sign, before anything happens."""
    req = edge.this_request()
    settings: Settings = edge.this_app().config["IVR"]
    if not req.path.startswith(TWILIO_PATHS) or not settings.IVR_VALIDATE_SIGNATURES:
        return
    headers = req.headers
    signature = headers.get("X-Twilio-Signature", "")
    algorithm = get_signature_algorithm(headers.get(SIGNATURE_SETTINGS_HEADER, ""))
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    url = signed_url(req, settings)
    if not signature or not _signed(validator, url, req.form, signature, algorithm):
        log.warning("refused an unsigned or wrongly signed request to %s", req.path)
        abort(403)


def _signed(
    validator: RequestValidator,
    url: str,
    form: MultiDict[str, str],
    signature: str,
    algorithm: str,
) -> bool:
    """Twilio's own check, one HMAC for the usual request.

    The URL exactly as the app sees it is tried first; only when that fails does
    `validate` try it with and without the port (Twilio signs either), which costs three.
    """
    try:
        exact = validator.compute_signature(url, form, algorithm)
    except ValueError:  # an algorithm twilio does not know: validate says no, and logs it
        exact = ""
    if exact and hmac.compare_digest(exact, signature):
        return True
    return bool(validator.validate(url, form, signature, algorithm))


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


class WebhookForm(ImmutableMultiDict[str, str]):
    """A request's form, answering twilio's RequestValidator by the name it asks each field's
    values by first (`getall`; werkzeug's is `getlist`): without it, every field of every
    signed request costs the validator a failed lookup and a caught AttributeError."""

    def getall(self, key: str) -> list[str]:
        return self.getlist(key)


def request_class(limits: Mapping[str, int | None]) -> type[Request]:
    """The app's request class: its form a WebhookForm, and its size limits (Flask's
    max_content_length, max_form_memory_size, max_form_parts) set as it is made.

    Flask reads each limit from the app's config through its `current_app` proxy, twice
    per limit for every form it parses; set on the request, they are read at once.
    """

    class LimitedRequest(Request):
        parameter_storage_class = WebhookForm

        def __init__(self, environ: WSGIEnvironment, *args: Any, **kwargs: Any) -> None:
            super().__init__(environ, *args, **kwargs)
            self.max_content_length = limits["MAX_CONTENT_LENGTH"]
            self.max_form_memory_size = limits["MAX_FORM_MEMORY_SIZE"]
            self.max_form_parts = limits["MAX_FORM_PARTS"]

        def _load_form_data(self) -> None:
            """A webhook's form, read as werkzeug reads it, without the parser's set-up.

            Twilio posts every webhook as exactly FORM_TYPE. For that type werkzeug's way (the
            content type's parameters parsed, a parser object made, Flask's debug-mode hook)
            cost about 15 microseconds a request beyond the parse itself (a request with its
            form and query read: 66 -> 52 us in-process). Read here from the same limited
            stream (413 past the size limit, 400 for a body cut short) by the same parse_qsl
            call; as with werkzeug's silent parser, undecodable bytes give an empty form.
            Any other content type goes werkzeug's own way. A test holds the two equal.
            """
            if "form" in self.__dict__:
                return
            if self.environ.get("CONTENT_TYPE") != FORM_TYPE:
                super()._load_form_data()
                return
            stream = self._get_stream_for_parsing()
            try:
                items = parse_qsl(
                    stream.read().decode(), keep_blank_values=True, errors="werkzeug.url_quote"
                )
            except ValueError:
                items = []
            fields = self.__dict__
            fields["stream"], fields["form"], fields["files"] = (
                stream,
                WebhookForm(items),
                WebhookForm(),
            )

    return LimitedRequest


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
    limits = ("MAX_CONTENT_LENGTH", "MAX_FORM_MEMORY_SIZE", "MAX_FORM_PARTS")
    app.request_class = request_class({name: app.config[name] for name in limits})
    app.session_interface = StaffOnlySessions()
    app.before_request(check_signature)
    app.register_error_handler(Exception, fail_safe)
