"""Trust nothing: signatures, proxies, production settings, faults, limits and hostile input."""

from __future__ import annotations

import logging
import socket
import threading
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.exceptions import HTTPException

from ivr import create_app
from ivr.security import FORM_TYPE, request_class
from ivr.settings import SettingsError, load_settings

from . import twiml_rules
from .caller import Caller
from .conftest import AUTH_TOKEN, twilio_signature
from .server import Gunicorn

CALLER = "+12035550123"
FORM = {"MessageSid": "SM" + "1" * 32, "From": CALLER, "To": "+12032450412", "Body": "STOP"}
WEBHOOKS = [
    "/voice",
    "/voice/menu",
    "/voice/summary",
    "/voice/message",
    "/voice/recorded",
    "/voice/dialed",
    "/voice/whisper",
    "/voice/accept",
    "/voice/fallback",
    "/sms",
    "/sms/fallback",
]


# Signatures ---------------------------------------------------------------------


def _post(client, path, form, signature):
    headers = {"X-Twilio-Signature": signature}
    return client.post(path, data=form, headers=headers)


@pytest.mark.parametrize(
    ("case", "signed_url", "signed_form", "token", "status"),
    [
        ("as Twilio signs it", "http://localhost/sms", FORM, AUTH_TOKEN, 200),
        ("another account's token", "http://localhost/sms", FORM, "not-our-token", 403),
        ("a changed parameter", "http://localhost/sms", {**FORM, "Body": "MENU"}, AUTH_TOKEN, 403),
        ("an added parameter", "http://localhost/sms", {**FORM, "X": "1"}, AUTH_TOKEN, 403),
        ("another address", "http://localhost/voice", FORM, AUTH_TOKEN, 403),
        ("https where Twilio used http", "https://localhost/sms", FORM, AUTH_TOKEN, 403),
    ],
)
def test_signature_table(app, case, signed_url, signed_form, token, status):
    signature = RequestValidator(token).compute_signature(signed_url, signed_form)
    response = _post(app.test_client(), "/sms", FORM, signature)
    assert response.status_code == status
    assert app.extensions["ivr.store"].is_opted_out(CALLER) is (status == 200)


@pytest.mark.parametrize("path", WEBHOOKS)
def test_every_webhook_refuses_a_missing_signature_with_no_side_effect(app, path):
    response = _post(app.test_client(), path, FORM, None)
    assert response.status_code == 403
    assert app.extensions["ivr.store"].count() == 0
    assert not app.extensions["ivr.store"].is_opted_out(CALLER)


def test_health_needs_no_signature(app):
    assert app.test_client().get("/healthz").status_code == 200


def test_the_raw_query_string_is_what_is_checked(app):
    path = "/voice/menu?l=en&m=main&note=%27it%27s%20ok%27"
    form = {"CallSid": "CA1", "From": CALLER, "Digits": "2"}
    raw = twilio_signature(f"http://localhost{path}", form)
    decoded = twilio_signature("http://localhost/voice/menu?l=en&m=main&note='it's ok'", form)
    client = app.test_client()
    assert _post(client, path, form, raw).status_code == 200
    assert _post(client, path, form, decoded).status_code == 403


def test_form_fields_not_query_arguments_are_the_parameters(app):
    form = {"MessageSid": "SM2", "From": CALLER, "Body": "DETOX"}
    path = "/sms?Body=STOP"
    response = _post(
        app.test_client(), path, form, twilio_signature(f"http://localhost{path}", form)
    )
    assert response.status_code == 200
    assert b"Withdrawal" in response.data
    assert not app.extensions["ivr.store"].is_opted_out(CALLER)


def test_the_public_base_url_is_what_twilio_signed(make_app):
    app = make_app(PUBLIC_BASE_URL="https://helpline.example.org/")
    public = twilio_signature("https://helpline.example.org/sms", FORM)
    local = twilio_signature("http://localhost/sms", FORM)
    client = app.test_client()
    assert _post(client, "/sms", FORM, local).status_code == 403
    assert _post(client, "/sms", FORM, public).status_code == 200


