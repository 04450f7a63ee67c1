"""`ivr check`: what staff see when they check their edits."""

from __future__ import annotations

import argparse
import re

import pytest

from ivr.cli import build_parser, main


def test_check_passes_on_shipped_files(capsys):
    assert main(["check", "menus.yaml"]) == 0
    out = capsys.readouterr().out
    assert "0 errors, 0 warnings." in out
    assert out.splitlines()[1].split() == [
        "topic",
        "lang",
        "words",
        "secs",
        "read",
        "before",
        "sms",
    ]
    rows = [r for r in out.splitlines() if r.startswith(("withdrawal ", "overdose "))]
    assert len(rows) == 4


def test_check_reports_load_errors_and_fails(menu_copy, edit_yaml, capsys):
    edit_yaml(menu_copy, lambda d: d["center"].update(time_zone="Nowhere/Land"))
    assert main(["check", str(menu_copy)]) == 1
    out = capsys.readouterr().out
    assert (
        "error: menus.yaml:" in out and "center.time_zone: unknown time zone 'Nowhere/Land'" in out
    )
    assert out.rstrip().endswith("1 error; the line cannot start with this menu.")


def test_check_fails_on_a_lint_error(menu_copy, edit_yaml, capsys):
    edit_yaml(
        menu_copy.parent / "content" / "relapse.yaml",
        lambda d: d["spoken"].update(en="Call us now. " * 80),
    )
    assert main(["check", str(menu_copy)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"error: content/relapse\.yaml:\d+: spoken\.en: 96 s spoken; at most 90", out)
    assert "1 error, 0 warnings." in out


def test_check_passes_with_warnings(menu_copy, capsys):
    (menu_copy.parent / "content" / "old.yaml").write_text("spoken: {}\n")
    assert main(["check", str(menu_copy)]) == 0
    assert "warning: content/old.yaml: (top): no topic uses this file" in capsys.readouterr().out


def test_purge_prints_what_it_deleted(tmp_path, monkeypatch, make_store, capsys):
    from datetime import UTC, datetime, timedelta

    url = f"sqlite:///{tmp_path / 'purge.sqlite3'}"
    store = make_store(url)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    old = now - timedelta(days=40)
    done = store.add_request("voicemail", "voice", "+12035550123", "en", old)
    store.handle(done, "Dana", old)
    store.add_event(old, "voice", "menu")
    store.add_event(now, "voice", "menu")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("IVR_NOW", now.isoformat())
    monkeypatch.setenv("IVR_RETENTION_DAYS", "30")
    assert main(["purge"]) == 0
    assert capsys.readouterr().out == (
        "purged rows older than 30 days: 1 handled voicemails and call-backs, "
        "1 events, 0 delivery records\n"
    )
    assert main(["purge", "--older-than", "90d"]) == 0
    assert "0 handled voicemails and call-backs, 0 events" in capsys.readouterr().out


def test_db_upgrade_and_downgrade(tmp_path, monkeypatch, capsys):
    from sqlalchemy import create_engine, inspect

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    engine = create_engine(url)
    assert "requests" in inspect(engine).get_table_names()
    capsys.readouterr()
    assert main(["db", "downgrade"]) == 1  # not a terminal and no --yes: it asks, nobody agrees
    assert "requests" in inspect(engine).get_table_names()
    assert "Nothing was changed." in capsys.readouterr().out
    assert main(["db", "downgrade", "--yes"]) == 0
    assert inspect(engine).get_table_names() == ["alembic_version"]
    engine.dispose()
    assert capsys.readouterr().out.splitlines() == ["database downgraded to base"]


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (["purge"], "purge"),
        (["queue"], "queue"),
        (["handle", "1", "--by", "dana"], "handle"),
        (["staff", "list"], "ivr staff list"),
    ],
)
def test_a_database_with_no_tables_is_named_plainly(command, name, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert main(command) == 1
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        f"{name} failed: the database has no tables yet; run `ivr db upgrade` first.\n",
    )


def test_serve_stops_on_a_broken_menu_before_starting_gunicorn(
    menu_copy, edit_yaml, monkeypatch, capsys
):
    edit_yaml(menu_copy, lambda d: d["center"].update(time_zone="Nowhere/Land"))
    monkeypatch.setenv("IVR_MENUS", str(menu_copy))
    monkeypatch.setattr("os.execvp", lambda *a: pytest.fail("gunicorn must not start"))
    assert main(["serve"]) == 1
    out = capsys.readouterr().out
    assert "unknown time zone 'Nowhere/Land'" in out
    assert "ivr serve: 1 error in the menu; fix, then run again." in out


