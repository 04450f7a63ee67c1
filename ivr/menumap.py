"""The map of the phone menu: every path, its keys, and how long a caller listens on it.

`ivr map` prints it as a tree, draws it as an SVG picture, or gives it as JSON for tools.
Each node says the keys that reach it from the greeting, the seconds a caller hears before
it (greeting and the menus on the way) and of it (its own prompt, or the summary), its
reading level, and the languages it has. Pure: the menu in, text out.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Literal

from . import lint, prompts
from .menus import Line
from .schema import LANGS

NodeKind = Literal["menu", "topic", "action"]
MAIN = {"en": "main menu", "es": "menú principal"}


@dataclass(frozen=True)
class Node:
    """One place in the phone menu."""

    kind: NodeKind
    id: str
    keys: str  # the keys pressed from the main menu ("3 1"); "" for the main menu
    label: dict[str, str]  # what the option is called, in each language
    before: dict[str, float]  # seconds heard before reaching it, in each language
    seconds: dict[str, float]  # seconds of its own prompt or summary, in each language
    reading: dict[str, float]  # grade (en) or Fernández-Huerta ease (es) of what it says
    children: list[Node] = field(default_factory=list)


def build(line: Line) -> Node:
    """The whole menu as a tree of nodes, starting at the main menu."""
    greeting = {lang: prompts.seconds(prompts.greeting(line, lang)) for lang in LANGS}
    return _menu(line, "main", "", MAIN, greeting)


def _menu(
    line: Line, menu_id: str, keys: str, label: dict[str, str], before: dict[str, float]
) -> Node:
    heard = {lang: prompts.options_prompt(line, menu_id, lang) for lang in LANGS}
    own = {lang: prompts.seconds(heard[lang]) for lang in LANGS}
    node = Node("menu", menu_id, keys, label, before, own, _reading(heard))
    after = {lang: round(before[lang] + own[lang], 1) for lang in LANGS}
    for number, option in enumerate(line.spec.menus[menu_id].options, 1):
        path = f"{keys} {number}".strip()
        names = {lang: option.label[lang] for lang in LANGS}
        if option.menu:
            node.children.append(_menu(line, option.menu, path, names, after))
        elif option.topic:
            spoken = line.content[option.topic].spoken
            seconds = {lang: prompts.seconds(spoken[lang]) for lang in LANGS}
            reading = _reading({lang: spoken[lang] for lang in LANGS})
            node.children.append(Node("topic", option.topic, path, names, after, seconds, reading))
        else:
            action = option.action or "action"
            node.children.append(Node("action", action, path, names, after, {}, {}))
    return node


def _reading(texts: dict[str, str]) -> dict[str, float]:
    return {lang: round(lint.readability(text, lang), 1) for lang, text in texts.items()}


def walk(node: Node) -> list[Node]:
    """Every node, depth first, the main menu first."""
    return [node, *(n for child in node.children for n in walk(child))]


# Formats ---------------------------------------------------------------------------------


def as_json(root: Node) -> str:
    """The tree as JSON, one object per node with its children."""
    return json.dumps(asdict(root), ensure_ascii=False, indent=2) + "\n"


def _facts(node: Node, lang: str) -> str:
    parts = [f"after {node.before[lang]:.0f} s"]
    if node.seconds:
        what = "summary" if node.kind == "topic" else "menu"
        parts.append(f"{what} {node.seconds[lang]:.0f} s")
    if node.reading:
        scale = "grade" if lang == "en" else "ease"
        parts.append(f"{scale} {node.reading[lang]:.1f}")
    return ", ".join(parts)


def _title(node: Node, lang: str) -> str:
    press = f"press {node.keys}: " if node.keys else ""
    kind = {"menu": "menu", "topic": "summary", "action": "action"}[node.kind]
    return f"{press}{node.label[lang]} ({kind} {node.id})"


def as_tree(root: Node, lang: str = "en") -> str:
    """The tree as text, one line a node, with its keys, timings and reading level."""
    lines = [f"{_title(root, lang)} [{_facts(root, lang)}]"]

    def branch(node: Node, indent: str) -> None:
        for n, child in enumerate(node.children):
            last = n == len(node.children) - 1
            lines.append(
                f"{indent}{'└─ ' if last else '├─ '}{_title(child, lang)} [{_facts(child, lang)}]"
            )
            branch(child, indent + ("   " if last else "│  "))

    branch(root, "")
    return "\n".join(lines) + "\n"


ROW, INDENT, CHAR = 28, 28, 7.2  # SVG layout: row height, indent and a character's width
LOOK = {"menu": ' font-weight="bold"', "topic": "", "action": ' font-style="italic"'}
STROKE = 'stroke="#555" stroke-width="1"'


def as_svg(root: Node, lang: str = "en") -> str:
    """The tree drawn as an SVG picture: one row a node, lines from each menu to its options.

    Readable without colour (menus bold, summaries plain, actions italic) and with the
    same words as the text tree, so a screen reader can read its text. Styled by attributes,
    not a <style> element, so a page that forbids inline styles (the console) shows it too.
    """
    rows: list[tuple[Node, int]] = []

    def place(node: Node, depth: int) -> None:
        rows.append((node, depth))
        for child in node.children:
            place(child, depth + 1)

    place(root, 0)
    where = {id(node): n for n, (node, _) in enumerate(rows)}
    texts = [f"{_title(node, lang)} [{_facts(node, lang)}]" for node, _ in rows]
    width = int(
        max(INDENT * depth + 20 + CHAR * len(t) for (_, depth), t in zip(rows, texts, strict=True))
    )
    height = ROW * len(rows) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="map-title" '
        'aria-describedby="map-desc" font-family="sans-serif" font-size="13" fill="#111">',
        f'<title id="map-title">Phone menu map ({lang}): {len(rows)} places</title>',
        '<desc id="map-desc">One row a place, indented under the menu it is in: the keys '
        "that reach it, seconds heard before it and of it, and its reading level. Menus in "
        "bold, summaries plain, actions in italics.</desc>",
    ]
    for n, ((node, depth), text) in enumerate(zip(rows, texts, strict=True)):
        x, y = INDENT * depth + 10, ROW * n + 20
        for child in node.children:
            cy = ROW * where[id(child)] + 16
            parts.append(f'<line x1="{x + 4}" y1="{y + 4}" x2="{x + 4}" y2="{cy}" {STROKE}/>')
            parts.append(f'<line x1="{x + 4}" y1="{cy}" x2="{x + INDENT - 4}" y2="{cy}" {STROKE}/>')
        look = LOOK[node.kind]
        parts.append(f'<text x="{x}" y="{y}" class="{node.kind}"{look}>{escape(text)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