def test_the_sha256_signature_variant(app):
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        "http://localhost/sms", FORM, "HMAC_SHA256"
    )
    headers = {
        "X-Twilio-Signature": signature,
        "X-Twilio-Webhooks-Signature-Settings": "key=k1,algorithm=HMAC_SHA256",
    }
    assert app.test_client().post("/sms", data=FORM, headers=headers).status_code == 200


def test_https_behind_a_tls_proxy_under_gunicorn(settings, make_store, tmp_path):
    url = f"sqlite:///{tmp_path / 'proxy.sqlite3'}"
    make_store(url)
    server = Gunicorn({**settings, "DATABASE_URL": url}, tmp_path / "g.log", workers=1)
    try:
        public = f"https://127.0.0.1:{server.port}/sms"
        proxied = {"X-Forwarded-Proto": "https"}  # from 127.0.0.1: gunicorn trusts it
        assert server.post("/sms", FORM, proxied, signed_as=public)[0] == 200
        assert server.post("/sms", FORM, {}, signed_as=public)[0] == 403
        assert server.post("/sms", FORM, proxied)[0] == 403  # signed for http, arrived as https
    finally:
        server.stop()


# Settings that must not reach production -------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN is not set"),
        ({"SECRET_KEY": ""}, "SECRET_KEY is the development default"),
        ({"SECRET_KEY": "short"}, "shorter than 16 characters"),
        ({"IVR_VALIDATE_SIGNATURES": "0"}, "IVR_VALIDATE_SIGNATURES is off"),
    ],
)
def test_production_refuses_unsafe_settings(settings, changes, message):
    production = {**settings, "IVR_ENV": "production", "SECRET_KEY": "x" * 40, **changes}
    production = {k: v for k, v in production.items() if v != "" or k == "TWILIO_AUTH_TOKEN"}
    with pytest.raises(SettingsError, match=message):
        create_app(production)


def test_production_starts_with_safe_settings(settings):
    app = create_app({**settings, "IVR_ENV": "production", "SECRET_KEY": "s" * 40})
    assert app.config["IVR"].IVR_VALIDATE_SIGNATURES is True


def test_the_development_switch_says_loudly_that_checks_are_off(settings, caplog):
    app = create_app({**settings, "IVR_ENV": "development", "IVR_VALIDATE_SIGNATURES": "0"})
    assert "TWILIO SIGNATURE CHECKS ARE OFF" in caplog.text
    assert app.test_client().get("/healthz").json["signatures"] == "OFF"
    assert app.test_client().post("/sms", data=FORM).status_code == 200


def test_secrets_never_reach_logs_or_reprs(settings, caplog):
    caplog.set_level(logging.DEBUG)
    secret_settings = {**settings, "SECRET_KEY": "very-secret-key-0001"}
    app = create_app(secret_settings)
    app.logger.info("settings: %r", app.config["IVR"])
    text = caplog.text + repr(load_settings(secret_settings))
    assert AUTH_TOKEN not in text and "very-secret-key-0001" not in text


# Faults: the caller always gets a next step ---------------------------------------------


def _boom(*args, **kwargs):
    raise RuntimeError("injected fault for +12035550123")


FAULTS = [
    ("menu lookup", "ivr.call.at_menu", "/voice/menu", {"Digits": "1"}),
    ("greeting", "ivr.call.answer", "/voice", {}),
    ("summary step", "ivr.call.at_summary", "/voice/summary?t=relapse", {"Digits": "1"}),
    ("safety net step", "ivr.call.at_message", "/voice/message", {"Digits": "2"}),
    ("transfer result", "ivr.call.dialed", "/voice/dialed", {"DialCallStatus": "busy"}),
    ("prompt text", "ivr.prompts.options_prompt", "/voice/menu", {"Digits": "3"}),
    ("storage", "ivr.store.Store.note_later", "/voice/menu", {"Digits": "2"}),
    ("storage read", "ivr.store.Store.is_opted_out", "/voice/summary?t=relapse", {"Digits": "2"}),
    ("REST client", "ivr.outbound.Messenger.send", "/voice/summary?t=relapse", {"Digits": "2"}),
    (
        "recording",
        "ivr.store.Store.add_request",
        "/voice/recorded",
        {"RecordingUrl": "https://api.twilio.com/RE1", "RecordingDuration": "9"},
    ),
]


