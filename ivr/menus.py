"""Load menus.yaml and content/ once, check them whole, and hand back an immutable Line."""

from __future__ import annotations

import itertools
import re
import string
from collections import deque
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from .compliance import RESERVED_WORDS
from .crisis import Danger, Recognizer
from .language import Languages
from .memo import Memo
from .model import TOPIC_FILE, Model
from .problems import KeyPath, MenuError, Problem, YamlDoc, read_yaml
from .schema import LANGS, PLACEHOLDERS, Keys, Menu, MenusFile, TopicContent
from .wording import fold, sentences, tokens

if TYPE_CHECKING:
    from .textline import TextReply
    from .understand import Intent, SpokenTopics

MAX_OPTIONS = 5
ECHO_WORDS, ECHO_MIN = 8, 5  # a text opening with 5 to 8 words of one of ours is an echo
ECHO_CUT = 3  # the fewest words of a sentence of ours that an echo cut short may end with
MAX_LEVELS = 3
HINTS_MOST = 500  # Twilio reads at most 500 <Gather> hints (warning 13330 past that) ...
HINT_LONGEST = 100  # ... each of at most 100 characters


@dataclass(frozen=True)
class Line:
    """The helpline as loaded: the menus file, each topic's content, and its path."""

    spec: MenusFile
    content: Mapping[str, TopicContent]
    path: Path
    warnings: tuple[Problem, ...] = ()

    def parent(self, menu_id: str) -> str | None:
        """The menu that leads to `menu_id` (None for main)."""
        for parent_id, menu in self.spec.menus.items():
            if any(option.menu == menu_id for option in menu.options):
                return parent_id
        return None

    @cached_property
    def keywords(self) -> Mapping[str, tuple[str, str]]:
        """Every text keyword without spaces or accents, mapped to (topic, language)."""
        found: dict[str, tuple[str, str]] = {}
        for topic_id, topic in self.spec.topics.items():
            for lang in LANGS:
                for word in topic.keywords[lang]:
                    found.setdefault(normalize_word(word).replace(" ", ""), (topic_id, lang))
        return found

    @cached_property
    def speech_hints(self) -> Mapping[tuple[str, str | None], tuple[str, ...]]:
        """(language, menu or None) -> the <Gather hints> there, at most Twilio's 500.

        The ways to a person and around the menu first, then that menu's options and every
        topic's title, then the topics' keywords taken in turn, one of each topic at a time,
        so that when the list is cut every topic keeps its most common words.
        """
        spec, found = self.spec, {}
        for lang in LANGS:
            words = spec.voice_words
            ways = [p for name in type(words).model_fields for p in getattr(words, name)[lang]]
            titles = [t.title[lang] for t in spec.topics.values()]
            keywords = [[k.lower() for k in t.keywords[lang]] for t in spec.topics.values()]
            turns = [k for turn in itertools.zip_longest(*keywords) for k in turn if k]
            for menu_id in (*spec.menus, None):
                options = [o.label[lang] for o in spec.menus[menu_id].options] if menu_id else []
                found[lang, menu_id] = _hints([*ways, *options, *titles, *turns])
        return found

    @cached_property
    def spoken_topics(self) -> Mapping[str, SpokenTopics]:
        """Per language, the topics' keywords and titles as said words, for spoken choices."""
        from .understand import SpokenTopics  # it reads Line: imported when first needed

        return {lang: SpokenTopics.build(self, lang) for lang in LANGS}

    @cached_property
    def keyword_language(self) -> Mapping[str, str | None]:
        """Each text keyword without spaces or accents -> its language (None: both list it)."""
        found: dict[str, set[str]] = {}
        for topic in self.spec.topics.values():
            for lang in LANGS:
                for word in topic.keywords[lang]:
                    found.setdefault(normalize_word(word).replace(" ", ""), set()).add(lang)
        return {word: langs.pop() if len(langs) == 1 else None for word, langs in found.items()}

    @cached_property
    def crisis(self) -> Recognizer:
        """The crisis phrases and their context, compiled once."""
        return Recognizer.from_spec(self.spec.crisis, Model.load())

    @cached_property
    def topic_model(self) -> Model | None:
        """The model that names a topic no keyword reaches, trained from the tuning messages."""
        model = Model.load(TOPIC_FILE)
        known = set(self.spec.topics) | {"none"}
        return model if model and set(model.classes) <= known else None

    @cached_property
    def languages(self) -> Languages:
        """Everyday words of each language plus the line's own one-language words."""
        spec = self.spec

        def phrases(lang: str) -> list[str]:
            found = [w for t in spec.topics.values() for w in (*t.keywords[lang], *t.related[lang])]
            crisis = spec.crisis
            for field in ("overdose", "suicide", "overdose_past", "suicide_past", "not_now"):
                found += [
                    w for p in getattr(crisis, field)[lang] for w in p.split() if "*" not in w
                ]
            return [w for phrase in found for w in phrase.replace("|", " ").split() if w != "~"]

        return Languages.with_vocabulary(phrases("en"), phrases("es"))

    @cached_property
    def phrases(self) -> Mapping[tuple[str, ...], tuple[str, str | None, bool]]:
        """Every topic keyword and related word as tokens -> (topic, language, is a keyword).

        The language is None for a phrase that topic lists in both ("DETOX", "SUBOXONE").
        """
        found: dict[tuple[str, ...], tuple[str, str | None, bool]] = {}
        for strong in (True, False):
            for topic_id, topic in self.spec.topics.items():
                for lang in LANGS:
                    words = topic.keywords[lang] if strong else topic.related[lang]
                    for word in words:
                        key = tokens(word)
                        if key not in found:
                            found[key] = (topic_id, lang, strong)
                        elif found[key][0] == topic_id and found[key][1] not in (lang, None):
                            found[key] = (topic_id, None, found[key][2])
        return found

    @cached_property
    def built(self) -> dict[Hashable, Any]:
        """What the call core builds from the menu alone (a menu's reply for a place in the
        line), kept the first time it is built: the same answer, not built again per call."""
        return {}

    @cached_property
    def heard(self) -> Memo[Intent]:
        """What short spoken choices meant here (understand.intent), kept: see memo.py."""
        return Memo()

    @cached_property
    def read(self) -> Memo[tuple[tuple[str, str | None] | None, Danger | None]]:
        """What short texts asked for and whether they spoke of a danger (textline), kept."""
        return Memo()

    @cached_property
    def replies(self) -> Memo[TextReply]:
        """The replies to short texts, by the texter's standing (textline.reply_to), kept."""
        return Memo()

    def _sent(self) -> list[str]:
        """Every text the line sends, as written (with its {fields})."""
        texts = [c.text[lang] for c in self.content.values() for lang in LANGS]
        texts += [
            text[lang]
            for name, text in self.spec.messages
            if name.startswith("sms_")
            for lang in LANGS
        ]
        return texts

    @cached_property
    def own_texts(self) -> frozenset[tuple[str, ...]]:
        """The opening words of every text the line sends, to know an echo of one."""
        openings = (tokens(text.split("{")[0])[:ECHO_WORDS] for text in self._sent())
        return frozenset(words for words in openings if len(words) >= ECHO_MIN)

    @cached_property
    def own_sentences(self) -> frozenset[tuple[str, ...]]:
        """Every sentence of every text the line sends, with its openings of ECHO_CUT words
        or more (a text cut short), to tell in an echo the line's words from a person's."""
        found: set[tuple[str, ...]] = set()
        for text in self._sent():
            for part in re.split(r"\{[^}]*\}", text):
                for said in sentences(part):
                    found.update(said[:n] for n in range(min(ECHO_CUT, len(said)), len(said) + 1))
        return frozenset(found)

    def path_to(self, menu_id: str) -> tuple[str, ...]:
        """Menus from main down to `menu_id`, both included."""
        chain = [menu_id]
        while (parent := self.parent(chain[-1])) is not None:
            chain.append(parent)
        return tuple(reversed(chain))