@pytest.fixture
def simulated(tmp_path, monkeypatch):
    """`ivr call` and `ivr text` on their own database, with no Twilio credentials."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'sim.sqlite3'}")
    monkeypatch.setenv("IVR_ENV", "development")
    monkeypatch.setenv("IVR_NOW", "2026-12-01T10:00:00-05:00")
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_ivr_text_answers_each_run_and_says_why_it_is_silent(simulated, capsys):
    for words in (["info", "metadona"], ["STOP"], ["detox"]):
        assert main(["text", *words]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "[Tue 01 Dec 2026 10:00 EST at the center: open]"
    assert out[1].startswith("Las medicinas")
    assert out[3].startswith("You will get no more texts")
    assert out[5] == "[no reply: this number opted out]"


@pytest.mark.parametrize(
    ("interrupt", "code", "last"),
    [(KeyboardInterrupt, 130, "[stopped]"), (EOFError, 0, "[you hung up]")],
)
def test_ivr_call_ends_cleanly_on_ctrl_c_and_ctrl_d(
    simulated, monkeypatch, capsys, interrupt, code, last
):
    def press(prompt):
        raise interrupt

    monkeypatch.setattr("builtins.input", press)
    assert main(["call"]) == code
    out = capsys.readouterr()
    assert out.out.splitlines()[-1] == last and out.err == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["call", "--at", "tomorrow"], "ivr call: error: argument --at: not an ISO 8601 time"),
        (["text", "--at", "2026-12-01T10:00", "hi"], "argument --at: needs a UTC offset"),
        (["text", "--from", "555", "hi"], "argument --from: not a number like +12035550100"),
        (["text"], "ivr text: error: the following arguments are required: words"),
        (["handle", "one", "--by", "Dana"], "argument id: invalid int value: 'one'"),
        (["ring"], "ivr: error: argument command: invalid choice: 'ring'"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1


def test_every_command_and_option_has_help():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helped = {choice.dest: choice.help for choice in commands._choices_actions}
    assert set(helped) == set(commands.choices) and all(helped.values())
    missing = [
        f"{name} {action.dest}"
        for name, command in commands.choices.items()
        for action in command._actions
        if not action.help
    ]
    assert missing == []


# ivr staff -------------------------------------------------------------------

STAFF_PASSWORD = "correct horse battery"


@pytest.fixture
def staff_db(tmp_path, monkeypatch, make_store):
    """A migrated database the `ivr staff` commands use; returns its Store."""
    url = f"sqlite:///{tmp_path / 'staff.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return make_store(url)


def _typed(monkeypatch, text: str) -> None:
    """What standard input holds for the next command."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_staff_add_list_passwd_remove(staff_db, monkeypatch, capsys):
    from ivr import accounts

    _typed(monkeypatch, STAFF_PASSWORD + "\n")
    argv = ["staff", "add", "Dana@W.example", "--role", "admin", "--phone", "+1 203 555 0100"]
    assert main([*argv, "--password-stdin"]) == 0
    assert main(["staff", "list"]) == 0
    _typed(monkeypatch, "another long password\n")
    assert main(["staff", "passwd", "dana@w.example", "--password-stdin"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "dana@w.example added as admin; they sign in at /staff/login."
    assert out[1].split()[:4] == ["dana@w.example", "admin", "+12035550100", "added"]
    assert out[2].startswith("dana@w.example has a new password (and is unlocked)")
    account = staff_db.staff_member("dana@w.example")
    assert accounts.verify(account.password_hash, "another long password")
    assert main(["staff", "remove", "dana@w.example"]) == 0
    assert main(["staff", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "dana@w.example removed; their sessions end at their next click.",
        "No staff accounts. Add the first admin: ivr staff add EMAIL --role admin",
    ]
    whats = [(e.what, e.who.startswith("command line")) for e in staff_db.audit_entries()]
    assert whats == [("staff-removed", True), ("password-changed", True), ("staff-added", True)]


@pytest.mark.parametrize(
    ("typed", "says", "kept", "audited"),
    [
        (
            "+1 (203) 555-0177",
            "dana@w.example will be rung at +12035550177 to call back as the center.",
            "+12035550177",
            "dana@w.example: ending in 0177",
        ),
        (
            "none",
            "dana@w.example has no phone now; the console will not ring them to call back.",
            None,
            "dana@w.example: none",
        ),
    ],
)
def test_staff_phone_sets_a_counselors_own_phone(staff_db, capsys, typed, says, kept, audited):
    from datetime import UTC, datetime

    staff_db.add_staff(
        "dana@w.example", "counselor", "hash", datetime.now(UTC), "t", "+12035550100"
    )
    assert main(["staff", "phone", "Dana@W.example", typed]) == 0
    assert capsys.readouterr().out.splitlines() == [says]
    assert staff_db.staff_member("dana@w.example").phone == kept
    [changed, _] = staff_db.audit_entries()
    assert (changed.what, changed.note, changed.who.startswith("command line")) == (
        "phone-changed",
        audited,
        True,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["phone", "nobody@w.example", "+12035550177"], "nobody@w.example has no account"),
        (["phone", "x@w.example", "+1203"], "not a valid phone number: '+1203'"),
        (["phone", "x@w.example", "call me"], "not a phone number in E.164"),
    ],
)
def test_staff_phone_refusals_change_nothing(staff_db, capsys, argv, message):
    from datetime import UTC, datetime

    staff_db.add_staff("x@w.example", "counselor", "hash", datetime.now(UTC), "t", "+12035550100")
    assert main(["staff", *argv]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"ivr staff phone: {message}") and line.endswith("nothing was changed")
    assert staff_db.staff_member("x@w.example").phone == "+12035550100"


@pytest.mark.parametrize(
    ("argv", "typed", "message"),
    [
        (
            ["add", "x@w.example", "--role", "admin"],
            "short\n",
            "the password must have 12 characters or more",
        ),
        (
            ["add", "x@w.example", "--role", "admin"],
            "y" * 1025,
            "the password must have 1024 characters at most",
        ),
        (
            ["add", "old@w.example", "--role", "counselor"],
            STAFF_PASSWORD,
            "old@w.example has an account already",
        ),
        (["passwd", "nobody@w.example"], STAFF_PASSWORD, "nobody@w.example has no account"),
        (["remove", "nobody@w.example"], "", "nobody@w.example has no account"),
    ],
)
def test_staff_refusals_are_one_line_and_exit_1(
    staff_db, monkeypatch, capsys, argv, typed, message
):
    from datetime import UTC, datetime

    staff_db.add_staff("old@w.example", "admin", "hash", datetime.now(UTC), "test")
    _typed(monkeypatch, typed)
    needs = ["--password-stdin"] if argv[0] in ("add", "passwd") else []
    assert main(["staff", *argv, *needs]) == 1
    err = capsys.readouterr().err
    assert err == f"ivr staff {argv[0]}: {message}; nothing was changed\n"
    assert len(staff_db.staff_members()) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add", "dana", "--role", "admin"], "argument email: not an email address: 'dana'"),
        (["add", "d@w.example", "--role", "boss"], "argument --role: invalid choice: 'boss'"),
        (["add", "d@w.example"], "the following arguments are required: --role"),
        (
            ["add", "d@w.example", "--role", "admin", "--phone", "555"],
            "argument --phone: not a phone number in E.164",
        ),
        (["fire", "d@w.example"], "argument action: invalid choice: 'fire'"),
        ([], "the following arguments are required: action"),
    ],
)
def test_staff_usage_errors_get_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["staff", *argv])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("tty", "answers", "code", "said"),
    [
        (True, [STAFF_PASSWORD, STAFF_PASSWORD], 0, "t@w.example added as counselor"),
        (True, [STAFF_PASSWORD, STAFF_PASSWORD + "!"], 1, "the two passwords differ"),
        (False, [], 1, "no terminal to ask for the password on: use --password-stdin"),
    ],
)
def test_staff_add_asks_twice_at_a_terminal(
    staff_db, monkeypatch, capsys, tty, answers, code, said
):
    asked = []

    def getpass(prompt):
        asked.append(prompt)
        return answers[len(asked) - 1]

    _typed(monkeypatch, "")
    monkeypatch.setattr("sys.stdin.isatty", lambda: tty)
    monkeypatch.setattr("getpass.getpass", getpass)
    assert main(["staff", "add", "t@w.example", "--role", "counselor"]) == code
    out, err = capsys.readouterr()
    assert said in (out if code == 0 else err)
    assert len(asked) == len(answers)
    assert STAFF_PASSWORD not in out + err


def test_every_staff_command_and_option_has_help():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    staff = commands.choices["staff"]
    actions = next(a for a in staff._actions if isinstance(a, argparse._SubParsersAction))
    assert set(actions.choices) == {"add", "remove", "passwd", "phone", "list"}
    assert all(choice.help for choice in actions._choices_actions)
    missing = [
        f"staff {name} {action.dest}"
        for name, command in actions.choices.items()
        for action in command._actions
        if not action.help
    ]
    assert missing == []
