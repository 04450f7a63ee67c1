"""Measures from ../shared/ACCESSIBILITY.md that can be taken on the files: words, time, texts."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import textstat

from . import call, prompts, schedule, segments, texting
from .menus import Line
from .problems import MenuError, Problem, YamlDoc, read_yaml
from .reply import Dial, Where
from .schema import LANGS
from .understand import Heard

MAX_GRADE = 8.0  # Flesch-Kincaid, English
MIN_EASE_ES = 70.0  # Fernández-Huerta, Spanish
MAX_GREETING_SECONDS = 30.0
MAX_SUMMARY_SECONDS = 90.0
MAX_SECONDS_BEFORE = 45.0
SMS_PARTS, SMS_PARTS_HARD = 2, 3
# A fixed moment, so `ivr check` answers the same today and tomorrow.
CHECKED_FROM = datetime(2026, 1, 5, 12, tzinfo=UTC)
SAMPLE_WHEN = {
    "en": "by the end of the next business day",
    "es": "antes del fin del próximo día hábil",
}
_textstat_lock = threading.Lock()  # textstat keeps its language in a global


@dataclass(frozen=True)
class TopicMeasure:
    """One row of the check's table: a topic in one language."""

    topic: str
    lang: str
    words: int
    seconds: float
    readability: float
    before: float | None
    sms: segments.Segments


def readability(text: str, lang: str) -> float:
    """Flesch-Kincaid grade for English, Fernández-Huerta ease for Spanish."""
    with _textstat_lock:
        textstat.set_lang(lang)
        if lang == "es":
            return float(textstat.fernandez_huerta(text))
        return float(textstat.flesch_kincaid_grade(text))


def too_hard(score: float, lang: str) -> str | None:
    """Why a text is too hard to read, or None."""
    if lang == "es" and score < MIN_EASE_ES:
        return f"Fernández-Huerta {score:.1f}; needs {MIN_EASE_ES:.0f} or more"
    if lang == "en" and score > MAX_GRADE:
        return f"reading grade {score:.1f}; needs {MAX_GRADE:.0f} or below"
    return None


def lint(line: Line) -> tuple[list[Problem], list[TopicMeasure]]:
    """Every measured problem in the line, and the per-topic table."""
    problems: list[Problem] = []
    rows: list[TopicMeasure] = []
    for topic_id in line.spec.topics:
        for lang in LANGS:
            rows.append(_topic(line, topic_id, lang, problems))
    for lang in LANGS:
        _prompts(line, lang, problems)
        _texts(line, lang, problems)
    problems += _counselor_reachable(line)
    return _with_lines(line, problems), rows


def _with_lines(line: Line, problems: list[Problem]) -> list[Problem]:
    """Give each measured problem the line of its key, as load errors have ("menus.yaml:212")."""
    docs: dict[str, YamlDoc | None] = {}
    placed = []
    for problem in problems:
        if problem.line is None and problem.file not in docs:
            path = line.path if problem.file == "menus.yaml" else line.path.parent / problem.file
            try:
                docs[problem.file] = read_yaml(path, problem.file)
            except MenuError:
                docs[problem.file] = None
        doc = docs.get(problem.file) if problem.line is None else None
        placed.append(doc.problem(problem.path, problem.message, problem.level) if doc else problem)
    return placed


def _counselor_reachable(line: Line) -> list[Problem]:
    """Press the counselor key at every menu and after every summary, as the call core would."""
    opening = schedule.next_opening(line.spec.center, CHECKED_FROM)
    if opening is None:
        return [
            Problem(
                "menus.yaml",
                ("center", "hours"),
                "the center never opens in the next 3 weeks: no call can reach a counselor",
                level="warning",
            )
        ]
    pressed = Heard(key=line.spec.keys.counselor)
    problems = []
    places = [Where(lang=lang, menu=m) for m in line.spec.menus for lang in LANGS]
    places += [Where(lang=lang, topic=t) for t in line.spec.topics for lang in LANGS]
    for where in places:
        decide = call.at_summary if where.topic else call.at_menu
        reply = decide(line, where, pressed, opening)
        if not any(isinstance(v, Dial) for v in getattr(reply, "verbs", ())):
            path = ("topics", where.topic) if where.topic else ("menus", where.menu)
            problems.append(
                Problem(
                    "menus.yaml",
                    path,
                    f"{where.lang}: the counselor key does not reach a counselor",
                )
            )
    return problems