def normalize_word(text: str) -> str:
    """Upper-case, strip accents and everything but letters, digits and spaces."""
    return re.sub(r"[^A-Z0-9 ]+", "", fold(text).upper()).strip()


def load_line(menus_path: str | Path, content_dir: str | Path | None = None) -> Line:
    """Load and validate the menu and its content; raise MenuError listing every problem."""
    menus_path = Path(menus_path)
    content_dir = Path(content_dir) if content_dir else menus_path.parent / "content"
    doc = read_yaml(menus_path, menus_path.name)
    problems = list(doc.duplicates)
    spec = _validate(doc, problems)
    content: dict[str, TopicContent] = {}
    if spec is not None:
        problems += _check_menus(doc, spec)
        problems += _check_words(doc, spec)
        problems += _check_placeholders(doc, spec)
        content = _load_content(spec, content_dir, problems)
    errors = [p for p in problems if p.level == "error"]
    if errors or spec is None:
        raise MenuError(errors)
    warnings = tuple(p for p in problems if p.level != "error")
    line = Line(spec, content, menus_path, warnings)
    built_once = ("keywords", "keyword_language", "phrases", "crisis", "topic_model")
    for name in (*built_once, "languages", "own_texts", "own_sentences"):
        getattr(line, name)  # what depends only on the menu is built now, not per message
    return line


