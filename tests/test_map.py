"""`ivr map`: the phone menu as a tree, a picture and JSON, with keys and listening times."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from ivr import menumap, prompts
from ivr.cli import main

SVG = "{http://www.w3.org/2000/svg}"

# The start of the English tree of the shipped menu, exactly as staff read it.
TREE_EN = """\
main menu (menu main) [after 11 s, menu 17 s, grade 4.4]
├─ press 1: treatment and medicines (menu treatment) [after 28 s, menu 14 s, grade 1.8]
│  ├─ press 1 1: treatment basics (summary treatment) [after 42 s, summary 64 s, grade 4.4]
"""


def test_the_tree_reads_keys_times_and_reading_level(line):
    tree = menumap.as_tree(menumap.build(line), "en")
    assert tree.startswith(TREE_EN)
    assert tree.endswith(
        "   └─ press 5 3: a call back from a counselor (action callback) [after 42 s]\n"
    )
    assert len(tree.splitlines()) == 15  # main, 3 submenus, 10 summaries, 1 action


def test_the_spanish_tree_is_in_spanish(line):
    tree = menumap.as_tree(menumap.build(line), "es")
    assert tree.startswith("menú principal (menu main) [after 10 s, menu 19 s, ease 76.1]\n")
    assert "press 1 2: medicinas (summary medications)" in tree


def test_every_topic_once_with_the_time_the_check_measures(line):
    nodes = menumap.walk(menumap.build(line))
    topics = [n for n in nodes if n.kind == "topic"]
    assert sorted(n.id for n in topics) == sorted(line.spec.topics)
    assert len({n.keys for n in nodes}) == len(nodes)  # every place has its own keys
    for node in topics:
        for lang in ("en", "es"):
            assert node.before[lang] == pytest.approx(
                prompts.seconds_before(line, node.id, lang), abs=0.1
            )
            assert node.before[lang] <= 45  # ACCESSIBILITY.md: 45 s at most before a summary


def test_json_for_tools(line):
    data = json.loads(menumap.as_json(menumap.build(line)))
    assert (data["kind"], data["id"], data["keys"]) == ("menu", "main", "")
    first = data["children"][0]
    assert (first["keys"], first["id"], first["label"]["es"]) == (
        "1",
        "treatment",
        "tratamiento y medicinas",
    )
    assert set(first["before"]) == {"en", "es"}


def test_the_picture_has_a_title_and_a_row_per_place(line):
    root = menumap.build(line)
    svg = ET.fromstring(menumap.as_svg(root, "en"))
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Phone menu map (en): 15 places"
    rows = [t.text for t in svg.iter(f"{SVG}text")]
    tree = [line.lstrip("├└│─ ") for line in menumap.as_tree(root, "en").splitlines()]
    assert rows == tree  # the same words as the text tree, for a screen reader too
    assert len(list(svg.iter(f"{SVG}line"))) == 2 * 14  # two strokes joining each child


@pytest.mark.parametrize(
    ("argv", "code", "starts"),
    [
        (["map"], 0, "main menu (menu main)"),
        (["map", "--lang", "es"], 0, "menú principal"),
        (["map", "--format", "json"], 0, "{"),
        (["map", "--format", "svg"], 0, '<svg xmlns="http://www.w3.org/2000/svg"'),
    ],
)
def test_the_map_command(capsys, argv, code, starts):
    assert main(argv) == code
    assert capsys.readouterr().out.startswith(starts)


def test_a_bad_format_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["map", "--format", "png"])
    assert exit_.value.code == 2
    assert "invalid choice: 'png'" in capsys.readouterr().err
