"""Calling back as the center, end to end: the console's button, the REST call Prism checks
against Twilio's API description, and the counselor's leg through the real webhooks."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from ivr import accounts
from ivr.callbacks import spoken_time

from . import twiml_rules
from .caller import Caller
from .test_staff import NOW, PASSWORD, set_clock, sign_in, token

CALLER = "+12035550123"
CENTER = "+12032450412"  # the shipped menu's public number
COUNSELOR, PHONE = "dana@waterstone.example", "+12035550100"
NO_PHONE = "sam@waterstone.example"
ACCOUNT = "AC" + "0" * 32
XML = '<?xml version="1.0" encoding="UTF-8"?>'
VOICE = 'language="en-US" voice="Polly.Joanna"'


def add_staff(app, email, phone=None):
    hashed = accounts.hash_password(PASSWORD)
    assert app.extensions["ivr.store"].add_staff(email, "counselor", hashed, NOW, "t", phone)


def leave_voicemail(client) -> int:
    """A caller hears the withdrawal summary, asks for a counselor, no one answers, and
    leaves a message: through the real webhooks. Returns the entry's id."""
    caller = Caller(client, number=CALLER)
    caller.call()
    caller.press("2")  # withdrawal and detox
    caller.press("0")
    caller.dial_ends("no-answer")
    caller.press("1")
    caller.records(42)
    [row] = client.application.extensions["ivr.store"].waiting()
    return row.id


@pytest.fixture
def line_app(make_app, db_url, prism):
    """The app on each engine, its REST calls going to Prism, with two counselors."""
    app = make_app(DATABASE_URL=db_url, TWILIO_API_BASE=prism.base)
    add_staff(app, COUNSELOR, PHONE)
    add_staff(app, NO_PHONE)
    return app


@pytest.fixture
def quick_app(make_app, prism):
    """The same on SQLite only, for what does not depend on the database."""
    app = make_app(TWILIO_API_BASE=prism.base)
    add_staff(app, COUNSELOR, PHONE)
    add_staff(app, NO_PHONE)
    return app


class Leg:
    """The counselor's leg as Twilio drives it: posts signed webhooks for one placed call."""

    def __init__(self, client, answer_url: str, sid: str):
        self.client = client
        self.base = urlsplit(answer_url).path.removesuffix("/answer")
        self.sid = sid

    def post(self, step: str, **fields: str) -> str:
        form = {
            "CallSid": self.sid,
            "AccountSid": ACCOUNT,
            "From": CENTER,
            "To": PHONE,
            "Direction": "outbound-api",
            "ApiVersion": "2010-04-01",
            **fields,
        }
        response = self.client.post(f"{self.base}/{step}", data=form)
        assert response.status_code == 200 and response.mimetype == "text/xml", step
        twiml_rules.check(response.data)
        return response.get_data(as_text=True)

    def answer(self, answered_by: str = "human") -> str:
        return self.post("answer", CallStatus="in-progress", AnsweredBy=answered_by)

    def connect(self, digits: str = "1") -> str:
        return self.post("connect", CallStatus="in-progress", Digits=digits)

    def dialed(self, status: str, seconds: str = "0") -> str:
        return self.post(
            "dialed",
            CallStatus="in-progress",
            DialCallStatus=status,
            DialCallSid="CA" + "d" * 32,
            DialCallDuration=seconds,
        )

    def ends(self, status: str = "completed", answered_by: str | None = None) -> str:
        fields = {"CallStatus": status, "CallDuration": "30"}
        if answered_by:
            fields["AnsweredBy"] = answered_by
        return self.post("status", **fields)


def call_back(app, prism, request_id: int, email: str = COUNSELOR):
    """Sign in and press 'Call back'; returns (the browser, the REST requests Prism saw)."""
    browser = app.test_client()
    sign_in(browser, email)
    mark = prism.mark()
    form = {"csrf_token": token(browser, "/staff")}
    response = browser.post(f"/staff/requests/{request_id}/call", data=form)
    assert (response.status_code, response.location) == (302, "/staff")
    return browser, [seen for seen in prism.requests(mark) if seen.path.endswith("/Calls.json")]


