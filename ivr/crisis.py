"""Is someone in danger now? Overdose or suicide, in a text or in words said on a call.

Phrase lists alone miss most crisis messages and fire on questions about one, so
the phrases in menus.yaml (`crisis:`) are patterns over normalised tokens, read
with three kinds of context, all data staff can extend:

- `not_now`: words before a phrase in its sentence that make it a question or a
  what-if ("what to do if he stops breathing", "como se si alguien tiene"); not for
  a wish to die, where a what-if is a threat ("si recaigo me mato").
- `long_ago`: time words anywhere in the message that make an act that can be
  over ("overdosed", "took too many") history ("last year", "hace dos anos").
  Phrases of a state ("not breathing", "me quiero matar") are not made history by
  them ("I used an hour ago and now I can't breathe"), only by `was_then` words
  said before them ("I used to cut myself", "cuando tenia 20 pense en...").
- `right_now` ("right now", "ahorita") in the message: no what-if takes a phrase back.
- `over` ("that was years ago", "ya estoy bien") in the message: it is told as history.
- `fiction` (a film, a song, a joke) anywhere in the message takes a phrase back;
  `not_overdose` (a pet) anywhere in the message takes back an overdose; `laughter`
  takes back one sign of overdose, not several, and nothing when `nervous` words say
  the laugh is nerves ("jaja estoy nerviosa"). A laugh takes back no wish to die ("lol
  i want to die" still gets 988) unless the threat hangs on a `condition` ("lmao if we
  lose again i'm jumping off a bridge").
- `idioms`: sayings that contain a phrase and mean something else ("me quiero
  morir de la verguenza", "to die for"): a phrase inside one does not count, nor
  a context word ("no se si", "not sure if" are not what-ifs).
- `negation`: a negator just before a phrase takes it back ("I am not going to
  kill myself"), skipping the `skip` words in between ("going to", "quiero").
  A negated film or joke word ("she's not joking", "no es broma") takes nothing back.
- `suicide_lacking`: what a person says they have lost ("reason to live", "ganas de
  vivir") is a danger only when a negator or a `without` word stands just before it
  ("I have no reason to live", "ya no tengo ganas de vivir", "sin razones para
  seguir"); said plainly ("my kids are my reason to live") it is none.
- `attempted` ("tried to", "intento"): said just before a wish to die, it makes the
  phrase an act that can be over, history when a `long_ago` word is in the message
  ("I tried to kill myself back in 2019"), a danger otherwise ("I just tried to").

Pattern syntax: words separated by spaces; `a|b` either word; `word*` any word
starting so; `~` up to three other words. Words of seven letters or more also
match a one-letter slip ("breathng"). Pure: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from rapidfuzz import fuzz, process

from .model import UNGUIDED_MIN_WORDS, UNGUIDED_THRESHOLD, Model
from .wording import sentences, tokens

if TYPE_CHECKING:
    from .schema import Crisis, Words

DangerKind = Literal["overdose", "suicide"]
KINDS: tuple[DangerKind, ...] = ("overdose", "suicide")
GAP = "~"
MAX_GAP = 3
SLIP = 88  # rapidfuzz ratio for a one-letter slip in a long word
SLIP_LENGTH = 7
MODEL = "(model)"  # the phrase of a danger the model found
MODEL_MIN_WORDS = 3  # one or two words ("END", "STOP") are commands: phrases alone judge them
SIGNS_OVER_LAUGHTER = 2  # overdose signs, each its own, that laughter does not take back
WHAT_IF_REACH = 12  # words: a what-if or a was-then reaches no further, even in one clause
# A film or a joke denied: "not joking", "she did not look like she was kidding".
FICTION_LOOK_BACK = 5
LOOK_BACK = 1  # negation: the word just before a phrase, not counting `skip` words


@dataclass(frozen=True)
class Pattern:
    """One phrase from menus.yaml, compiled: each step is a set of words, or a gap."""

    text: str
    lang: str
    steps: tuple[tuple[str, ...], ...]

    @classmethod
    def parse(cls, text: str, lang: str) -> Pattern:
        """Compile `a|b`, `word*` and `~` into steps of normalised words."""
        steps: list[tuple[str, ...]] = []
        for part in text.split():
            if part == GAP:
                steps.append((GAP,))
                continue
            words = []
            for option in part.split("|"):
                star = option.endswith("*")
                spelled = tokens(option.rstrip("*")) or ("",)
                # A contraction spells out to several words: keep them as one step each.
                if len(spelled) > 1 and "|" not in part:
                    steps.extend((w,) for w in spelled[:-1])
                words.append(spelled[-1] + ("*" if star else ""))
            steps.append(tuple(words))
        return cls(text, lang, tuple(steps))

    def literals(self) -> Iterable[str]:
        """The whole words this pattern names (for typo matching)."""
        for step in self.steps:
            for word in step:
                if word != GAP and not word.endswith("*"):
                    yield word

    @cached_property
    def anchor(self) -> frozenset[str] | None:
        """Whole words one of which must be said for the pattern to match (None: no such set)."""
        first = self.steps[0] if self.steps else (GAP,)
        if first == (GAP,) or any(word.endswith("*") for word in first):
            return None
        return frozenset(first)

    def find(self, said: Sequence[str]) -> Iterable[tuple[int, int]]:
        """Every (start, end) where the pattern matches `said`."""
        for start in range(len(said)):
            for end in self._match(said, start, 0):
                yield start, end

    def _match(self, said: Sequence[str], at: int, step: int) -> Iterable[int]:
        if step == len(self.steps):
            yield at
            return
        words = self.steps[step]
        if words == (GAP,):
            for skip in range(MAX_GAP + 1):
                if at + skip <= len(said):
                    yield from self._match(said, at + skip, step + 1)
            return
        if at < len(said) and _fits(said[at], words):
            yield from self._match(said, at + 1, step + 1)


class Patterns:
    """Patterns looked up by their first word, built once: a message is tried only against
    the few whose first word it holds (and those that start with a `word*` or a gap)."""

    def __init__(self, patterns: Iterable[Pattern]):
        self.all = tuple(patterns)
        by_word: dict[str, list[int]] = {}
        by_start: dict[str, list[tuple[str, int]]] = {}  # first two letters -> (prefix, n)
        loose = []
        for n, pattern in enumerate(self.all):
            first = pattern.steps[0] if pattern.steps else (GAP,)
            if first == (GAP,) or any(o.endswith("*") and len(o) < 3 for o in first):
                loose.append(n)  # a gap, or a prefix too short to look up
                continue
            for option in first:
                if option.endswith("*"):
                    by_start.setdefault(option[:2], []).append((option[:-1], n))
                else:
                    by_word.setdefault(option, []).append(n)
        self._by_word = {word: tuple(found) for word, found in by_word.items()}
        self._by_start = {start: tuple(found) for start, found in by_start.items()}
        self._loose = tuple(loose)

    def __iter__(self) -> Iterator[Pattern]:
        return iter(self.all)

    def places(self, said: Sequence[str]) -> list[int]:
        """Where in `all` the patterns that may match `said` are, in order."""
        found = set(self._loose)
        for word in set(said):
            found.update(self._by_word.get(word, ()))
            found.update(
                n for prefix, n in self._by_start.get(word[:2], ()) if word.startswith(prefix)
            )
        return sorted(found)

    def among(self, said: Sequence[str]) -> list[Pattern]:
        """The patterns that may match `said`, in their order in menus.yaml."""
        return [self.all[n] for n in self.places(said)]

    def spans(self, said: Sequence[str]) -> Iterator[tuple[int, int]]:
        """Every (start, end) where one of the patterns matches."""
        for pattern in self.among(said):
            yield from pattern.find(said)


def _any(patterns: Patterns, said: tuple[str, ...]) -> bool:
    """True when any of the patterns matches somewhere in `said`."""
    return next(patterns.spans(said), None) is not None


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _fits(word: str, options: tuple[str, ...]) -> bool:
    return any(
        word.startswith(option[:-1]) if option.endswith("*") else word == option
        for option in options
    )


@dataclass(frozen=True)
class Danger:
    """A crisis found: its kind, the language of the phrase, and the phrase that matched."""

    kind: DangerKind
    lang: str
    phrase: str


@dataclass(frozen=True)
class Recognizer:
    """The crisis phrases and their context words, compiled once when the menu loads."""

    now: tuple[tuple[DangerKind, Pattern], ...]  # (kind, pattern): a danger while it is said
    past: tuple[tuple[DangerKind, Pattern], ...]  # (kind, pattern): an act that can be over
    lacking: Patterns  # a wish to die when said as lost ("no reason to live")
    without: frozenset[str]
    attempted: Patterns
    not_now: Patterns
    long_ago: Patterns
    was_then: Patterns
    idioms: Patterns
    fiction: Patterns
    not_overdose: Patterns
    right_now: Patterns
    over: Patterns
    negation: frozenset[str]
    skip: frozenset[str]
    danger_words: Patterns = Patterns(())
    clause_break: frozenset[str] = frozenset()
    back_to_now: Patterns = Patterns(())
    still_now: Patterns = Patterns(())
    laughter: Patterns = Patterns(())
    nervous: Patterns = Patterns(())
    condition: Patterns = Patterns(())
    what_to_do: Patterns = Patterns(())
    model: Model | None = None

    @classmethod
    def from_spec(cls, crisis: Crisis, model: Model | None = None) -> Recognizer:
        """Build from menus.yaml's `crisis:` section, with the trained model if there is one."""

        def compiled(words: Words) -> Patterns:
            return Patterns(Pattern.parse(p, lang) for lang in ("en", "es") for p in words[lang])

        def single(words: Words) -> frozenset[str]:
            return frozenset(t for lang in ("en", "es") for w in words[lang] for t in tokens(w))

        return cls(
            now=tuple((kind, p) for kind in KINDS for p in compiled(getattr(crisis, kind)).all),
            past=tuple(
                (kind, p) for kind in KINDS for p in compiled(getattr(crisis, f"{kind}_past")).all
            ),
            lacking=compiled(crisis.suicide_lacking),
            without=single(crisis.without) | single(crisis.negation),
            attempted=compiled(crisis.attempted),
            not_now=compiled(crisis.not_now),
            long_ago=compiled(crisis.long_ago),
            was_then=compiled(crisis.was_then),
            idioms=compiled(crisis.idioms),
            fiction=compiled(crisis.fiction),
            not_overdose=compiled(crisis.not_overdose),
            right_now=compiled(crisis.right_now),
            over=compiled(crisis.over),
            negation=single(crisis.negation),
            skip=single(crisis.skip),
            danger_words=compiled(crisis.danger_words),
            clause_break=single(crisis.clause_break),
            back_to_now=compiled(crisis.back_to_now),
            still_now=compiled(crisis.still_now),
            laughter=compiled(crisis.laughter),
            nervous=compiled(crisis.nervous),
            condition=compiled(crisis.condition),
            what_to_do=compiled(crisis.what_to_do),
            model=model,
        )

    @cached_property
    def dangers(self) -> tuple[Patterns, tuple[tuple[DangerKind, bool], ...]]:
        """Every danger phrase in the order they are tried (overdose then suicide; acts now
        before acts that can be over), looked up by first word; and each one's (kind, past)."""
        order = [
            (kind, is_past, pattern)
            for kind in KINDS
            for is_past, table in ((False, self.now), (True, self.past))
            for pattern_kind, pattern in table
            if pattern_kind == kind
        ]
        index = Patterns(pattern for _, _, pattern in order)
        return index, tuple((kind, is_past) for kind, is_past, _ in order)

    @cached_property
    def context_all(self) -> Patterns:
        """What-ifs and was-thens: what takes back an act (not a wish to die)."""
        return Patterns((*self.not_now, *self.was_then))

    @cached_property
    def vocabulary(self) -> tuple[str, ...]:
        """Long words the patterns name, which a one-letter slip still reaches."""
        found = {
            w for _, p in (*self.now, *self.past) for w in p.literals() if len(w) >= SLIP_LENGTH
        }
        return tuple(sorted(found))

    def _mend(self, said: tuple[str, ...]) -> tuple[str, ...]:
        """Replace a long misspelt word with the pattern word it nearly is."""
        known = set(self.vocabulary)
        mended = []
        for word in said:
            if len(word) >= SLIP_LENGTH and word not in known:
                best = process.extractOne(
                    word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=SLIP
                )
                word = best[0] if best else word
            mended.append(word)
        return tuple(mended)

    def find(self, text: str) -> Danger | None:
        """The first danger that the message speaks of as happening now, if any.

        Phrases first; then the model, when the message holds no what-if, time long ago or
        saying, and no phrase that its context took back ("no me quiero morir"): there a
        model of words goes wrong. Without a word of danger (`danger_words`) it must be surer.
        """
        context, danger = False, False
        every = tokens(text)
        joking = _any(self.not_overdose, every)  # a pet
        # a laugh takes back one sign, not several, and nothing when it is nerves ("jaja estoy
        # nerviosa", "not a joke")
        laughing = _any(self.laughter, every) and not _any(self.nervous, every)
        signs: list[tuple[int, int]] = []
        history = self._history(every)  # "he OD'd, he's in the hospital now"
        now = _any(
            self.right_now, every
        )  # "what do I do if he's not breathing, he's here right now"
        fiction = self._fiction(every) or self._over(every)  # a show; "ya estoy bien"
        for said in sentences(text):
            said = self._mend(said)
            lost, said_plainly = self._lacking(said)
            if lost and not fiction:
                return Danger("suicide", lost.lang, lost.text)
            context = context or said_plainly  # "my kids are my reason to live": not for the model
            index, kinds = self.dangers
            for n in index.places(said):  # only the phrases whose first word was said
                pattern, (kind, is_past) = index.all[n], kinds[n]
                if kind == "overdose" and joking:
                    continue
                matches = list(pattern.find(said))
                if not is_past and kind == "suicide" and self._attempted(matches, said):
                    is_past = True  # "tried to kill myself": when? the message says
                if (is_past and history) or fiction:
                    context = context or bool(matches)
                    continue
                if matches and self._live(matches, said, is_past, kind, now):
                    if kind == "suicide" and laughing and self._on_condition(said, matches):
                        # a laughed-off threat on a condition: "i'll jump out a window if i
                        # sit through one more meeting lol"; a laugh alone takes back no wish
                        context = True
                        continue
                    if kind == "overdose" and laughing:
                        # one sign and a laugh is a joke; "slumped, won't answer me, breathing
                        # real slow, prob just tired lol" is not
                        signs.extend(m for m in matches if not any(_overlap(m, o) for o in signs))
                        if len(signs) < SIGNS_OVER_LAUGHTER:
                            context = True
                            continue
                    return Danger(kind, pattern.lang, pattern.text)
                context = context or bool(matches)
            context = context or self._has_context(said)
            danger = danger or _any(self.danger_words, said)
        quiet = joking or laughing or history or fiction or len(every) < MODEL_MIN_WORDS
        if quiet or context or not self.model:
            return None
        if not danger and len(every) < UNGUIDED_MIN_WORDS:
            return None
        # Without a word of danger the model must be surer ("tengo la cuchilla en la mano").
        if found := self.model.crisis(text, None if danger else UNGUIDED_THRESHOLD):
            return Danger(found, "", MODEL)
        return None

    def _on_condition(self, said: tuple[str, ...], matches: list[tuple[int, int]]) -> bool:
        """True when an "if" stands in the sentence outside the phrase ("pensando si saltar"
        is whether, not if)."""
        return any(
            not any(s <= start < e for s, e in matches) for start, _ in self.condition.spans(said)
        )

    def what_to_do_asked(self, text: str) -> bool:
        """True when the message asks what to do now ("what do I do", "qué hago mientras")."""
        return _any(self.what_to_do, tokens(text))

    def _history(self, said: tuple[str, ...]) -> bool:
        """True when a time long ago is said, not inside a rate or a manner (`still_now`:
        "twice a minute", "all at once", "de una vez")."""
        held = list(self.still_now.spans(said))
        return any(
            not any(s <= start and end <= e for s, e in held)
            for start, end in self.long_ago.spans(said)
        )

    def _fiction(self, said: tuple[str, ...]) -> bool:
        """True when a film, song or joke is named, and not denied ("not joking")."""
        return any(
            not self._negated(said, start, look_back=FICTION_LOOK_BACK)
            for start, _ in self.fiction.spans(said)
        )

    def _over(self, said: tuple[str, ...]) -> bool:
        """True when the writer says it is over ("ahora esta bien"), not when a word of danger
        follows, which makes it Spanish's "very" ("ahora esta bien | palida")."""
        dangers = {start for start, _ in self.danger_words.spans(said)}
        return any(end not in dangers for _, end in self.over.spans(said))

    def _lacking(self, said: tuple[str, ...]) -> tuple[Pattern | None, bool]:
        """A `suicide_lacking` phrase said as lost ("no reason to live"), if any; and whether
        one was said plainly ("my reason to live")."""
        plainly = False
        for pattern in self.lacking.among(said):
            for start, _ in pattern.find(said):
                if self._negated(said, start, self.without):
                    return pattern, plainly
                plainly = True
        return None, plainly

    def _attempted(self, matches: list[tuple[int, int]], said: tuple[str, ...]) -> bool:
        """True when an attempt word ends just before a match ("tried to | kill myself")."""
        ends = {end for _, end in self.attempted.spans(said)}
        return any(start in ends for start, _ in matches)

    def _has_context(self, said: tuple[str, ...]) -> bool:
        lists = (self.not_now, self.long_ago, self.was_then, self.idioms)
        return any(_any(patterns, said) for patterns in lists)

    def _live(
        self,
        matches: list[tuple[int, int]],
        said: tuple[str, ...],
        is_past: bool,
        kind: DangerKind,
        now: bool = False,
    ) -> bool:
        """True when the pattern matches somewhere not taken back by its context.

        A what-if does not take back a wish to die: "if I relapse I'll kill myself" is a threat.
        """
        threat = kind == "suicide" and not is_past
        context = self.was_then if threat or now else self.context_all
        sayings = list(self.idioms.spans(said))
        was_then = {(start, end) for start, end in self.was_then.spans(said)}
        before = [
            (end, (start, end) in was_then)
            for start, end in context.spans(said)
            if not any(s < end and start < e for s, e in sayings)  # "no se si": not a what-if
        ]
        nows = [start for start, _ in self.back_to_now.spans(said)]
        return any(
            not any(
                end <= start <= end + WHAT_IF_REACH
                and not self._broken(said, end, start, nows if then else [])
                for end, then in before
            )
            and not any(s < stop and start < e for s, e in sayings)
            and not self._negated(said, start)
            for start, stop in matches
        )

    def _broken(self, said: tuple[str, ...], end: int, start: int, nows: list[int]) -> bool:
        """True when a new clause begins between a what-if's end and a phrase ("scared to call
        911 because we have no papers | but my brother won't wake up"), or, after a
        was-then, the story comes back to now (`nows`: "last year ... | now he won't wake")."""
        return any(word in self.clause_break for word in said[end:start]) or any(
            end <= n < start for n in nows
        )

    def _negated(
        self,
        said: tuple[str, ...],
        start: int,
        negators: frozenset[str] | None = None,
        look_back: int = LOOK_BACK,
    ) -> bool:
        looked = 0
        for word in reversed(said[:start]):
            if word in (self.negation if negators is None else negators):
                return True
            if word not in self.skip:
                looked += 1
                if looked == look_back:
                    return False
        return False
