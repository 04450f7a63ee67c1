"""The lint: each measured rule fires on a file that breaks it, and not on the shipped files."""

from __future__ import annotations

import re

import pytest

from ivr import prompts
from ivr.lint import lint, readability
from ivr.menus import load_line

HARD_EN = (
    "Pharmacological interventions necessitate comprehensive multidisciplinary "
    "consideration of individualized physiological characteristics. "
)
HARD_ES = (
    "Las intervenciones farmacológicas requieren consideraciones multidisciplinarias "
    "individualizadas extraordinariamente especializadas. "
)
EASY_EN = "We can help you. Call us any time. "
EASY_ES = "Le podemos ayudar. Llame cuando quiera. "


def _errors(menu_path):
    """Errors and warnings as printed, without their line numbers (tested on their own below)."""
    problems, _ = lint(load_line(menu_path))
    unplaced = [re.sub(r"^([^:]+):\d+: ", r"\1: ", str(p)) for p in problems]
    return [u for u, p in zip(unplaced, problems, strict=True) if p.level == "error"], [
        u for u, p in zip(unplaced, problems, strict=True) if p.level == "warning"
    ]


def test_measured_problems_name_the_line_of_their_key(menu_copy, edit_yaml):
    _set_content(edit_yaml, menu_copy, "relapse", "spoken", "en", HARD_EN * 3)
    problems, _ = lint(load_line(menu_copy))
    (problem,) = [p for p in problems if p.level == "error"]
    text = (menu_copy.parent / "content" / "relapse.yaml").read_text().splitlines()
    assert problem.line is not None and text[problem.line - 1].lstrip().startswith("en:")
    assert str(problem).startswith(f"content/relapse.yaml:{problem.line}: spoken.en: reading grade")


def test_shipped_files_pass(line):
    problems, rows = lint(line)
    assert problems == []
    assert len(rows) == 2 * len(line.spec.topics)
    assert all(r.before is not None and r.before <= 45 for r in rows)


def test_table_measures_each_topic(line):
    _, rows = lint(line)
    row = next(r for r in rows if r.topic == "withdrawal" and r.lang == "en")
    spoken = line.content["withdrawal"].spoken.en
    assert row.words == len(spoken.split())
    assert row.seconds == pytest.approx(len(spoken.split()) * 0.4)
    assert row.sms.parts <= 2


def _set_content(edit_yaml, menu_copy, topic, piece, lang, text):
    edit_yaml(
        menu_copy.parent / "content" / f"{topic}.yaml", lambda d: d[piece].update({lang: text})
    )


LINT = [
    (
        "English summary too hard",
        ("relapse", "spoken", "en", HARD_EN * 3),
        "content/relapse.yaml: spoken.en: reading grade",
    ),
    (
        "Spanish summary too hard",
        ("relapse", "spoken", "es", HARD_ES * 3),
        "content/relapse.yaml: spoken.es: Fernández-Huerta",
    ),
    (
        "English text too hard",
        ("signs", "text", "en", HARD_EN),
        "content/signs.yaml: text.en: reading grade",
    ),
    (
        "summary over 90 seconds",
        ("privacy", "spoken", "en", EASY_EN * 30),
        "content/privacy.yaml: spoken.en: 96 s spoken; at most 90",
    ),
    (
        "text over 3 segments",
        ("contact", "text", "en", EASY_EN * 15),
        "content/contact.yaml: text.en: with the footer: 4 SMS segments; never over 3",
    ),
    (
        "accents that cannot be spelled in GSM-7",
        ("levels", "text", "es", "Atención: 🙂 " * 12),
        "content/levels.yaml: text.es: with the footer: 4 SMS segments",
    ),
]


@pytest.mark.parametrize(("rule", "change", "expected"), LINT, ids=[x[0] for x in LINT])
def test_lint_rule_fires(menu_copy, edit_yaml, rule, change, expected):
    _set_content(edit_yaml, menu_copy, *change)
    errors, _ = _errors(menu_copy)
    assert any(expected in e for e in errors), errors


def test_three_segments_is_a_warning(menu_copy, edit_yaml):
    _set_content(edit_yaml, menu_copy, "contact", "text", "en", "We can talk. " * 25)
    errors, warnings = _errors(menu_copy)
    assert errors == []
    assert warnings == ["content/contact.yaml: text.en: with the footer: 3 SMS segments; aim for 2"]


def test_greeting_over_30_seconds(menu_copy, edit_yaml):
    edit_yaml(menu_copy, lambda d: d["messages"]["greeting"].update(en=EASY_EN * 10))
    errors, _ = _errors(menu_copy)
    assert any("menus.yaml: messages.greeting.en:" in e and "at most 30" in e for e in errors)


def test_too_many_seconds_before_a_summary(menu_copy, edit_yaml):
    long_label = {"en": "what to know about the ways we can help you", "es": "lo que hay que saber"}
    edit_yaml(menu_copy, lambda d: d["menus"]["treatment"]["options"][0].update(label=long_label))
    errors, _ = _errors(menu_copy)
    assert any(
        e.startswith("menus.yaml: topics.medications: en:") and "at most 45" in e for e in errors
    ), errors


def test_hard_prompt_is_flagged(menu_copy, edit_yaml):
    edit_yaml(menu_copy, lambda d: d["messages"]["no_answer"].update(en=HARD_EN))
    errors, _ = _errors(menu_copy)
    assert any(e.startswith("menus.yaml: messages.no_answer.en: reading grade") for e in errors)


def test_hard_menu_label_is_flagged(menu_copy, edit_yaml):
    label = {
        "en": "pharmacological interventions",
        "es": "intervenciones farmacológicas especializadas",
    }
    edit_yaml(menu_copy, lambda d: d["menus"]["safety"]["options"][1].update(label=label))
    errors, _ = _errors(menu_copy)
    assert any(e.startswith("menus.yaml: menus.safety: es: Fernández-Huerta") for e in errors)


def test_long_fixed_text_is_flagged(menu_copy, edit_yaml):
    edit_yaml(menu_copy, lambda d: d["messages"]["sms_help"].update(es="Le llamamos hoy. " * 22))
    errors, warnings = _errors(menu_copy)
    assert errors == []
    assert warnings == ["menus.yaml: messages.sms_help.es: as sent: 3 SMS segments; aim for 2"]


def test_readability_scores_move_the_right_way():
    assert readability(EASY_EN, "en") < 4 < readability(HARD_EN, "en")
    assert readability(EASY_ES, "es") > 80 > readability(HARD_ES, "es")


def test_seconds_are_150_words_a_minute():
    assert prompts.seconds("word " * 150) == 60.0


def test_counselor_key_is_pressed_everywhere(line, monkeypatch):
    from ivr import call

    monkeypatch.setattr(call, "at_menu", lambda line, where, heard, now: call.menu(line, where))
    problems, _ = lint(line)
    assert [re.sub(r"^menus\.yaml:\d+:", "menus.yaml:", str(p)) for p in problems] == [
        f"menus.yaml: menus.{m}: {lang}: the counselor key does not reach a counselor"
        for m in line.spec.menus
        for lang in ("en", "es")
    ]


def test_a_center_that_never_opens_is_warned_about(menu_copy, edit_yaml):
    edit_yaml(menu_copy, lambda d: d["center"].update(hours={"monday": "closed"}))
    errors, warnings = _errors(menu_copy)
    assert errors == []
    assert warnings == [
        "menus.yaml: center.hours: the center never opens in the next 3 weeks: "
        "no call can reach a counselor"
    ]