def placed_leg(app, prism, request_id: int) -> Leg:
    """Press 'Call back' and check the one REST call; the leg Twilio would then drive."""
    _, seen = call_back(app, prism, request_id)
    [create] = seen
    assert create.method == "POST" and create.valid
    assert create.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    attempt = app.extensions["ivr.store"].callbacks([request_id])[request_id]
    assert attempt.call_sid and attempt.call_sid.startswith("CA")
    return Leg(app.test_client(), create.form["Url"], attempt.call_sid)


def outcome(app, request_id: int):
    attempt = app.extensions["ivr.store"].callbacks([request_id])[request_id]
    return attempt.outcome, attempt.seconds, attempt.ended_at is not None


def briefing(text: str, ref_path: str) -> str:
    gather = (
        f'<Gather action="{ref_path}/connect" input="dtmf" method="POST" numDigits="1" '
        f'timeout="10"><Say {VOICE}>{text}</Say></Gather>'
    )
    no_key = "No key was pressed, so the caller was not called. The entry stays waiting. Goodbye."
    return f"{XML}<Response>{gather}{gather}<Say {VOICE}>{no_key}</Say><Hangup /></Response>"


def goodbye(text: str | None) -> str:
    said = f"<Say {VOICE}>{text}</Say>" if text else ""
    return f"{XML}<Response>{said}<Hangup /></Response>"


# End to end -----------------------------------------------------------------------


def test_a_voicemail_is_called_back_as_the_center_end_to_end(line_app, prism):
    entry = leave_voicemail(line_app.test_client())
    browser, seen = call_back(line_app, prism, entry)
    [create] = seen
    assert create.valid, "Prism found the Calls.json create invalid"
    assert create.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    assert create.form["To"] == PHONE and create.form["From"] == CENTER
    assert create.form["MachineDetection"] == "Enable"
    answer_url, status_url = create.form["Url"], create.form["StatusCallback"]
    match = re.fullmatch(r"http://localhost/voice/callback/([\w-]{32})/answer", answer_url)
    assert match and status_url == f"http://localhost/voice/callback/{match.group(1)}/status"
    page = browser.get("/staff").text
    assert "Calling your phone now for" in page and "is calling back now" in page

    store = line_app.extensions["ivr.store"]
    leg = Leg(line_app.test_client(), answer_url, store.callbacks([entry])[entry].call_sid)
    said = (
        f"Waterstone Counseling Center help line. This is your call-back of entry {entry}: a "
        "voicemail from Tuesday, December 1 at 10:00 AM, in English, about Withdrawal and "
        "detox. The caller will see the center's number. Press 1 to connect."
    )
    assert leg.answer() == briefing(said, leg.base)
    assert leg.connect() == (
        f'{XML}<Response><Dial action="{leg.base}/dialed" callerId="{CENTER}" method="POST" '
        f'timeout="30"><Number>{CALLER}</Number></Dial></Response>'
    )
    assert leg.dialed("completed", "185") == goodbye(
        "The call has ended. Please mark the entry handled with a short note."
    )
    assert leg.ends() == f"{XML}<Response />"
    assert outcome(line_app, entry) == ("connected", 185, True)

    page = browser.get("/staff").text  # connected, and still waiting for a note
    assert f'<h2 id="entry-{entry}">' in page
    assert "connected with the caller for 3 min. Mark it handled with a note" in page
    audit = [(a.who, a.what, a.request_id, a.note) for a in store.audit_entries()[:3]]
    assert audit[:2] == [
        (COUNSELOR, "call-back ended", entry, "connected with the caller for 3 min"),
        (COUNSELOR, "call-back placed", entry, None),
    ]


