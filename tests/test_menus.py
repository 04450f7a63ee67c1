"""The loader: the shipped menu loads, and each broken menu fails naming its key path."""

from __future__ import annotations

import pytest

from ivr.menus import load_line, normalize_word
from ivr.problems import MenuError


def test_shipped_menu_loads_whole(line):
    assert set(line.spec.topics) == {
        "treatment",
        "withdrawal",
        "medications",
        "therapies",
        "levels",
        "signs",
        "overdose",
        "relapse",
        "privacy",
        "contact",
    }
    assert set(line.content) == set(line.spec.topics)
    assert line.spec.center.staff_line == "+12032450412"
    assert line.path_to("treatment") == ("main", "treatment")
    assert line.warnings == ()


def test_loaded_menu_cannot_be_changed(line):
    with pytest.raises(ValueError):
        line.spec.center.staff_line = "+15555550100"


def _option(topic):
    return {"label": {"en": "x", "es": "x"}, "topic": topic}


def _deep(d):
    d["menus"]["treatment"]["options"].append({"label": {"en": "more", "es": "más"}, "menu": "l3"})
    d["menus"]["l3"] = {"options": [{"label": {"en": "even more", "es": "aún más"}, "menu": "l4"}]}
    d["menus"]["l4"] = {"options": [_option("privacy")]}


BROKEN = [
    (
        "unknown key",
        lambda d: d["center"].update(colour="blue"),
        "menus.yaml:{line}: center.colour: unknown key",
    ),
    (
        "wrong type",
        lambda d: d["menus"]["main"]["options"][0].update(label="treatment"),
        "menus.main.options.0.label: should be a valid dictionary",
    ),
    ("missing section", lambda d: d.pop("messages"), "menus.yaml: messages: missing"),
    (
        "missing message language",
        lambda d: d["messages"]["goodbye"].pop("es"),
        "messages.goodbye.es: missing",
    ),
    (
        "dangling topic",
        lambda d: d["menus"]["main"]["options"][1].update(topic="nope"),
        "menus.main.options.1.topic: no topic 'nope' in topics",
    ),
    (
        "dangling menu",
        lambda d: d["menus"]["main"]["options"][0].update(menu="nope"),
        "menus.main.options.0.menu: no menu 'nope' in menus",
    ),
    (
        "two targets",
        lambda d: d["menus"]["main"]["options"][1].update(menu="safety"),
        "menus.main.options.1: an option needs exactly one of topic, menu or action",
    ),
    (
        "unreachable menu",
        lambda d: d["menus"].update(orphan={"options": [_option("privacy")]}),
        "menus.orphan: not reachable from the main menu",
    ),
    (
        "no main menu",
        lambda d: d["menus"].update(start=d["menus"].pop("main")),
        "menus.yaml:{line}: menus: needs a menu called main",
    ),
    (
        "menu with two parents",
        lambda d: d["menus"]["safety"]["options"].append(
            {"label": {"en": "a", "es": "a"}, "menu": "center"}
        ),
        "menus.center: reached from 2 places (menus.main.options.4, menus.safety.options.2)",
    ),
    (
        "loop to main",
        lambda d: d["menus"]["safety"]["options"].append(
            {"label": {"en": "a", "es": "a"}, "menu": "main"}
        ),
        "menus.safety.options.2.menu: leads back to main",
    ),
    (
        "six options",
        lambda d: d["menus"]["main"]["options"].append(_option("privacy")),
        "menus.main.options: 6 options; at most 5 per menu",
    ),
    (
        "empty menu",
        lambda d: d["menus"]["safety"].update(options=[]),
        "menus.safety.options: Tuple should have at least 1 item",
    ),
    ("four levels", _deep, "menus.l4: is 4 levels deep; at most 3"),
    (
        "not E.164",
        lambda d: d["center"].update(staff_line="203-245-0412"),
        "center.staff_line: '203-245-0412' is not in E.164 form",
    ),
    (
        "invalid number",
        lambda d: d["center"].update(backup_line="+11234567890"),
        "center.backup_line: '+11234567890' is not a valid phone number",
    ),
    (
        "unknown time zone",
        lambda d: d["center"].update(time_zone="Mars/Olympus_Mons"),
        "center.time_zone: unknown time zone 'Mars/Olympus_Mons'",
    ),
    (
        "malformed hours",
        lambda d: d["center"]["hours"].update(monday="9-5"),
        "center.hours.monday: '9-5' is not HH:MM-HH:MM",
    ),
    (
        "hours backwards",
        lambda d: d["center"]["hours"].update(friday="17:00-09:00"),
        "center.hours.friday: '17:00-09:00' closes before it opens",
    ),
    (
        "unknown weekday",
        lambda d: d["center"]["hours"].update(funday="09:00-10:00"),
        "center.hours.funday: unknown key",
    ),
    (
        "unknown holiday calendar",
        lambda d: d["center"]["holidays"].update(subdivision="ZZ"),
        "center.holidays: unknown holiday calendar",
    ),
    (
        "bad closure date",
        lambda d: d["center"]["holidays"]["closures"][0].update(date="someday"),
        "center.holidays.closures.0.date: should be a valid date",
    ),
    (
        "reserved key on an option",
        lambda d: d["keys"].update(repeat="3"),
        "keys.repeat: key 3 is also option 3 of menus.main",
    ),
    (
        "counselor key on an option",
        lambda d: d["keys"].update(counselor="1"),
        "keys.counselor: key 1 is also option 1 of menus.main",
    ),
    (
        "same key twice",
        lambda d: d["keys"].update(back="0"),
        "keys: each reserved key must be different",
    ),
    (
        "keyword in two topics",
        lambda d: d["topics"]["relapse"]["keywords"]["en"].insert(0, "detox"),
        "topics.relapse.keywords.en.0: 'detox' is already a keyword of withdrawal",
    ),
    (
        "keyword the text line keeps",
        lambda d: d["topics"]["privacy"]["keywords"]["en"].insert(0, "Stop"),
        "topics.privacy.keywords.en.0: 'Stop' is kept for the text line's own use",
    ),
    (
        "topic without Spanish keywords",
        lambda d: d["topics"]["privacy"]["keywords"].update(es=[]),
        "topics.privacy.keywords: needs keywords in en and es",
    ),
    (
        "unknown placeholder",
        lambda d: d["messages"]["goodbye"].update(en="Bye {name}."),
        "messages.goodbye.en: unknown placeholder {name}; allowed: none",
    ),
    (
        "broken placeholder",
        lambda d: d["messages"]["option"].update(es="Para {label, oprima {key}."),
        "messages.option.es: broken {placeholder}",
    ),
]


