"""Storage on SQLite and PostgreSQL: what the line remembers, and that it loses nothing."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import re
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, create_engine, event, inspect, text

from ivr import migrate
from ivr.prepared import Prepared
from ivr.privacy import caller_hash
from ivr.store import Note, Store, StoreError

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
CALLER = "+12035550123"


def test_opt_out_and_back_in(store):
    assert not store.is_opted_out(CALLER)
    assert store.opt_out(CALLER, "STOP", NOW) is True
    assert store.opt_out(CALLER, "stop please", NOW) is False  # already out: one row
    assert store.is_opted_out(CALLER)
    assert store.opt_in(CALLER) is True
    assert not store.is_opted_out(CALLER)
    assert store.opt_in(CALLER) is False


def test_people_waiting_in_order_until_handled(store):
    first = store.add_request(
        "voicemail",
        "voice",
        CALLER,
        "es",
        NOW,
        topic="withdrawal",
        recording_url="https://api.twilio.com/RE1",
        recording_seconds=42,
    )
    second = store.add_request("callback", "sms", "+12035550199", "en", NOW + timedelta(minutes=5))
    waiting = store.waiting()
    assert [r.id for r in waiting] == [first, second]
    assert (waiting[0].number, waiting[0].language, waiting[0].topic) == (
        CALLER,
        "es",
        "withdrawal",
    )
    assert (waiting[0].recording_url, waiting[0].recording_seconds) == (
        "https://api.twilio.com/RE1",
        42,
    )
    assert waiting[0].at == NOW and waiting[0].at.tzinfo is not None
    assert store.handle(first, "Dana", NOW + timedelta(hours=1)) is True
    assert store.handle(first, "Lee", NOW + timedelta(hours=2)) is False
    assert [r.id for r in store.waiting()] == [second]


def test_a_retried_delivery_is_claimed_once_and_gets_the_same_reply(store):
    assert store.claim("sms:SM123", NOW, reply="<Response><Message>Hi</Message></Response>")
    assert store.claim("sms:SM123", NOW, reply="<Response />") is False
    assert store.reply_for("sms:SM123") == "<Response><Message>Hi</Message></Response>"
    assert store.reply_for("sms:SM999") is None


def test_an_unsent_text_is_taken_by_one_request_until_sent_or_failed(store):
    stale = NOW - timedelta(minutes=1)
    assert store.sending("k") is None and store.take_unsent("k", NOW, stale) is None
    store.claim("k", NOW, unsent="New voicemail")
    assert store.sending("k") == "failed"  # owed, and no one is sending it
    assert store.take_unsent("k", NOW, stale) == "New voicemail"
    assert store.sending("k") == "sending"
    assert store.take_unsent("k", NOW, stale) is None  # another request is sending it
    store.sent("k", ok=False)
    assert store.take_unsent("k", NOW, stale) == "New voicemail"  # failed: free to try again
    later = NOW + timedelta(minutes=2)
    assert store.take_unsent("k", later, later - timedelta(minutes=1)) == "New voicemail"  # died
    store.sent("k", ok=True)
    assert store.sending("k") == "sent"
    assert store.take_unsent("k", later, later) is None
    store.claim("plain", NOW)
    assert store.sending("plain") == "sent"  # nothing to send


def test_an_opt_out_with_a_delivery_key_is_stored_even_when_the_key_was_seen(store):
    assert store.opt_out(CALLER, "STOP", NOW, once="sms:SM1", reply="<Response />") is True
    assert store.reply_for("sms:SM1") == "<Response />"
    assert store.opt_in(CALLER, once="sms:SM2", at=NOW, reply="<Response />") is True
    assert store.opt_out(CALLER, "STOP", NOW, once="sms:SM1") is None  # claimed: a retry
    assert store.is_opted_out(CALLER)  # ... that still stored it
    assert store.opt_in(CALLER, once="sms:SM2", at=NOW) is None and not store.is_opted_out(CALLER)


def _voicemail_of(seconds: int):
    return lambda s: s.add_request(
        "voicemail", "voice", CALLER, "en", NOW, recording_seconds=seconds
    )


# What a driver raises for a value it cannot keep, per engine: SQLite's own OverflowError and
# UnicodeEncodeError are not SQLAlchemy errors; PostgreSQL's DataError and IntegrityError are.
DRIVER_FAULTS = [
    ("an integer past 64 bits", _voicemail_of(10**20), "OverflowError", "DataError"),
    (
        "a request id past 64 bits",
        lambda s: s.handle(10**20, "Dana", NOW),
        "OverflowError",
        "DataError",
    ),
    (
        "a lone surrogate",
        lambda s: s.opt_out(CALLER, "\ud800", NOW),
        "UnicodeEncodeError",
        "UnicodeEncodeError",
    ),
    (
        "a lone surrogate in a key",
        lambda s: s.claim("sms:\ud800", NOW),
        "UnicodeEncodeError",
        "UnicodeEncodeError",
    ),
    (
        "a missing language",
        lambda s: s.add_request("callback", "sms", CALLER, None, NOW),
        "IntegrityError",
        "IntegrityError",
    ),
    ("a NUL character", lambda s: s.opt_out(CALLER, "ST\x00OP", NOW), None, "DataError"),
    (
        "a number longer than its column",
        lambda s: s.opt_out("+1" * 40, "STOP", NOW),
        None,
        "DataError",
    ),
]


@pytest.mark.parametrize(
    ("case", "write", "on_sqlite", "on_postgresql"),
    DRIVER_FAULTS,
    ids=[f[0] for f in DRIVER_FAULTS],
)
def test_every_driver_fault_is_a_store_error_on_both_engines(
    store, case, write, on_sqlite, on_postgresql
):
    fault = on_sqlite if store.engine.dialect.name == "sqlite" else on_postgresql
    if fault is None:  # SQLite keeps NUL characters and does not enforce lengths
        write(store)
    else:
        with pytest.raises(StoreError, match=f"^{fault}$"):
            write(store)
    assert store.ping()  # the store still works after the fault


def test_events_keep_a_keyed_hash_never_the_number(store):
    store.add_event(NOW, "voice", "topic-heard", number=CALLER, language="en", topic="overdose")
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM events")).all()
    assert len(rows) == 1
    assert CALLER not in repr(rows) and CALLER[1:] not in repr(rows)
    row = rows[0]._mapping
    assert row["caller"] == caller_hash("test-secret-key", CALLER)
    assert (row["kind"], row["topic"]) == ("topic-heard", "overdose")
    assert store.count("topic-heard") == 1


def test_events_queued_by_many_requests_are_written_together_each_with_its_own_hash(store):
    callers = [f"+120355501{n:02d}" for n in range(40)]
    for n, number in enumerate(callers):
        notes = [Note("voice", "menu", "en", detail="greeting")]
        if n % 2:  # a request with two events: both kept, both with its hash
            notes.append(Note("voice", "topic-heard", "en", topic="overdose"))
        store.note_later(NOW, number, notes)
    store.later.flush()
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT caller, kind, topic FROM events")).all()
    assert len(rows) == 60
    hashes = {caller_hash("test-secret-key", number): n for n, number in enumerate(callers)}
    kinds: dict[int, list[str]] = {}
    for caller, kind, _topic in rows:
        kinds.setdefault(hashes[caller], []).append(kind)  # never a number, always a known hash
    assert {n: sorted(k) for n, k in kinds.items()} == {
        n: ["menu", "topic-heard"] if n % 2 else ["menu"] for n in range(40)
    }
    assert store.count("topic-heard") == 20


def test_the_words_of_a_text_are_kept_as_a_keyed_hash_per_number(store, db_url, make_store):
    store.add_event(NOW, "sms", "keyword", number=CALLER, language="en", said="detox please")
    with store.engine.connect() as connection:
        said = connection.execute(text("SELECT said FROM events")).scalar()
    assert said == store.said(CALLER, "detox please") and len(said) == 32
    assert "detox" not in said
    assert store.said("+12035550199", "detox please") != said  # the same words, another number
    other_key = make_store(db_url, "other-key", upgrade=False)
    assert other_key.said(CALLER, "detox please") not in (said, None)
    assert store.said(CALLER, None) is None


def test_replies_since_counts_replies_by_kind_and_by_words(store):
    minute_ago, hour_ago = NOW - timedelta(minutes=1), NOW - timedelta(hours=1)
    events = [
        (NOW, CALLER, "keyword", "reply", "detox"),
        (NOW - timedelta(seconds=30), CALLER, "keyword", "reply", "detox"),
        (NOW - timedelta(minutes=30), CALLER, "keyword", "reply", "detox"),
        (NOW - timedelta(hours=2), CALLER, "keyword", "reply", "detox"),  # past the window
        (NOW, CALLER, "repeated", "silent", "detox"),  # not a reply
        (NOW, CALLER, "wait", "reply", "meds"),
        (NOW, "+12035550199", "keyword", "reply", "detox"),  # another number
    ]
    for at, number, kind, detail, said in events:
        store.add_event(at, "sms", kind, number=number, detail=detail, said=said)
    store.add_event(NOW, "voice", "menu", number=CALLER, detail="reply")  # a call
    table = [
        ((minute_ago, None, None), 3),
        ((minute_ago, "wait", None), 1),
        ((minute_ago, None, "detox"), 2),
        ((hour_ago, None, "detox"), 3),
        ((hour_ago, None, "meds"), 1),
        ((hour_ago, None, "naloxone"), 0),
    ]
    assert [store.replies_since(CALLER, since, kind, said) for (since, kind, said), _ in table] == [
        count for _, count in table
    ]


def test_last_language_is_the_latest_text_event_with_a_language(store):
    assert store.last_language(CALLER) is None
    assert store.last_language("") is None
    rows = [
        (NOW - timedelta(minutes=9), "sms", CALLER, "en"),
        (NOW - timedelta(minutes=5), "sms", CALLER, "es"),
        (NOW - timedelta(minutes=3), "sms", CALLER, None),  # no language: skipped
        (NOW - timedelta(minutes=2), "voice", CALLER, "en"),  # a call: not the text line
        (NOW - timedelta(minutes=1), "sms", "+12035550199", "en"),  # another number
        (NOW - timedelta(minutes=7), "sms", CALLER, "en"),  # older, stored later
    ]
    for at, channel, number, language in rows:
        store.add_event(at, channel, "keyword", number=number, language=language)
    assert store.last_language(CALLER) == "es"
    store.add_event(NOW, "sms", "keyword", number=CALLER, language="en")
    assert store.last_language(CALLER) == "en"


def test_last_language_with_the_database_down_raises_store_error(make_store):
    down = make_store("postgresql://postgres@127.0.0.1:1/none", upgrade=False)
    with pytest.raises(StoreError):
        down.last_language(CALLER)


def test_purge_deletes_only_what_is_past_retention_and_handled(store):
    old, recent = NOW - timedelta(days=120), NOW - timedelta(days=10)
    handled_old = store.add_request("voicemail", "voice", CALLER, "en", old)
    store.handle(handled_old, "Dana", old + timedelta(hours=1))
    waiting_old = store.add_request("callback", "voice", CALLER, "en", old)
    handled_recent = store.add_request("callback", "sms", CALLER, "en", recent)
    store.handle(handled_recent, "Dana", recent)
    for at in (old, old, recent):
        store.add_event(at, "sms", "keyword")
    store.claim("sms:old", old)
    store.claim("sms:new", recent)
    store.opt_out(CALLER, "STOP", old)

    done = store.purge(NOW - timedelta(days=90))

    assert (done.requests, done.events, done.deliveries) == (1, 2, 1)
    assert [r.id for r in store.waiting()] == [waiting_old]  # a person still waiting is kept
    assert store.count() == 1
    assert store.claim("sms:new", NOW) is False and store.claim("sms:old", NOW) is True
    assert store.is_opted_out(CALLER)  # opt-outs outlive retention


def test_database_down_raises_store_error_and_record_counts_it(caplog, make_store):
    down = make_store("postgresql://postgres@127.0.0.1:1/none", upgrade=False)
    with pytest.raises(StoreError):
        down.is_opted_out(CALLER)
    assert down.record(NOW, "voice", "menu", number=CALLER) is False
    assert down.failed_writes == 1
    assert "event not stored (voice menu): OperationalError" in caplog.text
    assert CALLER not in caplog.text
    assert down.ping() is False


def test_unwritable_sqlite_fails_as_store_error_and_writes_again_once_writable(
    tmp_path, make_store
):
    """A file that cannot be written is not connected to (SQLite would open it read-only,
    and while one such connection is open, the process's others refuse writes too, even
    after the file is writable again): each use fails as StoreError, and the first use
    after the file is writable again works."""
    path = tmp_path / "ro.sqlite3"
    make_store(f"sqlite:///{path}").engine.dispose()
    # chmod does not stop root; the immutable flag does.
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        store = make_store(f"sqlite:///{path}", upgrade=False)
        assert store.record(NOW, "voice", "menu") is False
        assert store.failed_writes == 1
        assert store.ping() is False
        with pytest.raises(StoreError):
            store.opt_out(CALLER, "STOP", NOW)
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)
    store.opt_out(CALLER, "STOP", NOW)
    assert store.is_opted_out(CALLER)
    assert store.record(NOW, "voice", "menu") is True


def test_a_file_in_a_folder_it_cannot_write_is_down_until_the_folder_is_writable(
    tmp_path, make_store
):
    """SQLite cannot keep its write-ahead log beside the file: the connection is not made
    (a refused pragma fails it, as a file it cannot write does), so reads and writes fail as
    StoreError, the line answers as when the database is down, and writes once it can."""
    folder = tmp_path / "locked"
    folder.mkdir()
    path = folder / "db.sqlite3"
    make_store(f"sqlite:///{path}").engine.dispose()
    for leftover in folder.glob("db.sqlite3-*"):
        leftover.unlink()
    subprocess.run(["chattr", "+i", str(folder)], check=True)
    try:
        store = make_store(f"sqlite:///{path}", upgrade=False)
        with pytest.raises(StoreError):
            store.is_opted_out(CALLER)
        assert store.record(NOW, "voice", "menu") is False
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    store.opt_out(CALLER, "STOP", NOW)
    assert store.is_opted_out(CALLER)


def test_missing_sqlite_folder_fails_as_store_error(tmp_path, make_store):
    lost = make_store(f"sqlite:///{tmp_path / 'gone' / 'x.sqlite3'}", upgrade=False)
    with pytest.raises(StoreError):
        lost.opt_out(CALLER, "STOP", NOW)


# Concurrency: several processes at once, as gunicorn workers would be ----------


def _worker(url: str, worker: int, keys: int, results) -> None:
    store = Store(url, "k")
    claimed = 0
    for n in range(keys):
        # Every worker tries every key: only one may win each.
        claimed += store.claim(f"sms:SM{n}", NOW)
        store.add_event(NOW, "sms", "keyword", detail=f"w{worker}-{n}")
        store.opt_out(f"+1203555{n:04d}", "STOP", NOW)
    results.put(claimed)
    store.engine.dispose()


def test_concurrent_writers_lose_no_row_and_claim_each_key_once(db_url, make_store):
    store = make_store(db_url, "k")
    workers, keys = 4, 40
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(db_url, w, keys, results)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    assert sum(results.get(timeout=5) for _ in procs) == keys
    assert store.count("keyword") == workers * keys
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM opt_outs")).scalar() == keys


# Migrations -------------------------------------------------------------------


def test_migrations_create_and_drop_the_schema(db_url, make_store):
    engine = make_store(db_url, upgrade=False).engine
    assert inspect(engine).get_table_names() == []
    migrate.upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"opt_outs", "requests", "deliveries", "events", "staff", "audit"} <= tables
    migrate.downgrade(engine)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert {"opt_outs", "requests", "deliveries", "events"} <= set(
        inspect(engine).get_table_names()
    )


def test_models_and_migrations_agree(db_url, make_store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from ivr.tables import Base

    engine = make_store(db_url).engine
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_a_request_with_a_delivery_key_is_stored_once(store):
    first = store.add_request("callback", "voice", CALLER, "en", NOW, once="voice:CA1:callback")
    again = store.add_request("callback", "voice", CALLER, "en", NOW, once="voice:CA1:callback")
    assert isinstance(first, int) and again is None
    assert [r.id for r in store.waiting()] == [first]


# Staff accounts and the audit list (the staff console) --------------------------

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"  # a stand-in


def test_staff_accounts_are_added_once_listed_and_removed(store):
    assert store.add_staff("lee@w.example", "counselor", HASH, NOW, "cli", "+12035550100")
    assert store.add_staff("ann@w.example", "admin", HASH, NOW, "cli")
    assert store.add_staff("lee@w.example", "admin", "other", NOW, "cli") is False
    members = store.staff_members()
    assert [(m.email, m.role, m.phone, m.failed_logins, m.locked_until) for m in members] == [
        ("ann@w.example", "admin", None, 0, None),
        ("lee@w.example", "counselor", "+12035550100", 0, None),
    ]
    lee = store.staff_member("lee@w.example")
    assert (lee.password_hash, lee.created_at) == (HASH, NOW)
    assert store.staff_by_id(lee.id).email == "lee@w.example"
    assert store.remove_staff("lee@w.example", NOW, "cli") is True
    assert store.remove_staff("lee@w.example", NOW, "cli") is False
    assert store.staff_member("lee@w.example") is None and store.staff_by_id(lee.id) is None
    assert [(e.who, e.what, e.note) for e in reversed(store.audit_entries())] == [
        ("cli", "staff-added", "lee@w.example as counselor"),
        ("cli", "staff-added", "ann@w.example as admin"),
        ("cli", "staff-removed", "lee@w.example"),
    ]


def test_failed_logins_lock_an_account_and_a_login_or_new_password_unlocks_it(store):
    store.add_staff("lee@w.example", "counselor", HASH, NOW, "cli")
    lee = store.staff_member("lee@w.example").id
    lock = timedelta(minutes=15)
    assert [store.login_failed(lee, NOW, 3, lock) for _ in range(2)] == [None, None]
    assert store.staff_by_id(lee).failed_logins == 2
    assert store.login_failed(lee, NOW, 3, lock) == NOW + lock
    account = store.staff_by_id(lee)
    assert (account.failed_logins, account.locked_until) == (0, NOW + lock)
    assert store.set_password("lee@w.example", "new-hash", NOW, "cli") is True
    account = store.staff_by_id(lee)
    assert (account.password_hash, account.locked_until) == ("new-hash", None)
    store.login_failed(lee, NOW, 3, lock)
    store.login_succeeded(lee, NOW + timedelta(minutes=1), rehashed="rehashed")
    account = store.staff_by_id(lee)
    assert (account.failed_logins, account.password_hash) == (0, "rehashed")
    assert store.set_password("nobody@w.example", "x", NOW, "cli") is False
    assert store.login_failed(9999, NOW, 3, lock) is None  # removed meanwhile: nothing to count
    whats = [e.what for e in reversed(store.audit_entries())]
    assert whats == ["staff-added", *["login-failed"] * 3, "locked", "password-changed"] + [
        "login-failed",
        "login",
    ]


def test_handled_requests_keep_the_note_and_an_audit_entry(store):
    first = store.add_request("voicemail", "voice", CALLER, "en", NOW)
    second = store.add_request("callback", "sms", CALLER, "es", NOW)
    later = NOW + timedelta(hours=1)
    assert store.handle(first, "lee@w.example", later, "called back " + "x" * 300) is True
    assert store.handle(second, "ann@w.example", later + timedelta(minutes=1)) is True
    assert [r.id for r in store.handled(NOW)] == [second, first]  # most recently handled first
    assert store.handled(later + timedelta(minutes=2)) == []
    row = store.handled(NOW)[1]
    assert (row.handled_by, row.handled_at, len(row.handled_note)) == ("lee@w.example", later, 200)
    entries = [(e.who, e.what, e.request_id) for e in store.audit_entries()]
    assert entries == [("ann@w.example", "handled", second), ("lee@w.example", "handled", first)]
    assert store.handle(first, "ann@w.example", later) is False
    assert len(store.audit_entries()) == 2


def test_the_audit_list_is_newest_first_and_cut_to_its_columns(store):
    for n in range(3):
        store.audit(NOW + timedelta(minutes=n), "x" * 100, f"what-{n}" + "y" * 30, n, "z" * 300)
    entries = store.audit_entries(most=2)
    assert [e.at for e in entries] == [NOW + timedelta(minutes=2), NOW + timedelta(minutes=1)]
    assert (len(entries[0].who), len(entries[0].what), len(entries[0].note)) == (80, 24, 200)


def test_staff_methods_raise_store_error_when_the_database_is_down(make_store):
    down = make_store("postgresql://postgres@127.0.0.1:1/none", upgrade=False)
    calls = [
        lambda: down.add_staff("a@b.org", "admin", HASH, NOW, "cli"),
        lambda: down.staff_member("a@b.org"),
        lambda: down.staff_by_id(1),
        lambda: down.staff_members(),
        lambda: down.remove_staff("a@b.org", NOW, "cli"),
        lambda: down.set_password("a@b.org", HASH, NOW, "cli"),
        lambda: down.login_failed(1, NOW, 5, timedelta(minutes=1)),
        lambda: down.login_succeeded(1, NOW),
        lambda: down.audit(NOW, "cli", "x"),
        lambda: down.audit_entries(),
        lambda: down.handled(NOW),
    ]
    for call in calls:
        with pytest.raises(StoreError):
            call()


def test_a_call_step_uses_a_line_state_read_moments_ago_and_sees_its_own_changes_at_once(
    store, db_url, make_store, monkeypatch
):
    """Every call step reads the on-call/open state; a worker may reuse what it read within
    IVR_LINE_STATE_SECONDS. A change through the same Store is seen at once; one made
    elsewhere (another worker, `ivr` on the command line) once that time has passed."""
    at = datetime(2026, 12, 1, 15, tzinfo=UTC)
    clock = [1000.0]
    monkeypatch.setattr("ivr.store_line.time.monotonic", lambda: clock[0])
    assert store.line_state(2).staff_line is None
    store.set_on_call("+12035550101", None, None, "admin@example.org", at)
    assert store.line_state(2).staff_line == "+12035550101"  # its own change, at once
    other = make_store(db_url, upgrade=False)  # another worker
    other.set_on_call("+12035550199", None, None, "admin@example.org", at)
    clock[0] += 1.9
    assert store.line_state(2).staff_line == "+12035550101"  # read 1.9 s ago: reused
    assert store.line_state().staff_line == "+12035550199"  # the console reads it fresh
    other.clear_on_call("admin@example.org", at)
    clock[0] += 2.0
    assert store.line_state(2).staff_line is None  # 2 s on: read again


def _durability_at_each_insert(store: Store, monkeypatch) -> list[tuple[str, str]]:
    """(table, the engine's flush setting in effect) for every INSERT the store runs: SQLite's
    `synchronous`, PostgreSQL's `synchronous_commit`, read inside the writing transaction,
    whether the insert goes through SQLAlchemy or is a prepared statement on the driver (and,
    for one statement that inserts into several tables, each table it inserts into)."""
    seen: list[tuple[str, str]] = []
    ask = (
        "PRAGMA synchronous" if store.engine.dialect.name == "sqlite" else "SHOW synchronous_commit"
    )

    def note(cursor, statement: str) -> None:
        tables = re.findall(r"\bINSERT INTO \"?(\w+)", statement, flags=re.IGNORECASE)
        if tables:
            cursor.execute(ask)
            setting = str(cursor.fetchone()[0])
            seen.extend((table, setting) for table in tables)

    def before(_conn, _cursor, statement, *_args) -> None:
        cursor = _conn.connection.cursor()
        note(cursor, statement)
        cursor.close()

    event.listen(store.engine, "before_cursor_execute", before)
    for name in ("run", "run_many"):
        method = getattr(Prepared, name)

        def watched(self, connection, values, method=method):
            # a transaction's Connection, or a pooled driver connection (a read)
            plain = connection.connection if isinstance(connection, Connection) else connection
            cursor = plain.cursor()
            note(cursor, self.sql)
            cursor.close()
            return method(self, connection, values)

        monkeypatch.setattr(Prepared, name, watched)
    return seen


def test_a_keyword_text_commits_light_and_an_opt_out_waits_for_the_disk(store, monkeypatch):
    """Issue 11: a text that only asks a question stores its claim and event without waiting
    for the disk (SQLite synchronous NORMAL = 1; PostgreSQL synchronous_commit off), still
    before the reply; an opt-out, a call-back request or a crisis entry waits for it (FULL = 2;
    on). Alternating on one pooled connection, each transaction gets its own setting."""
    seen = _durability_at_each_insert(store, monkeypatch)
    sqlite = store.engine.dialect.name == "sqlite"
    light, lasting = ("1", "2") if sqlite else ("off", "on")
    note = Note("sms", "keyword", "en", "withdrawal")
    for n, keep in enumerate([None, "opt-out", None, "callback", None, "crisis", None]):
        seen.clear()
        assert store.keep_text(NOW, f"sms:SM{n}", CALLER, note, reply="<Response/>", keep=keep)
        store.later.flush()  # a keyword text's claim and event go with the next batch
        wanted = light if keep is None else lasting
        assert seen and all(setting == wanted for _, setting in seen), (keep, seen)
    store.note(NOW, CALLER, [Note("voice", "menu", "en")])  # analytics of a call step
    assert seen[-1] == ("events", light)
    assert store.is_opted_out(CALLER)  # the opt-out was kept (a later callback did not undo it)


def test_a_crisis_that_asks_to_stop_keeps_the_opt_out_and_the_crisis_entry(store):
    note = Note("sms", "crisis", "en", "suicide", "reply")
    kept = store.keep_text(
        NOW, "sms:SMc1", CALLER, note, reply="<Response/>", keep="crisis-opt-out", words="stop"
    )
    assert kept and store.is_opted_out(CALLER)
    assert [(w.kind, w.number) for w in store.waiting()] == [("crisis-text", CALLER)]
    again = store.keep_text(
        NOW, "sms:SMc1", CALLER, note, reply="<Response/>", keep="crisis-opt-out", words="stop"
    )
    assert not again and len(store.waiting()) == 1  # a retry keeps nothing more


def test_an_opt_out_is_stored_whole_once_and_a_retry_stores_nothing_more(store, monkeypatch):
    """Issue 11: a STOP's claim, opt-out and event are stored together before the reply, on
    PostgreSQL in one statement that waits for the disk. The same delivery again stores
    nothing and keeps the first reply; a new STOP from the number is claimed and counted, and
    the opt-out stands."""
    seen = _durability_at_each_insert(store, monkeypatch)
    stop = Note("sms", "opt-out", "en", None, "reply", "stop")

    def keep(key: str, reply: str, at: datetime = NOW) -> bool:
        return store.keep_text(at, key, CALLER, stop, reply=reply, keep="opt-out", words="STOP")

    assert keep("sms:SMs1", "<Response>no more</Response>")
    lasting = "2" if store.engine.dialect.name == "sqlite" else "on"
    assert sorted(seen) == [("deliveries", lasting), ("events", lasting), ("opt_outs", lasting)]
    assert not keep("sms:SMs1", "<Response>again</Response>")  # Twilio's retry
    assert store.reply_for("sms:SMs1") == "<Response>no more</Response>"
    assert store.is_opted_out(CALLER) and store.count("opt-out") == 1
    later = NOW + timedelta(seconds=30)
    assert keep("sms:SMs2", "<Response>still</Response>", later)
    assert store.count("opt-out") == 2 and store.is_opted_out(CALLER)
    known = store.recall_text("sms:SMs3", CALLER, "stop", later, NOW - timedelta(minutes=10))
    assert known.opted_out and known.replies == 1 and known.repeats == 2


def _turn_is_free(path) -> bool:
    """Whether another process could take the writers' turn now (a fresh descriptor)."""
    descriptor = os.open(f"{path}-writers", os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)


def test_sqlite_writers_take_turns_through_a_lock_file_given_back_after_each_write(
    tmp_path, make_store
):
    """Issue 11: two workers' writers wait for each other on a lock file beside the database
    (they look again within a millisecond, where SQLite's own wait sleeps 1, 2, 5, 10 ms...).
    The turn is held while a write transaction is open, given back when it ends, whether it
    committed or failed; reads never take it; and a thread that holds it does not wait for
    itself through a second connection."""
    path = tmp_path / "turns.sqlite3"
    store = make_store(f"sqlite:///{path}")
    store.opt_out(CALLER, "STOP", NOW)
    assert _turn_is_free(path)
    with store.session() as s:
        s.execute(text("SELECT 1"))
        assert not _turn_is_free(path)  # held by the open write transaction
        with store.session(reading=True) as r:  # a read in the same thread: no wait
            assert r.execute(text("SELECT count(*) FROM opt_outs")).scalar() == 1
    assert _turn_is_free(path)
    with pytest.raises(StoreError), store.session() as s:
        s.execute(text("INSERT INTO no_such_table VALUES (1)"))
    assert _turn_is_free(path)  # given back after a failed write too
    with store.session(reading=True):
        assert _turn_is_free(path)  # reads never take it
    other = sqlite3.connect(path, isolation_level=None)  # a writer that takes no turn
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError):  # BEGIN IMMEDIATE itself fails, after SQLite's wait
            store.opt_in(CALLER)
        assert _turn_is_free(path)  # given back when the transaction could not even begin
    finally:
        other.rollback()
        other.close()
    assert store.is_opted_out(CALLER)