# What the counselor hears ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "language", "topic", "said"),
    [
        (
            "voicemail",
            "es",
            "withdrawal",
            "a voicemail from Tuesday, December 1 at 9:30 AM, in Spanish, about Withdrawal "
            "and detox.",
        ),
        (
            "callback",
            "en",
            None,
            "a call-back request from Tuesday, December 1 at 9:30 AM, "
            "in English, with no topic chosen.",
        ),
    ],
)
def test_the_briefing_says_whose_call_back_it_is_and_never_the_number(
    quick_app, prism, kind, language, topic, said
):
    store = quick_app.extensions["ivr.store"]
    entry = store.add_request(kind, "voice", CALLER, language, NOW - timedelta(minutes=30), topic)
    leg = placed_leg(quick_app, prism, entry)
    text = (
        f"Waterstone Counseling Center help line. This is your call-back of entry {entry}: "
        f"{said} The caller will see the center's number. Press 1 to connect."
    )
    answered = leg.answer()
    assert answered == briefing(text, leg.base)
    spoken = " ".join(twiml_rules.says(twiml_rules.check(answered.encode())))
    assert "0123" not in re.sub(r"\D", "", spoken)


@pytest.mark.parametrize(
    ("hour", "minute", "said"),
    [(0, 5, "12:05 AM"), (9, 30, "9:30 AM"), (12, 0, "12:00 PM"), (23, 59, "11:59 PM")],
)
def test_spoken_times(hour, minute, said):
    assert spoken_time(NOW.replace(hour=hour, minute=minute)).endswith(f"at {said}")


@pytest.mark.parametrize(
    ("digits", "heard"),
    [
        ("2", "The caller was not called. The entry stays waiting. Goodbye."),
        ("", "The caller was not called. The entry stays waiting. Goodbye."),
    ],
)
def test_any_key_but_1_connects_no_one(quick_app, prism, digits, heard):
    entry = quick_app.extensions["ivr.store"].add_request("callback", "sms", CALLER, "en", NOW)
    leg = placed_leg(quick_app, prism, entry)
    leg.answer()
    assert leg.connect(digits) == goodbye(heard)
    leg.ends()
    assert outcome(quick_app, entry) == ("not-connected", None, True)


# Outcomes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "expected", "words"),
    [
        ([("ends", "no-answer")], "no-answer", "the counselor's phone did not answer"),
        ([("ends", "busy")], "busy", "the counselor's phone was busy"),
        ([("ends", "failed")], "failed", "the call to the counselor's phone failed"),
        (
            [("answer", "machine_start"), ("ends", "completed", "machine_start")],
            "voicemail",
            "the counselor's voicemail answered",
        ),
        (
            [("answer",), ("ends", "completed")],
            "not-connected",
            "the counselor answered but did not connect",
        ),
        (
            [("answer",), ("connect",), ("dialed", "no-answer"), ("ends", "completed")],
            "caller-no-answer",
            "the caller did not answer",
        ),
        (
            [("answer",), ("connect",), ("dialed", "busy"), ("ends", "completed")],
            "caller-busy",
            "the caller's line was busy",
        ),
        (
            [("answer",), ("connect",), ("dialed", "failed"), ("ends", "completed")],
            "caller-failed",
            "the call to the caller failed",
        ),
    ],
)
def test_a_call_back_that_did_not_connect_stays_waiting(quick_app, prism, steps, expected, words):
    store = quick_app.extensions["ivr.store"]
    entry = store.add_request("voicemail", "voice", CALLER, "en", NOW, recording_url="x")
    leg = placed_leg(quick_app, prism, entry)
    for step, *arguments in steps:
        getattr(leg, step)(*arguments)
    assert outcome(quick_app, entry) == (expected, None, True)
    assert [r.id for r in store.waiting()] == [entry]
    browser = quick_app.test_client()
    sign_in(browser)
    page = html.unescape(browser.get("/staff").text)
    assert f"{COUNSELOR} called back on Tue 01 Dec, 10:00: {words}. Still waiting." in page
    ended = [a.note for a in store.audit_entries() if a.what == "call-back ended"]
    assert ended == [words]