def _net_fired(app, caplog, path: str) -> None:
    """The fail-safe left its marks: the fault logged, and an error event (if events work)."""
    assert f"fault in {path.split('?')[0]}: RuntimeError" in caplog.text
    errors = app.extensions["ivr.store"].count("error")
    assert errors == (0 if "fault not counted" in caplog.text else 1)


@pytest.mark.safety_net
@pytest.mark.parametrize(("where", "target", "path", "form"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_fault_in_any_voice_step_still_gives_a_next_step(
    app, monkeypatch, caplog, where, target, path, form
):
    monkeypatch.setattr(target, _boom)
    caller = Caller(app.test_client())
    root = caller.post(path, **form)
    heard = caller.heard
    assert "9 1 1" in heard and "9 8 8" in heard
    # the fallback: sorry, 911 and 988 in both languages, then the staff line (open now), goodbye
    assert twiml_rules.shape(root) == ["Say"] * 5 + ["Dial", "Say", "Say", "Hangup"]
    assert root.find("Dial").text == "+12032450412"
    assert CALLER not in caplog.text and "5550123" not in caplog.text
    monkeypatch.undo()
    _net_fired(app, caplog, path)


@pytest.mark.safety_net
def test_the_safety_response_gives_the_staff_line_in_hours(app, monkeypatch, caplog):
    monkeypatch.setattr("ivr.call.at_menu", _boom)
    root = Caller(app.test_client()).post("/voice/menu", Digits="1")
    assert twiml_rules.says(root)[0] == "We are sorry. The help line is having a problem."
    assert root.find("Dial").text == "+12032450412"
    _net_fired(app, caplog, "/voice/menu")


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ("ivr.textline.reply_to", "menu"),
        ("ivr.store.Store.recall_text", "menu"),
        ("ivr.store.Store.keep_text", "STOP"),
        ("ivr.textline.menu_text", "menu"),
        ("ivr.store.Store.keep_text", "detox"),
    ],
)
@pytest.mark.safety_net
def test_a_fault_in_the_text_line_gets_the_fallback_reply(
    app, client, monkeypatch, caplog, target, body
):
    monkeypatch.setattr(target, _boom)
    response = client.post("/sms", data={**FORM, "Body": body})
    assert response.status_code == 200
    body = twiml_rules.check(response.data).find("Message").text
    assert "203-245-0412" in body and "988" in body
    monkeypatch.undo()
    _net_fired(app, caplog, "/sms")


# Limits ------------------------------------------------------------------------------


def test_a_request_over_the_size_limit_gets_413(client):
    response = client.post("/sms", data={**FORM, "Body": "x" * 70_000})
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/sms", "/voice"])
def test_the_size_limit_is_the_settings_own(make_app, path):
    client = make_app(IVR_MAX_REQUEST_BYTES="3000").test_client()
    under = client.post(path, data={**FORM, "MessageSid": "SM" + "2" * 32, "Body": "x" * 2500})
    over = client.post(path, data={**FORM, "MessageSid": "SM" + "3" * 32, "Body": "x" * 3500})
    assert (under.status_code, over.status_code) == (200, 413)
    assert b"<Response>" in under.data


def test_a_slow_twilio_api_cannot_hold_a_call(make_app):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)  # accepts connections, never answers
    try:
        app = make_app(TWILIO_API_BASE=f"http://127.0.0.1:{listener.getsockname()[1]}")
        caller = Caller(app.test_client())
        caller.call()
        caller.press("2")
        done = threading.Event()

        def press():
            caller.press("2")
            done.set()

        threading.Thread(target=press, daemon=True).start()
        assert done.wait(timeout=30), "the webhook waited on the API with no time limit"
        assert caller.said[0] == "Sorry, we could not send a text right now."
    finally:
        listener.close()


def test_responses_stay_under_twilio_limits(client, line):
    longest = max((t.spoken[lang] for t in line.content.values() for lang in ("en", "es")), key=len)
    caller = Caller(client)
    caller.call()
    caller.press("2")
    raw = client.post(caller.gather.get("action"), data={"CallSid": "CA1", "Digits": "1"}).data
    assert len(raw) < 64_000 and len(longest) < 3_000