def test_what_a_text_recalls_is_read_as_stored_on_both_engines(store):
    """Issue 11: the text path's one read is a statement prepared for the driver; what it
    returns must be what was stored: aware UTC times, counts, the last language, the reply."""
    number, later = "+12035550177", NOW + timedelta(hours=3)
    store.set_on_call("+12035550101", None, "+12035550102", "admin@example.org", NOW)
    store.set_hours("closed", "snow", later, "admin@example.org", NOW)
    first = store.recall_text("sms:SM1", number, "detox", NOW, NOW)
    assert (first.reply, first.opted_out, first.language, first.replies) == (None, False, None, 0)
    assert first.state is not None and first.state.staff_line == "+12035550101"
    assert (first.state.on_call_at, first.state.hours_until) == (NOW, later)
    assert first.state.hours_until.tzinfo is not None and first.state.hours_state == "closed"
    note = Note("sms", "keyword", "es", "withdrawal", "reply", "detox")
    assert store.keep_text(NOW, "sms:SM1", number, note, reply="<Response>uno</Response>")
    store.opt_out(number, "STOP", NOW)
    minute_ago = NOW - timedelta(minutes=1)
    again = store.recall_text("sms:SM2", number, "detox", minute_ago, minute_ago)
    assert (again.reply, again.opted_out, again.language) == (None, True, "es")
    assert (again.replies, again.repeats) == (1, 1)
    retry = store.recall_text("sms:SM1", number, "detox", minute_ago, minute_ago)
    assert retry.reply == "<Response>uno</Response>"
    # Times are stored as SQLAlchemy stores them, so a reply at the very edge of a window
    # counts (SQLite compares them as text: "07:00:00" would sort before "07:00:00.000000").
    assert store.recall_text("sms:SM3", number, "detox", NOW, NOW).replies == 1
    assert store.replies_since(number, NOW) == 1


