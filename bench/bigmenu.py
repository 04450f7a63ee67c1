"""A large menu for the benchmark: the shipped one grown to 200 topics and 2,000 keywords.

It keeps every shipped topic, keyword, message and crisis phrase, so the same requests get
the same answers, and adds made-up topics (their content copied from shipped topics) with
made-up keywords. The voice menus become 5 groups of 4 topics: longer menus or a third level
would keep callers more than 45 seconds in menus before a summary, which `ivr check`
refuses, so the other topics, like some real ones, are reached by text or speech only.
The app loads it through IVR_MENUS; it is written to a temporary folder, never shipped.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from itertools import cycle
from pathlib import Path
from typing import Any

import yaml
from servers import BenchError

TOPICS = 200
KEYWORDS = 2000  # topic keywords in all, English and Spanish together
GROUPS = 5  # options of the main menu (ivr/menus.py allows 5 a menu)
PER_GROUP = 4  # topics a group offers: with 5, the Spanish menus run past `ivr check`'s 45 s
CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"


@dataclass(frozen=True)
class LargeMenu:
    """The written menu and how big it is."""

    path: Path
    topics: int
    keywords: int
    menus: int


def label(en: str, es: str) -> dict[str, str]:
    """A text in both languages, as menus.yaml writes it."""
    return {"en": en, "es": es}


class Words:
    """Made-up keywords that are no word the line already knows (seeded: the same each run)."""

    def __init__(self, known: set[str], seed: int = 11):
        self._known = set(known)
        self._random = random.Random(seed)

    def _word(self) -> str:
        syllables = self._random.randint(2, 4)
        return "".join(
            self._random.choice(CONSONANTS) + self._random.choice(VOWELS) for _ in range(syllables)
        ).upper()

    def phrase(self) -> str:
        """A new keyword of one or two made-up words."""
        while True:
            words = [self._word() for _ in range(self._random.choice((1, 1, 2)))]
            phrase = " ".join(words)
            if phrase not in self._known and not set(words) & self._known:
                self._known.add(phrase)
                self._known.update(words)
                return phrase


def known_words(spec: dict[str, Any]) -> set[str]:
    """Every keyword and related word of the shipped topics, and the reserved words."""
    from ivr.compliance import RESERVED_WORDS
    from ivr.menus import normalize_word

    found = set(RESERVED_WORDS)
    for topic in spec["topics"].values():
        for kind in ("keywords", "related"):
            for words in topic.get(kind, {}).values():
                for word in words:
                    found.add(normalize_word(word))
                    found.update(normalize_word(word).split())
    return found


def keyword_count(spec: dict[str, Any]) -> int:
    """Topic keywords in the menu, both languages."""
    return sum(len(words) for t in spec["topics"].values() for words in t["keywords"].values())


def add_topics(spec: dict[str, Any], topics: int, keywords: int) -> list[str]:
    """Grow spec['topics'] to `topics` with made-up ones and `keywords` keywords in all."""
    shipped = list(spec["topics"])
    extra = topics - len(shipped)
    budget = keywords - keyword_count(spec)
    if extra < 1 or budget < 2 * extra:
        raise BenchError(f"cannot grow {len(shipped)} topics to {topics} with {keywords} keywords")
    words = Words(known_words(spec))
    added = []
    for n in range(extra):
        share = budget // extra + (1 if n < budget % extra else 0)
        english = (share + 1) // 2
        phrases = [words.phrase() for _ in range(share)]
        topic_id = f"extra{n + 1:03d}"
        spec["topics"][topic_id] = {
            "title": label(f"Extra topic {n + 1}", f"Tema extra {n + 1}"),
            "keywords": {"en": phrases[:english], "es": phrases[english:]},
        }
        added.append(topic_id)
    return added


def menu_tree(topic_ids: list[str], titles: dict[str, dict[str, str]]) -> dict[str, Any]:
    """main -> 5 groups -> 4 topics each."""
    menus: dict[str, Any] = {"main": {"options": []}}
    for g in range(GROUPS):
        group = f"group{g + 1}"
        menus["main"]["options"].append(
            {"label": label(f"group {g + 1}", f"grupo {g + 1}"), "menu": group}
        )
        leaves = topic_ids[g * PER_GROUP : (g + 1) * PER_GROUP]
        menus[group] = {"options": [{"label": dict(titles[t]), "topic": t} for t in leaves]}
    return menus


def write_content(shipped: Path, folder: Path, added: list[str], originals: list[str]) -> None:
    """content/: the shipped files, and for each made-up topic a copy of a shipped one."""
    shutil.copytree(shipped, folder)
    for topic_id, original in zip(added, cycle(originals), strict=False):
        shutil.copy(shipped / f"{original}.yaml", folder / f"{topic_id}.yaml")


def write_large_menu(shipped_menus: Path, folder: Path) -> LargeMenu:
    """Write the large menus.yaml and content/ into `folder`; check the app can load them."""
    from ivr.menus import load_line
    from ivr.problems import MenuError

    spec = yaml.safe_load(shipped_menus.read_text(encoding="utf-8"))
    originals = list(spec["topics"])
    added = add_topics(spec, TOPICS, KEYWORDS)
    titles = {t: v["title"] for t, v in spec["topics"].items()}
    spec["menus"] = menu_tree(originals + added, titles)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "menus.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    write_content(shipped_menus.parent / "content", folder / "content", added, originals)
    try:
        load_line(path)
    except MenuError as exc:
        raise BenchError(f"the large menu does not load:\n{exc}") from exc
    return LargeMenu(path, len(spec["topics"]), keyword_count(spec), len(spec["menus"]))