def test_the_counselors_voicemail_hears_nothing_about_the_caller(quick_app, prism):
    entry = quick_app.extensions["ivr.store"].add_request("callback", "sms", CALLER, "es", NOW)
    leg = placed_leg(quick_app, prism, entry)
    assert leg.answer("machine_end_beep") == goodbye(None)


# Retries, references and who may ask -----------------------------------------------


def test_retries_of_each_step_dial_once_and_record_once(quick_app, prism):
    store = quick_app.extensions["ivr.store"]
    entry = store.add_request("callback", "voice", CALLER, "en", NOW)
    leg = placed_leg(quick_app, prism, entry)
    assert leg.answer() == leg.answer()
    first = leg.connect()
    assert "<Dial" in first
    # Twilio acts on one answer per request: a retry (the first answer was lost) gets the
    # same one while that dial has not ended, so the caller is dialed once.
    assert leg.connect() == first
    assert leg.dialed("completed", "60") == leg.dialed("completed", "60")
    assert leg.connect() == goodbye(None)  # the dial has ended: no second dial
    assert leg.ends() == leg.ends()
    assert outcome(quick_app, entry) == ("connected", 60, True)
    whats = [a.what for a in store.audit_entries() if a.request_id == entry]
    assert whats == ["call-back ended", "call-back placed"]
    assert leg.answer() == goodbye(
        "This call-back is not valid any more. Nothing was connected. Goodbye."
    )  # ended: the reference opens nothing


NOT_VALID = goodbye("This call-back is not valid any more. Nothing was connected. Goodbye.")


@pytest.mark.parametrize("wrong", ["reference", "call", "late"])
def test_a_wrong_reference_or_call_or_a_late_one_dials_no_one(quick_app, prism, wrong):
    store = quick_app.extensions["ivr.store"]
    entry = store.add_request("callback", "voice", CALLER, "en", NOW)
    leg = placed_leg(quick_app, prism, entry)
    if wrong == "reference":
        leg.base = leg.base[:-4] + "AAAA"
    elif wrong == "call":
        leg.sid = "CA" + "f" * 32
    else:
        set_clock(quick_app, NOW + timedelta(minutes=11))
    assert leg.answer() == NOT_VALID
    assert leg.connect() == NOT_VALID
    assert outcome(quick_app, entry) == (None, None, False)


@pytest.mark.parametrize(
    "path",
    [
        "/voice/callback/1/connect",  # the entry's id is not a reference
        "/voice/callback/" + "A" * 32 + "/connect",
        "/voice/callback/%20/connect",
    ],
)
def test_a_made_up_reference_dials_no_one(quick_app, prism, path):
    store = quick_app.extensions["ivr.store"]
    entry = store.add_request("callback", "voice", CALLER, "en", NOW)
    placed_leg(quick_app, prism, entry)
    form = {"CallSid": store.callbacks([entry])[entry].call_sid, "Digits": "1"}
    assert quick_app.test_client().post(path, data=form).text == NOT_VALID
    assert quick_app.test_client().post("/voice/callback//connect", data=form).status_code == 404


def test_the_counselors_leg_needs_twilios_signature_not_a_session(quick_app, prism):
    store = quick_app.extensions["ivr.store"]
    entry = store.add_request("callback", "voice", CALLER, "en", NOW)
    leg = placed_leg(quick_app, prism, entry)
    form = {"CallSid": leg.sid, "Digits": "1"}
    for step in ("answer", "connect", "dialed", "status"):
        unsigned = {"X-Twilio-Signature": None}
        response = quick_app.test_client().post(f"{leg.base}/{step}", data=form, headers=unsigned)
        assert response.status_code == 403, step
    assert outcome(quick_app, entry) == (None, None, False)


# The console's side -----------------------------------------------------------------


