"""`ivr check`: what staff see when they check their edits."""

from __future__ import annotations

from ivr.cli import main


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
    assert out.rstrip().endswith("1 errors; the line cannot start with this menu.")


def test_check_fails_on_a_lint_error(menu_copy, edit_yaml, capsys):
    edit_yaml(
        menu_copy.parent / "content" / "relapse.yaml",
        lambda d: d["spoken"].update(en="Call us now. " * 80),
    )
    assert main(["check", str(menu_copy)]) == 1
    out = capsys.readouterr().out
    assert "error: content/relapse.yaml: spoken.en: 96 s spoken; at most 90" in out
    assert "1 errors, 0 warnings." in out


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
    assert main(["db", "downgrade"]) == 0
    assert inspect(engine).get_table_names() == ["alembic_version"]
    engine.dispose()
    assert capsys.readouterr().out.splitlines() == [
        "database upgraded to head",
        "database downgraded to base",
    ]
