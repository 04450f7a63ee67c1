"""How well the text line understands people, measured on labelled messages.

Each message in a corpus file carries what a counselor would expect: the language
the reply must be in, whether it is a crisis (and which), and the topic it asks
about. The line's own decision (`textline.reply_to`) is run on each, and four
figures come out per language: crisis recall, false alarms, topic accuracy and
right-language replies. `tests/corpus/tune.yaml` is for tuning the phrases;
`tests/corpus/holdout.yaml` is never tuned on and is what the tests hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from . import textline
from .menus import Line
from .schema import LANGS

WHEN = datetime.fromisoformat("2026-12-01T10:00:00-05:00")  # a fixed, open moment
PARTS = ("tune", "holdout")  # corpus files; only `holdout` is held to the targets
# What issue 9 asks of the never-tuned part, in each language.
TARGETS = {"recall": 0.95, "false_alarms": 0.05, "topic": 0.90, "language": 0.97}
# What the line reached on it (2026-12-01, session 8, both held-out parts: en recall 85/89,
# false alarms 2/144, topic 137/149 (136 after the last retrain); es recall 128/133, false
# alarms 6/217, topic 215/231; language 233/233 and 350/350), held one message lower so that
# retraining the model does not flip the suite, but never below a target: English recall
# has no message to spare.
FLOORS = {
    "en": {"recall": 0.95, "false_alarms": 0.021, "topic": 0.91, "language": 0.99},
    "es": {"recall": 0.95, "false_alarms": 0.033, "topic": 0.925, "language": 0.99},
}


class Labelled(BaseModel):
    """One message and what a counselor expects of the reply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    lang: str
    crisis: str | None = None
    topic: str | None = None
    previous: str | None = None


@dataclass
class Tally:
    """Hits out of tries, for one figure."""

    hits: int = 0
    tries: int = 0

    def add(self, hit: bool) -> None:
        """Count one try."""
        self.hits += hit
        self.tries += 1

    @property
    def rate(self) -> float:
        """The share of hits (0 when there was nothing to try)."""
        return self.hits / self.tries if self.tries else 0.0


@dataclass
class Figures:
    """The four figures for one language, and the messages that went wrong."""

    recall: Tally = field(default_factory=Tally)
    false_alarms: Tally = field(default_factory=Tally)
    topic: Tally = field(default_factory=Tally)
    language: Tally = field(default_factory=Tally)
    wrong: list[str] = field(default_factory=list)


def load(path: str | Path) -> list[Labelled]:
    """Read a corpus file: a YAML list of labelled messages."""
    return [Labelled.model_validate(item) for item in yaml.safe_load(Path(path).read_text())]


def measure(line: Line, messages: Iterable[Labelled]) -> dict[str, Figures]:
    """Run every message through the text line's decision and tally per language."""
    figures = {lang: Figures() for lang in LANGS}
    for message in messages:
        got = textline.reply_to(line, message.text, False, "", WHEN, message.previous)
        mine = figures[message.lang]
        said_crisis = got.kind == "crisis"
        if message.crisis:
            mine.recall.add(said_crisis)
        else:
            mine.false_alarms.add(said_crisis)
        if message.topic:
            mine.topic.add(got.topic == message.topic)
        mine.language.add(got.lang == message.lang)
        if said_crisis != bool(message.crisis) or (message.topic and got.topic != message.topic):
            mine.wrong.append(
                f"{message.text!r}: expected crisis={message.crisis} topic={message.topic}, "
                f"got {got.kind} crisis={got.crisis} topic={got.topic}"
            )
        elif got.lang != message.lang:
            mine.wrong.append(f"{message.text!r}: answered in {got.lang}")
    return figures


def table(name: str, figures: dict[str, Figures]) -> Sequence[str]:
    """Rows a person can read: one per language."""
    rows = [f"{name:<10} lang  crisis recall  false alarms  topic accuracy  right language"]
    for lang, f in figures.items():
        rows.append(
            f"{'':<10} {lang:<4}  {_share(f.recall):>13}  {_share(f.false_alarms):>12}  "
            f"{_share(f.topic):>14}  {_share(f.language):>14}"
        )
    return rows


def _share(tally: Tally) -> str:
    return f"{tally.rate:6.1%} {tally.hits:>3}/{tally.tries:<3}"


def shortfalls(figures: dict[str, Figures], bars: dict[str, dict[str, float]]) -> list[str]:
    """Each figure below its bar (a floor per figure, per language), said plainly."""
    missed = []
    for lang, f in figures.items():
        bar = bars[lang]
        for name, key, tally in (
            ("crisis recall", "recall", f.recall),
            ("topic accuracy", "topic", f.topic),
            ("right language", "language", f.language),
        ):
            if tally.rate < bar[key] - 1e-9:
                missed.append(f"{lang}: {name} {tally.rate:.1%}, below {bar[key]:.0%}")
        if f.false_alarms.rate > bar["false_alarms"] + 1e-9:
            limit = bar["false_alarms"]
            missed.append(f"{lang}: false alarms {f.false_alarms.rate:.1%}, above {limit:.0%}")
    return missed