@pytest.mark.parametrize(("rule", "change", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_menu_names_the_key_path(menu_copy, edit_yaml, rule, change, expected):
    edit_yaml(menu_copy, change)
    with pytest.raises(MenuError) as failure:
        load_line(menu_copy)
    messages = [str(p) for p in failure.value.problems]
    if "{line}" in expected:
        assert any(
            m.startswith(expected.split("{line}")[0]) and expected.split("{line}")[1] in m
            for m in messages
        ), messages
    else:
        assert any(expected in m for m in messages), messages


def test_duplicate_key_is_reported_with_its_line(menu_copy):
    text = menu_copy.read_text(encoding="utf-8")
    menu_copy.write_text(
        text.replace(
            '    monday: "09:00-17:00"\n', '    monday: "09:00-17:00"\n    monday: closed\n'
        )
    )
    with pytest.raises(MenuError) as failure:
        load_line(menu_copy)
    line_no = text.splitlines().index('    monday: "09:00-17:00"') + 2
    assert f"menus.yaml:{line_no}: center.hours.monday: duplicate key" in str(failure.value)


def test_invalid_yaml_says_where(menu_copy):
    menu_copy.write_text("center:\n  name: [unclosed\n", encoding="utf-8")
    with pytest.raises(MenuError, match=r"menus.yaml:\d+: \(top\): not valid YAML"):
        load_line(menu_copy)


def test_missing_menus_file(tmp_path):
    with pytest.raises(MenuError, match="menus.yaml: \\(top\\): file not found"):
        load_line(tmp_path / "menus.yaml")


def test_every_problem_is_reported_at_once(menu_copy, edit_yaml):
    def three_faults(d):
        d["menus"]["main"]["options"][1]["topic"] = "nope"
        d["menus"]["orphan"] = {"options": [_option("privacy")]}
        d["keys"]["repeat"] = "2"

    edit_yaml(menu_copy, three_faults)
    with pytest.raises(MenuError) as failure:
        load_line(menu_copy)
    paths = {".".join(map(str, p.path)) for p in failure.value.problems}
    assert {"menus.main.options.1.topic", "menus.orphan", "keys.repeat"} <= paths


def test_missing_topic_file(menu_copy):
    (menu_copy.parent / "content" / "privacy.yaml").unlink()
    with pytest.raises(MenuError, match=r"content/privacy.yaml: \(top\): missing: topic 'privacy'"):
        load_line(menu_copy)


def test_missing_content_language(menu_copy, edit_yaml):
    edit_yaml(menu_copy.parent / "content" / "relapse.yaml", lambda d: d["text"].pop("es"))
    with pytest.raises(MenuError, match=r"content/relapse.yaml:\d+: text.es: missing"):
        load_line(menu_copy)


def test_unknown_key_in_content(menu_copy, edit_yaml):
    edit_yaml(menu_copy.parent / "content" / "relapse.yaml", lambda d: d.update(audio="x.mp3"))
    with pytest.raises(MenuError, match=r"content/relapse.yaml:\d+: audio: unknown key"):
        load_line(menu_copy)


def test_warnings_do_not_stop_the_line(menu_copy, edit_yaml):
    (menu_copy.parent / "content" / "spare.yaml").write_text("spoken: {}\n")
    line = load_line(menu_copy)
    assert [str(w) for w in line.warnings] == ["content/spare.yaml: (top): no topic uses this file"]


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("Detox", "DETOX"),
        ("  señales!", "SENALES"),
        ("recaída", "RECAIDA"),
        ("loved-one", "LOVEDONE"),
    ],
)
def test_normalize_word(typed, normal):
    assert normalize_word(typed) == normal
