"""The staff console: sign-in, sessions, CSRF, lockout, the queue, handling, the audit list."""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from ivr import accounts
from ivr.staff import waited
from ivr.store import StoreError

from .test_security import WEBHOOKS

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # the test settings' IVR_NOW, 10:00 at the center
PASSWORD = "correct horse battery"
ADMIN, COUNSELOR = "admin@waterstone.example", "dana@waterstone.example"
CALLER = "+12035550123"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
WRONG = "The email or password is wrong."


def add_staff(app, email=COUNSELOR, role="counselor", password=PASSWORD):
    """An account in the app's database, as `ivr staff add` makes one."""
    hashed = accounts.hash_password(password)
    assert app.extensions["ivr.store"].add_staff(email, role, hashed, NOW, "test")


def token(client, path="/staff/login") -> str:
    """The CSRF token of the session, from a page's form."""
    page = client.get(path).get_data(as_text=True)
    return TOKEN.search(page).group(1)


def sign_in(client, email=COUNSELOR, password=PASSWORD):
    """Post the sign-in form, as a browser would."""
    form = {"csrf_token": token(client), "email": email, "password": password}
    return client.post("/staff/login", data=form)


def set_clock(app, moment: datetime) -> None:
    """Move the app's clock (IVR_NOW) to `moment`."""
    app.config["IVR"] = dataclasses.replace(app.config["IVR"], IVR_NOW=moment.isoformat())


@pytest.fixture
def quick(make_app):
    """The app on SQLite only, for what does not depend on the database."""
    app = make_app(IVR_STAFF_LOGINS_PER_MINUTE="1000")
    add_staff(app)
    add_staff(app, ADMIN, "admin")
    return app


# Every page needs a login ----------------------------------------------------------


