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