def test_a_failed_rest_call_says_so_and_the_entry_stays_waiting(make_app, db_url):
    app = make_app(DATABASE_URL=db_url)  # TWILIO_API_BASE: nothing listens there
    add_staff(app, COUNSELOR, PHONE)
    store = app.extensions["ivr.store"]
    entry = store.add_request("callback", "voice", CALLER, "en", NOW)
    browser = app.test_client()
    sign_in(browser)
    browser.post(f"/staff/requests/{entry}/call", data={"csrf_token": token(browser, "/staff")})
    page = browser.get("/staff").text
    assert f"The call for #{entry} could not be placed" in page
    assert "Twilio could not place the call. Still waiting." in page
    assert [r.id for r in store.waiting()] == [entry]
    assert outcome(app, entry) == ("not-placed", None, True)
    assert [a.what for a in store.audit_entries()[:2]] == ["call-back ended", "call-back placed"]


def test_a_counselor_without_a_phone_is_told_plainly(quick_app, prism):
    entry = quick_app.extensions["ivr.store"].add_request("callback", "voice", CALLER, "en", NOW)
    browser = quick_app.test_client()
    sign_in(browser, NO_PHONE)
    page = browser.get("/staff").text
    assert "Your account has no phone number, so the console cannot ring you" in page
    assert "/call" not in page
    mark = prism.mark()
    response = browser.post(
        f"/staff/requests/{entry}/call", data={"csrf_token": token(browser, "/staff")}
    )
    assert "Ask an admin to add your phone" in browser.get(response.location).text
    assert prism.requests(mark) == []


def test_two_counselors_never_ring_one_person_at_once(quick_app, prism):
    store = quick_app.extensions["ivr.store"]
    entry = store.add_request("callback", "voice", CALLER, "en", NOW)
    placed_leg(quick_app, prism, entry)
    browser, seen = call_back(quick_app, prism, entry)
    assert seen == []
    assert f"#{entry} is being called back by someone now" in browser.get("/staff").text
    handled = store.add_request("callback", "voice", CALLER, "en", NOW)
    store.handle(handled, COUNSELOR, NOW)
    browser, seen = call_back(quick_app, prism, handled)
    assert seen == [] and f"#{handled} is not waiting any more" in browser.get("/staff").text


def test_the_button_needs_this_sessions_csrf_token(quick_app, prism):
    entry = quick_app.extensions["ivr.store"].add_request("callback", "voice", CALLER, "en", NOW)
    browser = quick_app.test_client()
    sign_in(browser)
    mark = prism.mark()
    assert browser.post(f"/staff/requests/{entry}/call", data={}).status_code == 403
    assert prism.requests(mark) == []


def test_no_staff_page_and_no_spoken_word_holds_the_callers_number(line_app, prism):
    entry = leave_voicemail(line_app.test_client())
    leg = placed_leg(line_app, prism, entry)
    spoken = [leg.answer(), leg.connect(), leg.dialed("no-answer"), leg.ends()]
    says = [twiml_rules.says(twiml_rules.check(xml.encode())) for xml in spoken]
    assert not [s for said in says for s in said if "0123" in re.sub(r"\D", "", s)]
    add_admin = accounts.hash_password(PASSWORD)
    line_app.extensions["ivr.store"].add_staff("lee@w.example", "admin", add_admin, NOW, "t")
    browser = line_app.test_client()
    sign_in(browser, "lee@w.example")
    for path in ("/staff", "/staff/handled", "/staff/audit"):
        digits = re.sub(r"\D", "", browser.get(path).text)
        assert "5550123" not in digits, path


@pytest.mark.parametrize("ref", ["%00", "x" * 500, "%C3%A9", "..", "1%20OR%201=1"])
def test_nasty_references_dial_no_one_on_either_engine(line_app, ref):
    for step in ("answer", "connect", "dialed", "status"):
        form = {"CallSid": "CA" + "a" * 32, "Digits": "1", "DialCallStatus": "completed"}
        response = line_app.test_client().post(f"/voice/callback/{ref}/{step}", data=form)
        assert response.status_code in (200, 404), step
        assert "<Dial" not in response.text, step