def _validate(doc: YamlDoc, problems: list[Problem]) -> MenusFile | None:
    if not isinstance(doc.data, dict):
        problems.append(doc.problem((), "must be a mapping of sections (center, menus, ...)"))
        return None
    try:
        return MenusFile.model_validate(doc.data)
    except ValidationError as exc:
        problems += [doc.problem(tuple(e["loc"]), _reason(e)) for e in exc.errors()]
        return None


def _reason(error: ErrorDetails) -> str:
    """Say a pydantic error the way a staff member editing YAML would understand it."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing"
    message = error["msg"].removeprefix("Value error, ")
    return message.replace("Input should be", "should be")


def _check_menus(doc: YamlDoc, spec: MenusFile) -> Iterator[Problem]:
    menus = spec.menus
    if "main" not in menus:
        yield doc.problem(("menus",), "needs a menu called main, where every call starts")
        return
    parents: dict[str, list[str]] = {}
    for menu_id, menu in menus.items():
        if len(menu.options) > MAX_OPTIONS:
            yield doc.problem(
                ("menus", menu_id, "options"),
                f"{len(menu.options)} options; at most {MAX_OPTIONS} per menu",
            )
        yield from _check_keys(doc, spec.keys, menu_id, menu)
        for n, option in enumerate(menu.options):
            where = ("menus", menu_id, "options", n)
            if option.topic is not None and option.topic not in spec.topics:
                yield doc.problem((*where, "topic"), f"no topic {option.topic!r} in topics")
            if option.menu is not None:
                if option.menu not in menus:
                    yield doc.problem((*where, "menu"), f"no menu {option.menu!r} in menus")
                elif option.menu == "main":
                    yield doc.problem((*where, "menu"), "leads back to main; * already goes back")
                else:
                    parents.setdefault(option.menu, []).append(f"menus.{menu_id}.options.{n}")
    for menu_id, froms in parents.items():
        if len(froms) > 1:
            yield doc.problem(
                ("menus", menu_id),
                f"reached from {len(froms)} places ({', '.join(froms)}); "
                "a menu has one parent so * can go back",
            )
    depth = _depths(menus)
    for menu_id in menus:
        if menu_id not in depth:
            yield doc.problem(("menus", menu_id), "not reachable from the main menu")
        elif depth[menu_id] > MAX_LEVELS:
            yield doc.problem(
                ("menus", menu_id), f"is {depth[menu_id]} levels deep; at most {MAX_LEVELS}"
            )
    heard = {o.topic for m in menus.values() for o in m.options if o.topic}
    for topic_id in spec.topics:
        if topic_id not in heard:
            yield doc.problem(("topics", topic_id), "no voice menu leads here", "warning")


def _check_keys(doc: YamlDoc, keys: Keys, menu_id: str, menu: Menu) -> Iterator[Problem]:
    used = {str(n) for n in range(1, len(menu.options) + 1)}
    for name, key in keys.model_dump().items():
        if key in used:
            yield doc.problem(("keys", name), f"key {key} is also option {key} of menus.{menu_id}")


def _depths(menus: Mapping[str, Menu]) -> dict[str, int]:
    depth = {"main": 1}
    queue = deque(["main"])
    while queue:
        here = queue.popleft()
        for option in menus[here].options:
            if option.menu is not None and option.menu in menus and option.menu not in depth:
                depth[option.menu] = depth[here] + 1
                queue.append(option.menu)
    return depth


def _check_words(doc: YamlDoc, spec: MenusFile) -> Iterator[Problem]:
    owner: dict[str, str] = {}
    for topic_id, topic in spec.topics.items():
        for lang in LANGS:
            for n, word in enumerate(topic.keywords[lang]):
                where = ("topics", topic_id, "keywords", lang, n)
                key = normalize_word(word)
                if not key:
                    yield doc.problem(where, "a keyword needs a letter or digit")
                elif key in RESERVED_WORDS:
                    yield doc.problem(where, f"{word!r} is kept for the text line's own use")
                elif owner.setdefault(key, topic_id) != topic_id:
                    yield doc.problem(where, f"{word!r} is already a keyword of {owner[key]}")
        if not (topic.keywords.en and topic.keywords.es):
            yield doc.problem(("topics", topic_id, "keywords"), "needs keywords in en and es")


def _check_placeholders(doc: YamlDoc, spec: MenusFile) -> Iterator[Problem]:
    texts: list[tuple[KeyPath, str, str]] = [
        (("messages", name, lang), name, text[lang])
        for name, text in spec.messages
        if text is not None
        for lang in LANGS
    ]
    texts += [(("staff", name), name, text) for name, text in spec.staff]
    for where, name, text in texts:
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        except ValueError as exc:
            yield doc.problem(where, f"broken {{placeholder}}: {exc}")
            continue
        unknown = fields - PLACEHOLDERS.get(name, set())
        if unknown:
            allowed = ", ".join(sorted(PLACEHOLDERS.get(name, ()))) or "none"
            yield doc.problem(
                where, f"unknown placeholder {{{sorted(unknown)[0]}}}; allowed: {allowed}"
            )


def _load_content(
    spec: MenusFile, content_dir: Path, problems: list[Problem]
) -> dict[str, TopicContent]:
    content = {}
    for topic_id in spec.topics:
        path = content_dir / f"{topic_id}.yaml"
        name = f"{content_dir.name}/{path.name}"
        if not path.exists():
            problems.append(Problem(name, (), f"missing: topic {topic_id!r} is in menus.yaml"))
            continue
        try:
            doc = read_yaml(path, name)
        except MenuError as exc:
            problems += exc.problems
            continue
        problems += doc.duplicates
        try:
            content[topic_id] = TopicContent.model_validate(doc.data)
        except ValidationError as exc:
            problems += [doc.problem(tuple(e["loc"]), _reason(e)) for e in exc.errors()]
    if content_dir.is_dir():
        for path in sorted(content_dir.glob("*.yaml")):
            if path.stem not in spec.topics:
                name = f"{content_dir.name}/{path.name}"
                problems.append(Problem(name, (), "no topic uses this file", level="warning"))
    return content


def _hints(phrases: list[str]) -> tuple[str, ...]:
    """Phrases as Twilio reads hints: no commas inside, none too long, no repeats, 500 at most."""
    usable = (" ".join(p.replace(",", " ").split()) for p in phrases)
    kept = dict.fromkeys(p for p in usable if 0 < len(p) <= HINT_LONGEST)
    return tuple(kept)[:HINTS_MOST]