def staff_routes(app) -> list[tuple[str, str]]:
    """(method, url) of every /staff rule but the sign-in page, arguments filled with 1."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff") or rule.endpoint == "staff.login":
            continue
        url = rule.rule
        for argument in rule.arguments:
            url = re.sub(rf"<(?:\w+:)?{argument}>", "1", url)
        found += [(m, url) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(found)


def test_every_staff_route_needs_a_login(quick):
    routes = staff_routes(quick)
    assert routes == [
        ("GET", "/staff"),
        ("GET", "/staff/activity"),
        ("GET", "/staff/activity.csv"),
        ("GET", "/staff/audit"),
        ("GET", "/staff/entry/1"),
        ("GET", "/staff/handled"),
        ("GET", "/staff/map"),
        ("GET", "/staff/on-call"),
        ("GET", "/staff/preview"),
        ("GET", "/staff/recording/1"),
        ("POST", "/staff/logout"),
        ("POST", "/staff/on-call/close"),
        ("POST", "/staff/on-call/hours/clear"),
        ("POST", "/staff/on-call/numbers"),
        ("POST", "/staff/on-call/numbers/clear"),
        ("POST", "/staff/on-call/open"),
        ("POST", "/staff/preview/call"),
        ("POST", "/staff/preview/text"),
        ("POST", "/staff/requests/1/call"),
        ("POST", "/staff/requests/1/handled"),
    ]
    client = quick.test_client()
    with_token = {"csrf_token": token(client), "note": "x"}  # a session, but not signed in
    for method, url in routes:
        if method == "GET":
            response = client.get(url)
            assert response.status_code == 302, url
            assert response.location == f"/staff/login?next={url}", url
        else:
            assert quick.test_client().post(url).status_code == 403, url  # no token at all
            response = client.post(url, data=with_token)
            assert (response.status_code, response.location) == (302, "/staff/login"), url
    entries = quick.extensions["ivr.store"].audit_entries()
    assert [e.what for e in entries] == ["staff-added", "staff-added"]  # nothing happened


@pytest.mark.parametrize("path", WEBHOOKS)
def test_twilio_webhooks_need_no_csrf_token(quick, path):
    # The test client signs each POST as Twilio does, and sends no CSRF token or cookie.
    form = {"CallSid": "CA" + "1" * 32, "From": CALLER, "To": "+12032450412", "Body": "MENU"}
    response = quick.test_client().post(path, data=form)
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("<?xml")


@pytest.mark.parametrize(
    ("token_sent", "status"),
    [("", 403), ("not-a-token", 403), ("from another session", 403), ("this session's", 302)],
)
def test_a_form_post_needs_this_sessions_csrf_token(quick, token_sent, status):
    client = quick.test_client()
    sign_in(client)
    other = quick.test_client()
    tokens = {"from another session": token(other), "this session's": token(client, "/staff")}
    form = {"csrf_token": tokens.get(token_sent, token_sent), "note": "called back"}
    response = client.post("/staff/requests/1/handled", data=form)
    assert response.status_code == status
    if status == 403:
        assert "This form has expired or did not come from this console" in response.text


# Signing in and out ----------------------------------------------------------------


def test_sign_in_see_the_queue_and_sign_out(console):
    client = console.test_client()
    assert client.get("/staff/login").status_code == 200
    response = sign_in(client, "  Dana@Waterstone.example ")  # case and spaces do not matter
    assert (response.status_code, response.location) == (302, "/staff")
    page = client.get("/staff")
    assert page.status_code == 200 and f"{COUNSELOR} (counselor)" in page.text
    response = client.post("/staff/logout", data={"csrf_token": token(client, "/staff")})
    assert (response.status_code, response.location) == (302, "/staff/login")
    assert "You are signed out." in client.get("/staff/login").text
    assert client.get("/staff").status_code == 302
    what = [(e.who, e.what) for e in console.extensions["ivr.store"].audit_entries()]
    assert what[:2] == [(COUNSELOR, "logout"), (COUNSELOR, "login")]


def test_sign_in_goes_back_to_the_page_asked_for(quick):
    client = quick.test_client()
    assert client.get("/staff/handled").location == "/staff/login?next=/staff/handled"
    form = {"csrf_token": token(client), "email": COUNSELOR, "password": PASSWORD}
    response = client.post("/staff/login?next=%2Fstaff%2Fhandled", data=form)
    assert response.location == "/staff/handled"


@pytest.mark.parametrize(
    ("next_page", "goes_to"),
    [
        ("/staff/audit", "/staff/audit"),
        ("https://evil.example/staff", "/staff"),
        ("//evil.example/staff", "/staff"),
        ("/staff//evil.example", "/staff"),
        ("/staff\\evil", "/staff"),
        ("/voice", "/staff"),
        ("", "/staff"),
    ],
)
def test_after_sign_in_only_a_console_page(quick, next_page, goes_to):
    client = quick.test_client()
    form = {"csrf_token": token(client), "email": ADMIN, "password": PASSWORD}
    response = client.post("/staff/login", query_string={"next": next_page}, data=form)
    assert response.location == goes_to


@pytest.mark.parametrize(
    ("email", "password"),
    [
        (COUNSELOR, "wrong password!"),  # an account, the wrong password
        ("nobody@waterstone.example", PASSWORD),  # no such account
        ("not an email", PASSWORD),
        (COUNSELOR, ""),
        ("", ""),
    ],
)
def test_every_refusal_says_the_same(quick, email, password):
    response = sign_in(quick.test_client(), email, password)
    assert response.status_code == 200
    problem = re.search(r'<div class="problem" role="alert"[^>]*><p>([^<]+)</p>', response.text)
    assert problem.group(1) == (
        "The email or password is wrong. After 5 wrong tries in a row an account is locked "
        "for 15 minutes."
    )


def test_lockout_after_wrong_passwords_for_a_while(make_app, db_url):
    app = make_app(
        DATABASE_URL=db_url,
        IVR_STAFF_LOCKOUT_FAILURES="3",
        IVR_STAFF_LOCKOUT_MINUTES="10",
        IVR_STAFF_LOGINS_PER_MINUTE="1000",
    )
    add_staff(app)
    client = app.test_client()
    for _ in range(3):
        assert WRONG in sign_in(client, password="guess guess guess").text
    store = app.extensions["ivr.store"]
    assert store.staff_member(COUNSELOR).locked_until == NOW + timedelta(minutes=10)
    refused = sign_in(client)  # the right password, while locked
    assert refused.status_code == 200 and WRONG in refused.text
    set_clock(app, NOW + timedelta(minutes=9, seconds=59))
    assert WRONG in sign_in(client).text
    set_clock(app, NOW + timedelta(minutes=10, seconds=1))
    assert sign_in(client).location == "/staff"
    account = store.staff_member(COUNSELOR)
    assert (account.failed_logins, account.locked_until) == (0, None)
    assert [e.what for e in reversed(store.audit_entries())] == [
        "staff-added",
        "login-failed",
        "login-failed",
        "login-failed",
        "locked",
        "login-locked",
        "login-locked",
        "login",
    ]


def test_a_right_password_starts_the_count_again(quick):
    client = quick.test_client()
    for _ in range(4):
        sign_in(client, password="guess guess guess")
    assert sign_in(client).location == "/staff"
    assert quick.extensions["ivr.store"].staff_member(COUNSELOR).failed_logins == 0


def test_one_address_is_slowed_down(make_app):
    app = make_app(IVR_STAFF_LOGINS_PER_MINUTE="2")
    add_staff(app)
    client = app.test_client()
    assert [sign_in(client, password="wrong password!").status_code for _ in range(2)] == [200, 200]
    slowed = sign_in(client)
    assert slowed.status_code == 429
    assert "Too many sign-in tries from this address. Wait a minute" in slowed.text
    assert client.get("/staff/login").status_code == 200  # the form itself is not limited
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert sign_in(other).status_code == 302


def test_a_password_hashed_with_old_parameters_is_rehashed_at_sign_in(quick):
    from argon2 import PasswordHasher

    store = quick.extensions["ivr.store"]
    old = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    assert store.set_password(COUNSELOR, old, NOW, "test")
    assert sign_in(quick.test_client()).location == "/staff"
    new = store.staff_member(COUNSELOR).password_hash
    assert new != old and not accounts.needs_rehash(new) and accounts.verify(new, PASSWORD)


def test_no_password_and_no_typed_email_reach_the_logs(quick, caplog):
    caplog.set_level(logging.DEBUG)
    sign_in(quick.test_client(), "typo@waterstone.example", "secret typed in the wrong box")
    sign_in(quick.test_client(), COUNSELOR, "another secret password")
    sign_in(quick.test_client())
    logged = caplog.text
    for secret in (PASSWORD, "secret typed", "another secret", "typo@", "argon2"):
        assert secret not in logged
    assert "staff sign-in refused" in logged


# Sessions --------------------------------------------------------------------------


@pytest.mark.parametrize(("idle_minutes", "signed_in"), [(29, True), (30, True), (31, False)])
def test_idle_sessions_end(make_app, idle_minutes, signed_in):
    app = make_app(IVR_STAFF_IDLE_MINUTES="30")
    add_staff(app)
    client = app.test_client()
    sign_in(client)
    set_clock(app, NOW + timedelta(minutes=20))
    assert client.get("/staff").status_code == 200  # a click: the idle time starts again
    set_clock(app, NOW + timedelta(minutes=20 + idle_minutes))
    response = client.get("/staff")
    assert response.status_code == (200 if signed_in else 302)
    if not signed_in:
        page = client.get(response.location).text
        assert "You were signed out after 30 minutes without activity." in page


@pytest.mark.parametrize(
    ("change", "signed_in"),
    [
        ("nothing", True),
        ("a new password", False),
        ("account removed", False),
    ],
)
def test_a_new_password_or_a_removed_account_ends_sessions(quick, change, signed_in):
    client = quick.test_client()
    sign_in(client)
    store = quick.extensions["ivr.store"]
    if change == "a new password":
        store.set_password(COUNSELOR, accounts.hash_password("a new password here"), NOW, "t")
    elif change == "account removed":
        store.remove_staff(COUNSELOR, NOW, "test")
    assert client.get("/staff").status_code == (200 if signed_in else 302)


@pytest.mark.parametrize(
    ("env", "secure"),
    [("test", False), ("development", False), ("production", True)],
)
def test_the_session_cookie(settings, make_app, env, secure):
    app = make_app(IVR_ENV=env, SECRET_KEY="a-production-grade-secret-key")
    response = app.test_client().get("/staff/login")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("ivr_staff=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure


def test_console_pages_are_not_cached_or_framed(quick):
    response = quick.test_client().get("/staff/login")
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


# The queue -------------------------------------------------------------------------


def waiting_people(app):
    """Two people waiting and one handled, as the webhooks store them."""
    store = app.extensions["ivr.store"]
    voicemail = store.add_request(
        "voicemail",
        "voice",
        CALLER,
        "es",
        NOW - timedelta(hours=2, minutes=5),
        topic="withdrawal",
        recording_url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        recording_seconds=42,
    )
    callback = store.add_request("callback", "sms", "+12035559876", "en", NOW - timedelta(days=3))
    done = store.add_request("callback", "voice", "+12035554444", "en", NOW - timedelta(hours=5))
    store.handle(done, ADMIN, NOW - timedelta(hours=1), "left a message")
    return voicemail, callback, done


def test_the_queue_shows_who_waits_oldest_first_with_the_number_masked(console):
    voicemail, callback, _ = waiting_people(console)
    client = console.test_client()
    sign_in(client)
    page = client.get("/staff").text
    headings = re.findall(r"<h2 id=\"entry-(\d+)\">([^<]+)</h2>", page)
    assert headings == [
        (str(callback), f"#{callback} Call-back request, waiting 3 days"),
        (str(voicemail), f"#{voicemail} Voicemail, waiting 2 h 5 min"),
    ]
    assert "2 people are waiting" in page
    assert "Tue 01 Dec, 07:55 EST</time> by phone" in page
    assert "Sat 28 Nov, 10:00 EST</time> by text" in page
    assert "<dd>Spanish</dd>" in page and "<dd>Withdrawal and detox</dd>" in page
    assert "<dd>none chosen</dd>" in page
    assert "number ending in 0123" in page and "number ending in 9876" in page
    assert "a recording of 42 seconds" in page
    assert "4444" not in page  # handled: not waiting
    assert "Recordings/RE1" not in page  # the recording's address is Twilio's, not for pages


NUMBER_FORMS = [CALLER, "2035550123", "203-555-0123", "(203) 555-0123", "%2B12035550123"]


def test_no_staff_page_holds_a_whole_number(console):
    waiting_people(console)
    client = console.test_client()
    sign_in(client, ADMIN)
    pages = {path: client.get(path).text for path in ("/staff", "/staff/handled", "/staff/audit")}
    assert "ending in 4444" in pages["/staff/handled"]
    for path, page in pages.items():
        digits = re.sub(r"\D", "", page)
        assert "5550123" not in digits and "5559876" not in digits, path
        assert not [form for form in NUMBER_FORMS if form in page], path


def test_mark_handled_keeps_who_when_and_the_note(console):
    voicemail, callback, _ = waiting_people(console)
    client = console.test_client()
    sign_in(client)
    form = {"csrf_token": token(client, "/staff"), "note": "  Called back, she is OK  "}
    response = client.post(f"/staff/requests/{voicemail}/handled", data=form)
    assert (response.status_code, response.location) == (302, "/staff")
    page = client.get("/staff").text
    assert f"#{voicemail} is marked handled." in page
    assert re.findall(r'<h2 id="entry-(\d+)"', page) == [str(callback)]
    store = console.extensions["ivr.store"]
    [row] = [r for r in store.handled(NOW - timedelta(days=1)) if r.id == voicemail]
    assert (row.handled_by, row.handled_at, row.handled_note) == (
        COUNSELOR,
        NOW,
        "Called back, she is OK",
    )
    latest = store.audit_entries()[0]
    assert (latest.who, latest.what, latest.request_id, latest.at) == (
        COUNSELOR,
        "handled",
        voicemail,
        NOW,
    )
    handled = client.get("/staff/handled").text
    assert handled.index(f"#{voicemail} Voicemail") < handled.index("left a message")
    assert "Called back, she is OK" in handled and f"<td>{COUNSELOR}</td>" in handled
    again = client.post(f"/staff/requests/{voicemail}/handled", data=form)
    assert f"#{voicemail} was not waiting." in client.get(again.location).text


@pytest.mark.parametrize(
    ("note", "changed"),
    [("", True), ("x" * 200, True), ("x" * 201, False)],
)
def test_a_note_has_200_characters_at_most(quick, note, changed):
    voicemail, _, _ = waiting_people(quick)
    client = quick.test_client()
    sign_in(client)
    form = {"csrf_token": token(client, "/staff"), "note": note}
    client.post(f"/staff/requests/{voicemail}/handled", data=form)
    still_waiting = [r.id for r in quick.extensions["ivr.store"].waiting()]
    assert (voicemail not in still_waiting) is changed


@pytest.mark.parametrize(
    ("email", "status", "audit_link"), [(COUNSELOR, 403, False), (ADMIN, 200, True)]
)
def test_the_audit_list_is_for_admins(console, email, status, audit_link):
    client = console.test_client()
    sign_in(client, email)
    response = client.get("/staff/audit")
    assert response.status_code == status
    assert ('href="/staff/audit"' in client.get("/staff").text) is audit_link
    if status == 200:
        rows = re.findall(r"</th>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", response.text)
        assert rows[:3] == [
            (ADMIN, "login"),
            ("test", "staff-added"),
            ("test", "staff-added"),
        ]


def test_the_database_down_says_so(quick, monkeypatch):
    client = quick.test_client()
    sign_in(client)

    def down(*args, **kwargs):
        raise StoreError("OperationalError")

    monkeypatch.setattr(quick.extensions["ivr.store"], "staff_by_id", down)
    response = client.get("/staff")
    assert response.status_code == 503
    assert "The database is not answering" in response.text


@pytest.mark.parametrize(
    ("minutes", "said"),
    [(0, "0 min"), (59, "59 min"), (60, "1 h"), (125, "2 h 5 min"), (47 * 60 + 59, "47 h 59 min")]
    + [(48 * 60, "2 days"), (10 * 24 * 60 + 5, "10 days"), (-5, "0 min")],
)
def test_how_long_someone_waited(minutes, said):
    assert waited(NOW, NOW + timedelta(minutes=minutes)) == said


# Accessible pages ------------------------------------------------------------------


class Outline(HTMLParser):
    """What a page's structure holds: headings, inputs and labels, tables, landmarks."""

    def __init__(self):
        super().__init__()
        self.headings: list[int] = []
        self.ids: list[str] = []
        self.labels: set[str] = set()
        self.inputs: list[str] = []
        self.tags: list[str] = []
        self.th_without_scope = 0
        self.tables = self.captions = 0
        self.first_link: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "a" and self.first_link is None:
            self.first_link = a.get("href")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "label":
            self.labels.add(a.get("for"))
        if tag == "input" and a.get("type") != "hidden":
            self.inputs.append(a.get("id"))
        if tag == "th" and "scope" not in a:
            self.th_without_scope += 1
        self.tables += tag == "table"
        self.captions += tag == "caption"


@pytest.mark.parametrize("path", ["/staff/login", "/staff", "/staff/handled", "/staff/audit"])
def test_pages_have_the_structure_assistive_technology_needs(quick, path):
    waiting_people(quick)
    client = quick.test_client()
    if path != "/staff/login":
        sign_in(client, ADMIN)
    page = Outline()
    page.feed(client.get(path).text)
    assert page.first_link == "#main"  # the skip link comes first
    assert page.tags.count("main") == 1 and "main" in page.ids
    assert page.headings[0] == 1 and page.headings.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:], strict=False))
    assert all(i in page.labels for i in page.inputs)
    assert bool(page.inputs) is (path in ("/staff/login", "/staff"))
    assert len(page.ids) == len(set(page.ids))  # no id twice
    assert page.th_without_scope == 0 and page.tables == page.captions


def test_the_stylesheet_is_served_and_shows_focus(quick):
    with quick.test_client().get("/static/staff.css") as css:
        assert css.status_code == 200
        text = css.text
    assert ":focus-visible { outline: 3px solid" in text
    assert not re.search(r"(?<![-\w])width:\s*\d+px", text)  # no fixed widths