# Hostile input --------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "1234567890*#",
    "#",
    "**",
    "0" * 4_000,
    "\x00",
    "\x1b[2J",
    "\ufeff1",
    "١",
    "<Hangup/>",
    "]]><Hangup/><![CDATA[",
    "'; DROP TABLE events; --",
    "../../etc/passwd",
    "%00",
    "\ud7ff" * 50,
    "😀" * 400,
    "NaN",
    "-1",
    "99999999999999999999",
]
FIELDS = [
    "Digits",
    "SpeechResult",
    "CallSid",
    "From",
    "To",
    "DialCallStatus",
    "RecordingUrl",
    "RecordingDuration",
    "ParentCallSid",
    "Body",
    "MessageSid",
    "OptOutType",
]


@pytest.mark.parametrize("path", [p for p in WEBHOOKS] + ["/voice/menu?m=%00&l=%ff&n=-5&t=..%2f"])
@pytest.mark.parametrize("value", NASTY)
def test_nasty_values_on_every_endpoint(client, path, value):
    form = {field: value for field in FIELDS}
    response = client.post(path, data=form)
    assert response.status_code == 200, (path, value)
    twiml_rules.check(response.data)


def test_missing_parameters_and_unknown_call(client):
    for path in WEBHOOKS:
        response = client.post(path, data={})
        assert response.status_code == 200, path
        twiml_rules.check(response.data)
    response = client.post("/voice/dialed?l=es", data={"CallSid": "CAunknown"})
    assert b"No one could answer" not in response.data and b"Nadie pudo contestar" in response.data


def test_invalid_utf8_is_not_an_error(make_app):
    app = make_app(IVR_ENV="development", IVR_VALIDATE_SIGNATURES="0")
    for path in WEBHOOKS:
        response = app.test_client().post(
            path,
            data=b"Digits=%ff%fe&Body=\xff\xfe\xfd&From=\xc3\x28",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200, path
        twiml_rules.check(response.data)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(WEBHOOKS),
    form=st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=300), max_size=6),
    query=st.dictionaries(st.sampled_from("lmtnwg"), st.text(max_size=20), max_size=4),
)
def test_hypothesis_against_every_endpoint(client, path, form, query):
    full = f"{path}?{urlencode(query)}" if query and "?" not in path else path
    response = client.post(full, data=form)
    assert response.status_code == 200
    twiml_rules.check(response.data)


@settings(max_examples=300, deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.lists(st.tuples(st.text(max_size=12), st.text(max_size=40)), max_size=8).map(
            lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")
        ),
        st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=8).map(
            lambda fields: urlencode(fields, errors="surrogatepass").encode()
        ),
    ),
    content_type=st.sampled_from(
        [FORM_TYPE, f"{FORM_TYPE}; charset=utf-8", "multipart/form-data", "text/plain", None]
    ),
    cut=st.integers(min_value=0, max_value=3),
)
def test_the_webhook_form_is_read_exactly_as_werkzeug_reads_it(body, content_type, cut):
    """The lean reading of Twilio's form type (security.request_class) gives the same form,
    the same 413 past the size limit and the same 400 for a body cut short as werkzeug's."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request as Plain

    lean = request_class(
        {"MAX_CONTENT_LENGTH": 150, "MAX_FORM_MEMORY_SIZE": 150, "MAX_FORM_PARTS": 1000}
    )

    class Werkzeug(Plain):
        max_content_length = 150

    def read(kind: type[Plain]) -> object:
        environ = EnvironBuilder(method="POST", path="/sms", data=body).get_environ()
        environ.pop("CONTENT_TYPE", None)
        if content_type:
            environ["CONTENT_TYPE"] = content_type
        environ["CONTENT_LENGTH"] = str(len(body) + cut)  # past the body: cut short
        try:
            return sorted(kind(environ).form.items(multi=True))
        except HTTPException as exc:
            return exc.code

    assert read(lean) == read(Werkzeug)