def test_a_keyword_text_is_kept_with_the_next_batch_and_a_retry_adds_no_second_event(store):
    """Issue 11: a text that asks for nothing to be kept is answered before its claim and
    event are written (they go with the next batch, in one transaction); the same delivery
    queued twice (a retry before the batch) is kept once, with one event; the number's next
    text in this process reads them first."""
    note = Note("sms", "keyword", "en", "withdrawal", "reply", "detox")
    for _ in range(2):
        assert store.keep_text(NOW, "sms:SMq", CALLER, note, reply="<Response>one</Response>")
    assert store.later.waiting_for(CALLER)
    known = store.recall_text("sms:SMq", CALLER, "detox", NOW, NOW)  # waits for the batch
    assert known.reply == "<Response>one</Response>" and not store.later.waiting_for(CALLER)
    assert store.count("keyword") == 1
    assert store.replies_since(CALLER, NOW) == 1
    # The batch's claims go in one statement: in a later batch, the delivery already kept
    # adds nothing, and each new one is kept with its event.
    for key in ("sms:SMq", "sms:SMq2", "sms:SMq3", "sms:SMq2"):
        assert store.keep_text(NOW, key, CALLER, note, reply=f"<Response>{key}</Response>")
    store.later.flush()
    assert store.count("keyword") == 3
    assert (
        store.recall_text("sms:SMq3", CALLER, "x", NOW, NOW).reply
        == "<Response>sms:SMq3</Response>"
    )
    assert store.recall_text("sms:SMq", CALLER, "x", NOW, NOW).reply == "<Response>one</Response>"
    stop = Note("sms", "opt-out", "en", None, "reply", "stop")
    assert store.keep_text(NOW, "sms:SMr", CALLER, stop, reply="<Response/>", keep="opt-out")
    assert not store.later.waiting_for(CALLER) and store.is_opted_out(CALLER)  # kept at once