def _topic(line: Line, topic_id: str, lang: str, problems: list) -> TopicMeasure:
    file = f"content/{topic_id}.yaml"
    spoken = line.content[topic_id].spoken[lang]
    measure = TopicMeasure(
        topic_id,
        lang,
        len(spoken.split()),
        prompts.seconds(spoken),
        readability(spoken, lang),
        prompts.seconds_before(line, topic_id, lang),
        segments.count(texting.topic_text(line, topic_id, lang)),
    )
    if measure.seconds > MAX_SUMMARY_SECONDS:
        problems.append(
            Problem(
                file,
                ("spoken", lang),
                f"{measure.seconds:.0f} s spoken; at most {MAX_SUMMARY_SECONDS:.0f}",
            )
        )
    if reason := too_hard(measure.readability, lang):
        problems.append(Problem(file, ("spoken", lang), reason))
    if reason := too_hard(readability(line.content[topic_id].text[lang], lang), lang):
        problems.append(Problem(file, ("text", lang), reason))
    if measure.before is not None and measure.before > MAX_SECONDS_BEFORE:
        problems.append(
            Problem(
                "menus.yaml",
                ("topics", topic_id),
                f"{lang}: {measure.before:.0f} s of menus before this summary; "
                f"at most {MAX_SECONDS_BEFORE:.0f}",
            )
        )
    problems += _sms(file, ("text", lang), "with the footer", measure.sms)
    return measure


def _sms(file: str, path: tuple, what: str, cost: segments.Segments) -> list[Problem]:
    if cost.parts > SMS_PARTS_HARD:
        return [
            Problem(file, path, f"{what}: {cost.parts} SMS segments; never over {SMS_PARTS_HARD}")
        ]
    if cost.parts > SMS_PARTS:
        return [
            Problem(
                file,
                path,
                f"{what}: {cost.parts} SMS segments; aim for {SMS_PARTS}",
                level="warning",
            )
        ]
    return []


def _prompts(line: Line, lang: str, problems: list) -> None:
    greeting = prompts.greeting(line, lang)
    if prompts.seconds(greeting) > MAX_GREETING_SECONDS:
        problems.append(
            Problem(
                "menus.yaml",
                ("messages", "greeting", lang),
                f"{prompts.seconds(greeting):.0f} s with the language offer; "
                f"at most {MAX_GREETING_SECONDS:.0f}",
            )
        )
    counselor = prompts.say(
        line, "counselor_option", lang, counselor=prompts.key_name(line.spec.keys.counselor, lang)
    )
    for menu_id in line.spec.menus:
        heard = prompts.options_prompt(line, menu_id, lang)
        if counselor not in heard:
            problems.append(
                Problem(
                    "menus.yaml",
                    ("menus", menu_id),
                    f"{lang}: the prompt does not offer a counselor",
                )
            )
        if reason := too_hard(readability(heard, lang), lang):
            problems.append(Problem("menus.yaml", ("menus", menu_id), f"{lang}: {reason}"))
    for name, text in line.spec.messages:
        if name.startswith("sms_"):
            continue
        if reason := too_hard(readability(text[lang], lang), lang):
            problems.append(Problem("menus.yaml", ("messages", name, lang), reason))


class _Sample(dict[str, str]):
    """Sample values to fill a text with; a placeholder added since reads as one short word."""

    def __missing__(self, name: str) -> str:
        return "soon"


def _texts(line: Line, lang: str, problems: list) -> None:
    menu = texting.menu_text(line, lang)
    problems += _sms(
        "menus.yaml", ("messages", "sms_menu", lang), "with the keywords", segments.count(menu)
    )
    for name, text in line.spec.messages:
        if not name.startswith("sms_"):
            continue
        sample = _Sample(keywords="", menu=menu, when=SAMPLE_WHEN[lang])
        sent = texting.outgoing(text[lang].format_map(sample))
        problems += _sms("menus.yaml", ("messages", name, lang), "as sent", segments.count(sent))
        # Keyword lists are not prose: read the message's own words only.
        prose = text[lang].format_map(_Sample(keywords="", menu="", when=SAMPLE_WHEN[lang]))
        if reason := too_hard(readability(prose, lang), lang):
            problems.append(Problem("menus.yaml", ("messages", name, lang), reason))