def _server_drops_connections(url: str) -> int:
    """As a PostgreSQL restart does to a worker's idle pooled connections: the server ends
    every session on this database but the one asking; how many it ended."""
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return int(ended.scalar_one())
    finally:
        admin.dispose()


def test_connections_the_server_dropped_are_replaced_for_a_read_and_a_claimed_write(
    postgres_database, make_store
):
    """Issue 11 (PostgreSQL): pooled connections are not pinged before use, so after a restart
    the first use of each meets a dead one. A text's read, a claimed write (a STOP, a
    call-back request) and the health check each try once more on a new connection instead
    of failing: the first STOP after a restart is kept, and the next text finds it."""
    url = postgres_database()
    store = make_store(url)
    stop = Note("sms", "opt-out", "en", None, "reply", "stop")
    store.line_state()  # a read: its connection waits in the pool
    assert _server_drops_connections(url) >= 1
    assert store.recall_text("sms:SMd1", CALLER, "stop", NOW, NOW).opted_out is False
    assert _server_drops_connections(url) >= 1
    assert store.keep_text(NOW, "sms:SMd1", CALLER, stop, reply="<Response/>", keep="opt-out")
    assert _server_drops_connections(url) >= 1
    assert store.recall_text("sms:SMd2", CALLER, "detox", NOW, NOW).opted_out is True
    callback = Note("sms", "callback", "en", None, "reply", "call me")
    assert _server_drops_connections(url) >= 1
    assert store.keep_text(NOW, "sms:SMd3", CALLER, callback, reply="<R/>", keep="callback")
    assert [r.kind for r in store.waiting()] == ["callback"]
    assert _server_drops_connections(url) >= 1
    assert store.ping()
